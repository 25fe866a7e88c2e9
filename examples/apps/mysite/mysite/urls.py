from django.contrib import admin
from django.http import HttpResponse
from django.urls import path


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


def home(request):
    return HttpResponse("<h1>mysite on django-tiers</h1>")


urlpatterns = [
    path("healthz", healthz),
    path("admin/", admin.site.urls),
    path("", home),
]
