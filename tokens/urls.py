from django.urls import path, re_path

from . import views

urlpatterns = [
    re_path(r"^oauth/token/?$", views.TokenView.as_view(), name="token"),
    re_path(r"^oauth/introspect/?$", views.IntrospectView.as_view(), name="introspect"),
    re_path(r"^oauth/revoke/?$", views.RevokeView.as_view(), name="revoke"),
    path(".well-known/oauth-authorization-server", views.metadata, name="metadata"),
    path(".well-known/jwks.json", views.jwks, name="jwks"),
]
