"""The OpenAPI 3 description of the public endpoints, served at ``/api/schema/`` (drf-spectacular).

The OAuth views stay free of documentation code: view extensions describe them here, and the
plain Django views (JWKS, metadata, health) are added as fixed path items after generation.
"""

from typing import Any

from drf_spectacular.extensions import OpenApiViewExtension
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
        401: "Client authentication failed; `WWW-Authenticate: Basic`.",
        403: "The client may not use this endpoint.",
        405: "Only POST.",
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
        **_errors(400, 401, 405, 413, 429, 503),
    },
)


class TokenViewSchema(OpenApiViewExtension):
    target_class = "tokens.views.TokenView"

    def view_replacement(self):
        class Documented(self.target_class):
            @TOKEN_SCHEMA
            def post(self, request):
                return super().post(request)

        return Documented


def add_plain_views(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """Postprocessing hook: document the non-DRF endpoints and the Basic client authentication."""
    json_object = {"application/json": {"schema": {"type": "object"}}}
    result.setdefault("components", {}).setdefault("securitySchemes", {})["clientSecretBasic"] = {
        "type": "http",
        "scheme": "basic",
        "description": "RFC 6749 §2.3.1: the client id and secret, each form-urlencoded.",
    }
    # The token endpoint answers at /oauth/token (and /oauth/token/): document the plain form.
    if "/oauth/token/" in result["paths"]:
        result["paths"]["/oauth/token"] = result["paths"].pop("/oauth/token/")
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
