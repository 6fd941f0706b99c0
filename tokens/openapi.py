"""The OpenAPI 3 description of the public endpoints, served at ``/api/schema/`` (drf-spectacular).

The OAuth views stay free of documentation code: view extensions describe them here, and the
plain Django views (JWKS, metadata, health) are added as fixed path items after generation.
"""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiViewExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView
from rest_framework import serializers

_FORMATS = ["json", "urlencoded", "xml"]
# Every error code the OAuth endpoints answer with (RFC 6749 §5.2, RFC 7009 §2.2.1).
ERROR_CODES = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "access_denied",
    "unsupported_token_type",
    "temporarily_unavailable",
]

schema_view = SpectacularAPIView.as_view()

OAuthErrorBody = inline_serializer(
    "OAuthError",
    {
        "error": serializers.ChoiceField(choices=ERROR_CODES),
        "error_description": serializers.CharField(),
    },
)


def _body(name: str, fields: dict[str, serializers.Field]) -> dict[str, Any]:
    """The same fields as a form (RFC 6749) or as a JSON object."""
    credentials = {
        "client_id": serializers.CharField(required=False, help_text="With client_secret, instead of HTTP Basic."),
        "client_secret": serializers.CharField(required=False),
        "format": serializers.ChoiceField(choices=_FORMATS, required=False, help_text="Response format."),
    }
    serializer = inline_serializer(name, {**fields, **credentials})
    return {"application/x-www-form-urlencoded": serializer, "application/json": serializer}


def _errors(*statuses: int) -> dict[int, OpenApiResponse]:
    meanings = {
        400: "The request is invalid (RFC 6749 §5.2).",
        401: "Client authentication failed; `WWW-Authenticate: Basic` unless the client authenticated in the body.",
        403: "The client may not use this endpoint.",
        405: "Only POST.",
        411: "A chunked body on a server that cannot read one (not gunicorn); send a Content-Length.",
        413: "The body is larger than `OAUTH_MAX_REQUEST_BYTES`.",
        429: "Too many failed authentications or tokens; see `Retry-After`.",
        503: "The database is unavailable.",
    }
    return {status: OpenApiResponse(OAuthErrorBody, description=meanings[status]) for status in statuses}


TOKEN_SCHEMA = extend_schema(
    operation_id="token",
    summary="Obtain an access token (client credentials grant, RFC 6749 §4.4)",
    tags=["oauth"],
    auth=[{"clientSecretBasic": []}, {}],
    request=_body(
        "TokenRequest",
        {
            "grant_type": serializers.ChoiceField(choices=["client_credentials"]),
            "scope": serializers.CharField(required=False, help_text="Space-delimited; default scopes when absent."),
            "validity_period": serializers.IntegerField(required=False, min_value=1, help_text="Seconds."),
        },
    ),
    responses={
        200: inline_serializer(
            "TokenResponse",
            {
                "access_token": serializers.CharField(),
                "token_type": serializers.ChoiceField(choices=["Bearer"]),
                "expires_in": serializers.IntegerField(),
                "scope": serializers.CharField(),
            },
        ),
        **_errors(400, 401, 405, 411, 413, 429, 503),
    },
)


_TOKEN_REFERENCE = {
    "token": serializers.CharField(help_text="The access token (JWT or opaque)."),
    "token_type_hint": serializers.ChoiceField(choices=["access_token", "refresh_token"], required=False),
}

INTROSPECT_SCHEMA = extend_schema(
    operation_id="introspect",
    summary="Ask whether a token is active (RFC 7662); resource servers only",
    tags=["oauth"],
    auth=[{"clientSecretBasic": []}, {}],
    request=_body("IntrospectionRequest", _TOKEN_REFERENCE),
    responses={
        200: inline_serializer(
            "IntrospectionResponse",
            {
                "active": serializers.BooleanField(),
                "scope": serializers.CharField(required=False),
                "client_id": serializers.CharField(required=False),
                "token_type": serializers.CharField(required=False),
                "exp": serializers.IntegerField(required=False),
                "iat": serializers.IntegerField(required=False),
                "sub": serializers.CharField(required=False),
                "aud": serializers.CharField(required=False),
                "iss": serializers.CharField(required=False),
                "jti": serializers.CharField(required=False),
                "env": serializers.ChoiceField(choices=["production", "sandbox"], required=False),
            },
        ),
        **_errors(400, 401, 403, 405, 411, 413, 429, 503),
    },
)

REVOKE_SCHEMA = extend_schema(
    operation_id="revoke",
    summary="Revoke one of the caller's tokens (RFC 7009); 200 whether or not it existed",
    tags=["oauth"],
    auth=[{"clientSecretBasic": []}, {}],
    request=_body("RevocationRequest", _TOKEN_REFERENCE),
    responses={
        200: OpenApiResponse(description="Revoked, or nothing to revoke: an empty body."),
        **_errors(400, 401, 405, 411, 413, 429, 503),
    },
)


class DocumentedPost(OpenApiViewExtension):
    """Puts ``schema`` on a view's ``post`` without touching the view; subclasses name both."""

    optional = True  # an endpoint still being built is simply not documented yet
    schema: Any  # an extend_schema(...) decorator, as a staticmethod

    def view_replacement(self):
        schema = self.schema

        class Documented(self.target_class):
            @schema
            def post(self, request):
                return super().post(request)

        return Documented


class TokenViewSchema(DocumentedPost):
    target_class = "tokens.views.TokenView"
    schema = staticmethod(TOKEN_SCHEMA)


class IntrospectViewSchema(DocumentedPost):
    target_class = "tokens.views.IntrospectView"
    schema = staticmethod(INTROSPECT_SCHEMA)


class RevokeViewSchema(DocumentedPost):
    target_class = "tokens.views.RevokeView"
    schema = staticmethod(REVOKE_SCHEMA)


BearerErrorBody = inline_serializer(
    "BearerError",
    {
        "error": serializers.ChoiceField(choices=["invalid_request", "invalid_token", "insufficient_scope"]),
        "error_description": serializers.CharField(),
        "scope": serializers.CharField(required=False),
    },
)
HELLO_RESPONSES = {
    200: inline_serializer(
        "Hello",
        {
            "message": serializers.CharField(),
            "client_id": serializers.CharField(),
            "scope": serializers.CharField(),
            "env": serializers.ChoiceField(choices=["production", "sandbox"], help_text="The token's environment."),
            "iss": serializers.CharField(help_text="The issuer of the token's realm (CONTRACT.md \"Realms\")."),
        },
    ),
    401: OpenApiResponse(BearerErrorBody, description='No, bad, expired or revoked token; `WWW-Authenticate: Bearer realm="api"`.'),
    403: OpenApiResponse(BearerErrorBody, description="The token lacks a scope; `error=\"insufficient_scope\"`."),
}


def _hello_schema(method: str, summary: str):
    return extend_schema(
        operation_id=f"hello_{method}", summary=summary, tags=["sample resource"], auth=[{"bearerToken": []}],
        request=None, responses=HELLO_RESPONSES,
    )


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "resource_server.authentication.BearerTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "RFC 6750 §2.1: an access token from /oauth/token."}


class HelloViewSchema(OpenApiViewExtension):
    target_class = "api.views.HelloView"

    def view_replacement(self):
        class Documented(self.target_class):
            @_hello_schema("get", "Sample protected resource: any valid access token")
            def get(self, request):
                return super().get(request)

            @_hello_schema("post", "Sample protected resource: a token with scope write")
            def post(self, request):
                return super().post(request)

        return Documented


def only_default_realm_paths(endpoints: list[tuple]) -> list[tuple]:
    """Leave out the ``/realms/{realm}/`` copies of the endpoints: the schema describes them once (its description says so)."""
    return [endpoint for endpoint in endpoints if not endpoint[0].startswith("/realms/")]


def add_plain_views(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """Postprocessing hook: document the non-DRF endpoints and the Basic client authentication."""
    json_object = {"application/json": {"schema": {"type": "object"}}}
    result.setdefault("components", {}).setdefault("securitySchemes", {})["clientSecretBasic"] = {
        "type": "http",
        "scheme": "basic",
        "description": "RFC 6749 §2.3.1: the client id and secret, each form-urlencoded.",
    }
    # These endpoints answer with and without a trailing slash: document the plain form.
    for plain in ("/oauth/token", "/oauth/introspect", "/oauth/revoke", "/api/hello"):
        if f"{plain}/" in result["paths"]:
            result["paths"][plain] = result["paths"].pop(f"{plain}/")
    result["paths"].update(
        {
            "/.well-known/jwks.json": _get("jwks", "The public signing keys (RFC 7517)", _JWKS),
            "/.well-known/oauth-authorization-server": _get(
                "metadata", "Authorization server metadata (RFC 8414)", {"type": "object", "required": ["issuer"]}
            ),
            "/healthz": {
                "get": {
                    "operationId": "health",
                    "summary": "200 while the database answers, 503 otherwise",
                    "tags": ["operations"],
                    "responses": {
                        "200": {"description": "Healthy", "content": json_object},
                        "503": {"description": "The database does not answer", "content": json_object},
                    },
                }
            },
        }
    )
    return result


_JWKS = {
    "type": "object",
    "required": ["keys"],
    "properties": {"keys": {"type": "array", "items": {"type": "object", "required": ["kty", "kid"]}}},
}


def _get(operation_id: str, summary: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "get": {
            "operationId": operation_id,
            "summary": summary,
            "tags": ["discovery"],
            "responses": {"200": {"description": summary, "content": {"application/json": {"schema": schema}}}},
        }
    }
