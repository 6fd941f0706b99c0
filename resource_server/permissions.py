"""DRF permission for protected resources: the token must carry the scopes a view names (RFC 6750 §3.1)."""

from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from tokens.exceptions import BearerException
from tokens.protocol.errors import InsufficientScope, MissingToken
from tokens.protocol.scopes import format_scope

from .authentication import TokenClient

if TYPE_CHECKING:  # DRF imports permission classes while rest_framework.views is being initialized
    from rest_framework.views import APIView


class RequiredScopes(BasePermission):
    """Require a bearer token, and the scopes the view asks for.

    A view names them in ``required_scopes`` (every method), or per method in
    ``required_scopes_by_method = {"POST": ["write"]}``, which wins for the methods it lists. No
    token is 401 with the bare ``Bearer realm="api"`` challenge; a token without a needed scope is
    403 ``insufficient_scope`` with ``scope="..."`` naming every scope the request needs.
    """

    def has_permission(self, request: Request, view: "APIView") -> bool:
        if not isinstance(request.user, TokenClient):
            raise BearerException(MissingToken())
        needed = frozenset(required_scopes(request, view))
        if not needed <= request.user.scope:
            raise BearerException(InsufficientScope(format_scope(needed)))
        return True


def required_scopes(request: Request, view: "APIView") -> list[str]:
    """The scopes view needs for request's method."""
    by_method = getattr(view, "required_scopes_by_method", {})
    if request.method in by_method:
        return list(by_method[request.method])
    return list(getattr(view, "required_scopes", []))

