"""DRF permission for protected resources: the token must carry the scopes a view names (RFC 6750 §3.1)."""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

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
    ``required_scopes_by_method = {"POST": ["write"]}``, which wins for the methods it lists (a
    view that names none accepts any valid token). No
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
    """The scopes view needs for request's method; ``ImproperlyConfigured`` for a declaration that is not lists of names.

    Method names are matched whatever their case: a ``"post"`` entry must not go unnoticed and
    leave POST to ``required_scopes`` alone.
    """
    declared = getattr(view, "required_scopes_by_method", {})
    if not isinstance(declared, Mapping):
        raise ImproperlyConfigured(f'{type(view).__name__}.required_scopes_by_method must map methods to scopes, e.g. {{"POST": ["write"]}}.')
    by_method = {str(method).upper(): scopes for method, scopes in declared.items()}
    if request.method in by_method:
        return _scope_names(by_method[request.method], view, "required_scopes_by_method")
    return _scope_names(getattr(view, "required_scopes", []), view, "required_scopes")


def _scope_names(scopes: Any, view: "APIView", attribute: str) -> list[str]:
    # A string would be read as its characters (required_scopes = "write" needing "w", "r", ...).
    if not isinstance(scopes, list | tuple | set | frozenset) or not all(isinstance(s, str) and s for s in scopes):
        raise ImproperlyConfigured(f'{type(view).__name__}.{attribute} must list scope names, e.g. ["read"].')
    return list(scopes)

