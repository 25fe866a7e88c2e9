# Shown on the home page; the server tests change it to tell releases apart.
VERSION = "1"
