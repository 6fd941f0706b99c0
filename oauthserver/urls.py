from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("", include("tokens.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
