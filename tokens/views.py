"""HTTP glue for the token, introspection and revocation endpoints, the JWKS and the metadata."""

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from rest_framework.views import APIView

from clients.models import DEFAULT_REALM
from clients.realms import KnownRealm, default_realm, serving_realm

from . import services
from .exceptions import as_oauth_error, error_response, oauth_response
from .negotiation import select_renderer
from .parsers import FormParser, JSONParser, read_body, read_query
from .protocol.params import collect_params, sole_value
from .protocol.errors import MethodNotAllowed, UnknownRealm
from .renderers import OAUTH_RENDERERS


class OAuthEndpoint(APIView):
    """Shared by the OAuth endpoints: bounded form/JSON bodies, three formats, never cached.

    ``dispatch`` is APIView's cut down to what these endpoints use: they have no authentication,
    permission or throttle classes, and DRF's request wrapper, content negotiation and template
    response cost more than the token request they served. The same parsers, renderers and
    error translation are called directly; ``post`` reads ``self.params`` and returns the data.

    The realm is the one the path names (``/realms/NAME/...``), else the default one; a realm
    that does not exist or is disabled is 404 before anything else is looked at.

    Parameters come from the body (form or JSON, with a Content-Length or chunked) and, for
    ``format`` alone, from the query string; anything else in a URL, credentials and tokens
    included, is ignored (``tokens.parsers.read_query``). A name given twice anywhere is
    invalid_request (RFC 6749 §3.2), in the format asked for once, else by ``Accept``, else JSON.
    """

    parser_classes = [FormParser, JSONParser]
    renderer_classes = OAUTH_RENDERERS
    authentication_classes: list = []
    permission_classes: list = []
    http_method_names = ["post"]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.args, self.kwargs, self.request = args, kwargs, request
        accept = request.META.get("HTTP_ACCEPT", "")
        # Accept, else JSON, until a format given once is found; a repeated format never counts.
        renderer = select_renderer(self.renderer_classes, None, accept)
        try:
            query = read_query(request)
            # Errors met before the body is read still come in the format the query string asks for.
            renderer = select_renderer(self.renderer_classes, sole_value(query, "format"), accept)
            # A realm the path names is looked up before anything else; the default one by the services.
            name = kwargs.get("realm")
            self.realm = None if name is None else realm_at_path(name)
            if request.method != "POST":
                raise MethodNotAllowed(method=request.method, allowed="POST")
            pairs = [*query, *read_body(request, self.parser_classes)]
            renderer = select_renderer(self.renderer_classes, sole_value(pairs, "format"), accept)
            self.params = collect_params(pairs)
            data = self.post(request)
        except Exception as exc:
            error = as_oauth_error(exc, ["POST"])
            if error is None:
                raise
            return error_response(error, renderer)
        return oauth_response(renderer, data, 200, {})


class TokenView(OAuthEndpoint):
    """``POST /oauth/token``: the client credentials grant (RFC 6749 §4.4)."""

    def post(self, request: HttpRequest) -> dict[str, Any]:
        token = services.issue_token(
            params=self.params, authorization=request.META.get("HTTP_AUTHORIZATION"), realm=self.realm,
            dpop_proof=request.META.get("HTTP_DPOP"),
        )
        return token.as_dict()


class IntrospectView(OAuthEndpoint):
    """``POST /oauth/introspect``: token introspection for resource servers (RFC 7662)."""

    def post(self, request: HttpRequest) -> dict[str, Any]:
        return services.introspect_token(
            params=self.params, authorization=request.META.get("HTTP_AUTHORIZATION"), realm=self.realm
        )


class RevokeView(OAuthEndpoint):
    """``POST /oauth/revoke``: a client revokes one of its tokens (RFC 7009)."""

    def post(self, request: HttpRequest) -> None:
        services.revoke_token(params=self.params, authorization=request.META.get("HTTP_AUTHORIZATION"), realm=self.realm)
        return None  # §2.2: 200 whether or not there was anything to revoke; an empty body


def realm_at_path(name: str | None) -> KnownRealm:
    """The realm a path names: the default one for the historic paths (None), else the enabled realm NAME.

    ``/realms/default/`` names none: the default realm's issuer is ``OAUTH_ISSUER`` itself, so its
    documents live only at the historic paths. Raises ``UnknownRealm`` (404).
    """
    realm = default_realm() if name is None else serving_realm(name) if name != DEFAULT_REALM else None
    if realm is None:
        raise UnknownRealm()
    return realm


def _unknown_realm() -> JsonResponse:
    return JsonResponse(UnknownRealm().as_dict(), status=UnknownRealm.status_code)


@csrf_exempt  # changes nothing, so the CSRF check must not turn a 405 into a 403 page
@require_safe
def jwks(request: HttpRequest, realm: str | None = None) -> JsonResponse:
    """``GET /.well-known/jwks.json`` (and ``/realms/NAME/...``): the realm's public signing keys (RFC 7517)."""
    try:
        known = realm_at_path(realm)
    except UnknownRealm:
        return _unknown_realm()
    response = JsonResponse(services.published_jwks(realm=known))
    response["Cache-Control"] = "public, max-age=60"
    return response


@csrf_exempt  # changes nothing, so the CSRF check must not turn a 405 into a 403 page
@require_safe
def metadata(request: HttpRequest, realm: str | None = None) -> JsonResponse:
    """``GET /.well-known/oauth-authorization-server`` (RFC 8414), a realm's at both places RFC 8414 §3.1 allows."""
    try:
        known = realm_at_path(realm)
    except UnknownRealm:
        return _unknown_realm()
    return JsonResponse(services.server_metadata(realm=known))
