"""A sample protected resource, built the way another project would protect its own API."""

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from resource_server import BearerTokenAuthentication, RequiredScopes

MESSAGE = "Congrats! You've hit an OAuth protected resource"


class HelloView(APIView):
    """``GET /api/hello`` with any valid token; ``POST /api/hello`` with a token carrying ``write``.

    The demo resource for portal developers, so it takes sandbox tokens too, and tokens of every
    enabled realm of this server; it says which environment (``env``) and which realm's issuer
    (``iss``) the token belongs to.
    """

    accept_sandbox_tokens = True
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [RequiredScopes]
    required_scopes_by_method = {"POST": ["write"]}

    def get(self, request: Request) -> Response:
        return Response(_greeting(request))

    def post(self, request: Request) -> Response:
        return Response(_greeting(request))


def _greeting(request: Request) -> dict[str, str]:
    claims = request.auth
    return {"message": MESSAGE, "client_id": claims.client_id, "scope": claims.scope, "env": claims.env, "iss": claims.iss}
