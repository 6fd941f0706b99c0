"""DRF authentication for protected resources: ``Authorization: Bearer <token>`` (RFC 6750 §2.1)."""

from dataclasses import dataclass

from rest_framework import HTTP_HEADER_ENCODING
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from . import services
from .audiences import is_sandbox
from .exceptions import BearerException
from .protocol.errors import InvalidToken, MissingToken
from .protocol.formats import TokenClaims
from .protocol.scopes import parse_scope


@dataclass(frozen=True, slots=True)
class TokenClient:
    """``request.user`` of a bearer-authenticated request: the client the token was issued to."""

    client_id: str
    scope: frozenset[str]

    is_authenticated = True
    is_anonymous = False
    is_active = True
    pk = None

    def __str__(self) -> str:
        return self.client_id


class BearerTokenAuthentication(BaseAuthentication):
    """Accept our access tokens: JWTs verified locally, opaque ones by hash, revocation honoured.

    ``request.user`` is a ``TokenClient`` and ``request.auth`` the token's ``TokenClaims``. A
    request without a bearer token is left to the next authentication class (or to the
    permission, which answers 401 with the bare ``Bearer realm="api"`` challenge).

    Sandbox tokens (their own ``aud``, ``env: sandbox``) are refused with 401 ``invalid_token``
    unless the view opts in with ``accept_sandbox_tokens = True``; it then tells them apart by
    ``request.auth.env``.
    """

    keyword = "bearer"

    def authenticate(self, request: Request) -> tuple[TokenClient, TokenClaims] | None:
        # From META as DRF's get_authorization_header reads it, but without request.headers, which
        # builds a mapping of every header on each request.
        parts = request.META.get("HTTP_AUTHORIZATION", "").encode(HTTP_HEADER_ENCODING).split()
        if len(parts) < 2 or parts[0].lower() != self.keyword.encode():
            return None  # no bearer credentials at all (§3.1: answered without an error code)
        if len(parts) != 2:
            raise BearerException(InvalidToken("The Authorization header must be 'Bearer <token>'."))
        try:
            claims = services.validate_access_token(parts[1].decode("ascii"))
        except UnicodeDecodeError:
            raise BearerException(InvalidToken()) from None
        except InvalidToken as error:
            raise BearerException(error) from None
        if is_sandbox(aud=claims.aud, env=claims.env) and not _accepts_sandbox_tokens(request):
            raise BearerException(InvalidToken("Sandbox tokens are not accepted by this resource."))
        return TokenClient(client_id=claims.client_id, scope=parse_scope(claims.scope)), claims

    def authenticate_header(self, request: Request) -> str:
        return MissingToken().headers["WWW-Authenticate"]


def _accepts_sandbox_tokens(request: Request) -> bool:
    view = (getattr(request, "parser_context", None) or {}).get("view")
    return getattr(view, "accept_sandbox_tokens", False) is True
