"""Token introspection (RFC 7662) and the token reference it shares with revocation (RFC 7009)."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .dpop import TOKEN_TYPE as DPOP_TOKEN_TYPE
from .errors import InvalidRequest
from .formats import TokenClaims

TOKEN_TYPE = "Bearer"  # RFC 6749 §7.1: the type of a token bound to nothing
INACTIVE: dict[str, Any] = {"active": False}


@dataclass(frozen=True, slots=True)
class TokenReference:
    """The ``token`` a caller asks about, and its optional ``token_type_hint``."""

    token: str
    token_type_hint: str | None = None


def read_token_reference(params: Mapping[str, str]) -> TokenReference:
    """Read ``token`` and ``token_type_hint`` (RFC 7662 §2.1, RFC 7009 §2.1).

    The hint only speeds up a lookup: this server has one kind of token and always searches it,
    whatever the hint says (both RFCs require that a wrong hint still finds the token).
    """
    token = params.get("token")
    if token is None:
        raise InvalidRequest("The token parameter is required.")
    return TokenReference(token=token, token_type_hint=params.get("token_type_hint"))


def introspection_response(claims: TokenClaims | None) -> dict[str, Any]:
    """Describe a live token, or say only ``{"active": false}`` about anything else (§2.2).

    An inactive answer carries nothing else, so a caller learns nothing about why a token is
    unknown, expired or revoked.
    """
    if claims is None:
        return dict(INACTIVE)
    answer = {
        "active": True,
        "scope": claims.scope,
        "client_id": claims.client_id,
        "token_type": TOKEN_TYPE,
        "exp": claims.exp,
        "iat": claims.iat,
        "sub": claims.sub,
        "aud": claims.aud,
        "iss": claims.iss,
        "jti": claims.jti,
        "env": claims.env,
    }
    if claims.jkt:  # RFC 9449 §6.2: a DPoP-bound token says to which key, and its type
        answer.update(token_type=DPOP_TOKEN_TYPE, cnf={"jkt": claims.jkt})
    return answer
