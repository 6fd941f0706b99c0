from django.urls import path, re_path

from . import views

urlpatterns = [
    re_path(r"^oauth/token/?$", views.TokenView.as_view(), name="token"),
    path(".well-known/oauth-authorization-server", views.metadata, name="metadata"),
    path(".well-known/jwks.json", views.jwks, name="jwks"),
]
