"""Turn a presented access token into its claims: JWTs verified locally, opaque ones by hash.

Both paths honour revocation. ``fresh=True`` (introspection) asks the database for the token's
state, one query; otherwise (the resource side) the state comes from ``token_state``'s cache, so a
valid JWT costs no query once warm. An opaque token's claims never change, so they are cached by
hash until the token expires; its state is cached by ``jti`` like a JWT's.
"""

from datetime import datetime

import jwt
from django.conf import settings
from django.core.cache import cache

from .keystore import key_store
from .models import AccessToken
from .protocol.formats import TokenClaims, decode_jwt, hash_token, looks_like_jwt
from .protocol.keys import SUPPORTED_ALGORITHMS
from .token_state import LIVE, REVOKED, remember_state, token_state

# Longest token we look at: ours are far shorter; anything longer is garbage, not a lookup.
MAX_TOKEN_LENGTH = 4096


def is_plausible_token(token: str) -> bool:
    """Tell whether token is worth a lookup: ours are short and printable."""
    return 0 < len(token) <= MAX_TOKEN_LENGTH and token.isprintable() and token.isascii()


def find_live_token(token: str, *, now: datetime, fresh: bool) -> TokenClaims | None:
    """The claims of token if we issued it and it is neither expired nor revoked, else None."""
    if not is_plausible_token(token):
        return None
    if looks_like_jwt(token):
        claims = verify_jwt(token, now=now)
        if claims is None:
            return None
        state = token_state(jti=claims.jti, expires_at=claims.exp, now=now, fresh=fresh)
        return claims if state == LIVE else None
    return _find_opaque(token, now=now, fresh=fresh)


def verify_jwt(token: str, *, now: datetime) -> TokenClaims | None:
    """Check a JWT's signature and claims against our published keys, without the database."""
    try:
        claims = decode_jwt(
            token,
            find_key=key_store.find,
            issuer=settings.OAUTH_ISSUER,
            audience=settings.OAUTH_AUDIENCE,
            # The algorithms we sign with, never the token's say; each key is also pinned to its own.
            algorithms=list(SUPPORTED_ALGORITHMS),
            now=int(now.timestamp()),
        )
        return TokenClaims(
            iss=claims["iss"],
            sub=claims["sub"],
            client_id=claims["client_id"],
            aud=claims["aud"],
            iat=claims["iat"],
            exp=claims["exp"],
            jti=claims["jti"],
            scope=claims.get("scope", ""),
            env=claims.get("env", ""),
        )
    except (jwt.InvalidTokenError, ValueError, TypeError):
        return None


def _claims_key(token_hash: str) -> str:
    return f"oauth:opaque-claims:{token_hash}"


def _find_opaque(token: str, *, now: datetime, fresh: bool) -> TokenClaims | None:
    token_hash = hash_token(token)
    if not fresh and (cached := cache.get(_claims_key(token_hash))) is not None:
        claims = TokenClaims(**cached)
        state = token_state(jti=claims.jti, expires_at=claims.exp, now=now)
    else:
        row = AccessToken.objects.filter(token_hash=token_hash).first()
        if row is None:
            return None
        claims = _claims_of_row(row)
        state = REVOKED if row.revoked_at is not None else LIVE
        remember_state(jti=claims.jti, state=state, expires_at=claims.exp, now=now)
        if (lifetime := claims.exp - int(now.timestamp())) > 0:
            cache.set(_claims_key(token_hash), claims.as_dict(), lifetime)
    if state != LIVE or claims.exp <= now.timestamp():
        return None
    return claims


def _claims_of_row(row: AccessToken) -> TokenClaims:
    return TokenClaims(
        iss=settings.OAUTH_ISSUER,
        sub=row.client_id,
        client_id=row.client_id,
        aud=settings.OAUTH_AUDIENCE,
        iat=int(row.issued_at.timestamp()),
        exp=int(row.expires_at.timestamp()),
        jti=row.jti,
        scope=row.scope,
        env=row.environment,
    )
