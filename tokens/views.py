"""HTTP glue for the token, introspection and revocation endpoints, the JWKS and the metadata."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import services
from .negotiation import OAuthContentNegotiation
from .parsers import FormParser, JSONParser
from .protocol.params import single_valued
from .renderers import OAUTH_RENDERERS


def request_params(request: Request) -> dict[str, str]:
    """The body's parameters, one value each (RFC 6749 §3.2); ``format`` may be in the query."""
    data = request.data
    pairs = list(data.items() if hasattr(data, "items") else data)
    params = single_valued(pairs)
    if "format" not in params and (query_format := request.query_params.get("format")):
        params["format"] = query_format
    return params


class OAuthEndpoint(APIView):
    """Shared by the OAuth endpoints: bounded form/JSON bodies, three formats, never cached."""

    parser_classes = [FormParser, JSONParser]
    renderer_classes = OAUTH_RENDERERS
    content_negotiation_class = OAuthContentNegotiation
    authentication_classes: list = []
    permission_classes: list = []
    http_method_names = ["post"]

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # RFC 6749 §5.1: responses carrying tokens (or errors about them) are never cached.
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response


class TokenView(OAuthEndpoint):
    """``POST /oauth/token``: the client credentials grant (RFC 6749 §4.4)."""

    def post(self, request: Request) -> Response:
        token = services.issue_token(
            params=request_params(request), authorization=request.META.get("HTTP_AUTHORIZATION")
        )
        return Response(token.as_dict())


class IntrospectView(OAuthEndpoint):
    """``POST /oauth/introspect``: token introspection for resource servers (RFC 7662)."""

    def post(self, request: Request) -> Response:
        answer = services.introspect_token(
            params=request_params(request), authorization=request.META.get("HTTP_AUTHORIZATION")
        )
        return Response(answer)


class RevokeView(OAuthEndpoint):
    """``POST /oauth/revoke``: a client revokes one of its tokens (RFC 7009)."""

    def post(self, request: Request) -> Response:
        services.revoke_token(params=request_params(request), authorization=request.META.get("HTTP_AUTHORIZATION"))
        # §2.2: 200 whether or not there was anything to revoke; an empty body is what clients expect.
        return Response(None)


@require_GET
def jwks(request: HttpRequest) -> JsonResponse:
    """``GET /.well-known/jwks.json``: the public signing keys (RFC 7517)."""
    response = JsonResponse(services.published_jwks())
    response["Cache-Control"] = "public, max-age=60"
    return response


@require_GET
def metadata(request: HttpRequest) -> JsonResponse:
    """``GET /.well-known/oauth-authorization-server`` (RFC 8414)."""
    return JsonResponse(services.server_metadata())
