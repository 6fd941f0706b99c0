from django.contrib import admin
from django.urls import include, path

from tokens.openapi import schema_view

from . import views
from .signin import throttle_admin_sign_in

throttle_admin_sign_in(admin.site)

urlpatterns = [
    path("", include("tokens.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("bench/ceiling", views.ceiling, name="bench-ceiling"),
    path("admin/", admin.site.urls),
    path("api/schema/", schema_view, name="schema"),
]
