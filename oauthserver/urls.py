from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from tokens.openapi import schema_view

from . import views
from .signin import throttle_admin_sign_in

throttle_admin_sign_in(admin.site)

urlpatterns = [
    path("", include("tokens.urls")),
    path("api/", include("api.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("portal/", include("portal.urls")),
    path("", RedirectView.as_view(url="/portal/", permanent=False)),
    path("api/schema/", schema_view, name="schema"),
]
