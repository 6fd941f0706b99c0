"""The API's views: protected as README's "Protecting your API" shows, plus what tests look at."""

import sys

from django.db import connections
from django.http import HttpResponse, JsonResponse
from rest_framework.response import Response
from rest_framework.views import APIView

from resource_server import BearerTokenAuthentication, RequiredScopes


class Invoices(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [RequiredScopes]
    required_scopes = ["read"]
    required_scopes_by_method = {"POST": ["write"]}

    def get(self, request):
        claims = request.auth
        return Response({"client_id": request.user.client_id, "scope": claims.scope, "iss": claims.iss, "env": claims.env})

    def post(self, request):
        return Response({"created": True}, status=201)


class SandboxInvoices(Invoices):
    accept_sandbox_tokens = True


def open_view(request):
    """The ceiling: the same project and server, no token check."""
    return HttpResponse(b"ok", content_type="text/plain")


def process(request):
    """What this process has loaded and opened: the tests' proof that no model, key or database was touched."""
    loaded = sorted(name for name in sys.modules if name.split(".")[0] in ("clients", "tokens", "audit", "cluster"))
    return JsonResponse({
        "modules": loaded,
        "database_connections": [alias for alias in connections if connections[alias].connection is not None],
    })
