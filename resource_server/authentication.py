"""DRF authentication for protected resources: ``Authorization: Bearer <token>`` (RFC 6750 §2.1), or DPoP (RFC 9449 §7)."""

import logging
import time
from dataclasses import dataclass

from django.views.decorators.debug import sensitive_variables
from rest_framework import HTTP_HEADER_ENCODING
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from tokens.exceptions import BearerException
from tokens.protocol.audiences import is_for_any
from tokens.protocol.dpop import DPoPInvalidProof, DPoPInvalidToken
from tokens.protocol.errors import InvalidScope, InvalidToken, MissingToken, TemporarilyUnavailable
from tokens.protocol.formats import TokenClaims
from tokens.protocol.scopes import parse_scope

from .config import ResourceServerConfig
from .dpop import check_request_proof
from .modes import current_verifier

SANDBOX = "sandbox"  # the ``env`` claim of a sandbox token

logger = logging.getLogger(__name__)


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
    """Accept access tokens of the issuer ``OAUTH_RESOURCE_SERVER`` names, checked the way its ``MODE`` says.

    ``request.user`` is a ``TokenClient`` and ``request.auth`` the token's ``TokenClaims``. A
    request without a bearer token is left to the next authentication class (or to the
    permission, which answers 401 with the bare ``Bearer realm="api"`` challenge). A token that
    is not valid is 401 ``invalid_token``; one that cannot be checked now (the server or its
    database unreachable, and nothing remembered) is 503 ``temporarily_unavailable``, never
    accepted.

    A DPoP-bound token (``cnf.jkt``, RFC 9449) is accepted only as ``Authorization: DPoP <token>``
    with a valid ``DPoP`` proof for this request (``resource_server.dpop``); as a bearer token, or
    with a bad proof, it is 401 with a ``DPoP`` challenge (``error="invalid_token"`` or
    ``"invalid_dpop_proof"``, and ``algs``). Tokens bound to nothing work as before.

    Sandbox tokens (``env: sandbox``, or the sandbox audience) are refused with 401
    ``invalid_token`` unless the view opts in with ``accept_sandbox_tokens = True``; it then tells
    them apart by ``request.auth.env``.
    """

    keyword = "bearer"
    dpop_keyword = "dpop"  # RFC 9449 §7.1

    # Applied directly, not through method_decorator, which builds its wrapper again on every call
    # (about 4 µs, on every protected request).
    @sensitive_variables("parts", "token")  # the token: never in error reports' frame variables
    def authenticate(self, request: Request) -> tuple[TokenClient, TokenClaims] | None:
        # From META as DRF's get_authorization_header reads it, but without request.headers, which
        # builds a mapping of every header on each request.
        parts = request.META.get("HTTP_AUTHORIZATION", "").encode(HTTP_HEADER_ENCODING).split()
        scheme = parts[0].lower() if len(parts) >= 2 else b""
        if scheme not in (self.keyword.encode(), self.dpop_keyword.encode()):
            return None  # no bearer credentials at all (§3.1: answered without an error code)
        dpop = scheme == self.dpop_keyword.encode()
        refused = DPoPInvalidToken if dpop else InvalidToken
        if len(parts) != 2:
            raise BearerException(refused(f"The Authorization header must be '{'DPoP' if dpop else 'Bearer'} <token>'."))
        config, verifier = current_verifier()
        try:
            token = parts[1].decode("ascii")
            claims = verifier.verify(token)
        except UnicodeDecodeError:
            raise BearerException(refused()) from None
        except InvalidToken as error:
            # Every mode gives the client the same answer: the reason (PyJWT's words in jwks mode,
            # some of them the token's own text) is for this API's developers, at DEBUG.
            logger.debug("access token refused: %s", error.description)
            raise BearerException(refused()) from None
        except TemporarilyUnavailable as error:
            raise BearerException(error) from None
        if dpop:
            self._check_proof(request, token=token, claims=claims, config=config, verifier=verifier)
        elif claims.jkt:  # RFC 9449 §7.2: a bound token is no bearer token
            raise BearerException(DPoPInvalidToken("This access token is bound to a DPoP key: send it as 'DPoP <token>' with a proof."))
        if _is_sandbox(claims, config) and not _accepts_sandbox_tokens(request):
            raise BearerException(refused("Sandbox tokens are not accepted by this resource."))
        try:
            scope = parse_scope(claims.scope)
        except InvalidScope:  # a scope no server of ours issues: the token's fault, not the request's
            raise BearerException(refused("The access token's scope is malformed.")) from None
        return TokenClient(client_id=claims.client_id, scope=scope), claims

    @staticmethod
    def _check_proof(request: Request, *, token: str, claims: TokenClaims, config: ResourceServerConfig, verifier) -> None:
        """RFC 9449 §7.1: the request's proof, for this token and its key, used once (``resource_server.dpop``)."""
        try:
            proof = check_request_proof(request, token=token, claims=claims, config=config)
            if not verifier.remember_proof(proof, now=int(time.time())):
                raise DPoPInvalidProof("The DPoP proof was used before: make a new one for each request.")
        except (DPoPInvalidProof, DPoPInvalidToken, TemporarilyUnavailable) as error:
            raise BearerException(error) from None

    def authenticate_header(self, request: Request) -> str:
        return MissingToken().headers["WWW-Authenticate"]


def _is_sandbox(claims: TokenClaims, config: ResourceServerConfig) -> bool:
    return claims.env == SANDBOX or (bool(config.sandbox_audience) and is_for_any(claims.aud, (config.sandbox_audience,)))


def _accepts_sandbox_tokens(request: Request) -> bool:
    view = (getattr(request, "parser_context", None) or {}).get("view")
    return getattr(view, "accept_sandbox_tokens", False) is True
