"""Parse rendered supervisor program files with supervisor's own parser.

Usage: supervisor_parse.py MAIN_CONF USER...
Prints, as JSON, every process config supervisord would run. The USERs (the
apps' users, which do not exist on a test machine) resolve to a dummy uid;
any other user name still fails as it would on the box.
"""
import json
import sys

import supervisor.options
from supervisor.datatypes import RestartUnconditionally, RestartWhenExitUnexpected
from supervisor.datatypes import name_to_uid as real_name_to_uid

FAKE_USERS = set(sys.argv[2:])
AUTORESTART = {RestartUnconditionally: "true", RestartWhenExitUnexpected: "unexpected", False: "false"}


def name_to_uid(name):
    return 64000 if name in FAKE_USERS else real_name_to_uid(name)


supervisor.options.name_to_uid = name_to_uid
options = supervisor.options.ServerOptions()
options.realize(args=["-c", sys.argv[1]])
programs = []
for group in options.process_group_configs:
    for process in group.process_configs:
        programs.append(
            {
                "group": group.name,
                "name": process.name,
                "command": process.command,
                "directory": process.directory,
                "uid": process.uid,
                "autostart": process.autostart,
                "autorestart": AUTORESTART[process.autorestart],
                "stopsignal": int(process.stopsignal),
                "stopwaitsecs": process.stopwaitsecs,
                "stopasgroup": process.stopasgroup,
                "killasgroup": process.killasgroup,
                "stdout_logfile": process.stdout_logfile,
                "redirect_stderr": process.redirect_stderr,
                "environment": process.environment,
            }
        )
json.dump({"programs": programs, "warnings": options.parse_warnings}, sys.stdout)
