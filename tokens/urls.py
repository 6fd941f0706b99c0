from django.urls import include, path, re_path

from . import views

# The OAuth endpoints and documents of one realm: the default realm's at the root, every other
# realm's under /realms/NAME/ (CONTRACT.md "Realms"). A name that is no enabled realm is 404.
def endpoints():
    return [
        re_path(r"^oauth/token/?\Z", views.TokenView.as_view(), name="token"),
        re_path(r"^oauth/introspect/?\Z", views.IntrospectView.as_view(), name="introspect"),
        re_path(r"^oauth/revoke/?\Z", views.RevokeView.as_view(), name="revoke"),
        path(".well-known/oauth-authorization-server", views.metadata, name="metadata"),
        path(".well-known/jwks.json", views.jwks, name="jwks"),
    ]


urlpatterns = [
    *endpoints(),
    re_path(r"^realms/(?P<realm>[^/]+)/", include((endpoints(), "realm"))),
    # RFC 8414 §3.1: the well-known path inserted before the issuer's path /realms/NAME.
    re_path(r"^\.well-known/oauth-authorization-server/realms/(?P<realm>[^/]+)\Z", views.metadata, name="realm-metadata"),
]
