from django.conf import settings
from django.contrib import admin
from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import path

from notes import views

urlpatterns = [
    path("healthz", views.healthz),
    path("admin/", admin.site.urls),
    path("db", views.db_page, name="db"),
    path("cache", views.cache_page, name="cache"),
    path("tasks/", views.tasks_page, name="tasks"),
    path("tasks/<int:run_id>", views.task_result, name="task-result"),
    path("upload", views.upload_page, name="upload"),
    path("", views.home, name="home"),
]

if settings.DEBUG:
    # Local development only: Django serves static files itself (slowly). On a
    # django-tiers box DEBUG is off and nginx serves them from disk.
    urlpatterns += staticfiles_urlpatterns()
