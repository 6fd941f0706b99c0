"""Turn a presented access token into its claims when it is live: JWTs verified locally, opaque by hash.

Two readers, one definition of live (``tokens.records.is_live``), and for both a JWT costs no
query once warm: its signature, the revoked set and its client are what this process keeps
(``tokens.caches``, ``clients.registry``), which revocations reach within the stated bounds.

- the resource side (``live_claims``) also keeps opaque tokens' claims: one query the first time
  an opaque token is seen;
- introspection (``introspected_claims``) reads an opaque token's record every time (one query).
"""

from datetime import datetime

from django.conf import settings

from clients.registry import find_client

from . import caches, records
from .audiences import accepted_audiences, token_audience
from .keystore import key_store
from .protocol.errors import InvalidToken
from .protocol.formats import (
    CLOCK_SKEW_SECONDS,
    TokenClaims,
    decode_jwt,
    hash_token,
    is_plausible_token,
    looks_like_jwt,
    unverified_kid,
)
from .protocol.keys import SUPPORTED_ALGORITHMS


def live_claims(token: str, *, now: datetime) -> TokenClaims | None:
    """The claims of token if it is live, from what this process keeps (RFC 6750 §3.1's check)."""
    if not is_plausible_token(token):
        return None
    if looks_like_jwt(token):
        claims = verify_jwt(token, now=now)
    else:
        token_hash = hash_token(token)
        claims = caches.opaque_claims(token_hash)
        if claims is None:
            record = records.find_opaque(token_hash)
            if record is None or record.revoked:
                return None
            claims = record.claims
            caches.remember_opaque_claims(token_hash, claims)
    if claims is None or caches.is_revoked(claims, now=now):
        return None
    return _if_live(claims, revoked=False, now=now)


def introspected_claims(token: str, *, now: datetime) -> TokenClaims | None:
    """The claims of token if it is live (RFC 7662 §2.2): a JWT as ``live_claims`` checks it, an opaque token by its record."""
    if not is_plausible_token(token):
        return None
    if looks_like_jwt(token):
        claims = verify_jwt(token, now=now)
        return _if_live(claims, revoked=caches.is_revoked(claims, now=now), now=now) if claims else None
    record = records.find_opaque(hash_token(token))
    return _if_live(record.claims, revoked=record.revoked, now=now) if record else None


def verify_jwt(token: str, *, now: datetime) -> TokenClaims | None:
    """A JWT's claims if its signature is one of our published keys' and its claims are ours, else None.

    Checks what RFC 9068 §4 asks (``typ``, the algorithm, issuer, audience, expiry); not
    revocation, which ``live_claims`` and ``introspected_claims`` add.
    """
    issuer, audiences = settings.OAUTH_ISSUER, accepted_audiences()  # production and sandbox
    verified = caches.verified_jwts.get(token)
    if verified is not None:
        claims, kid = verified
        if claims.iss == issuer and claims.aud in audiences and key_store.find(kid) is not None:
            return claims if claims.exp > now.timestamp() else None
    try:
        claims = decode_jwt(
            token,
            find_key=key_store.find,
            issuer=issuer,
            audience=audiences,
            # The algorithms we sign with, never the token's say; each key is also pinned to its own.
            algorithms=list(SUPPORTED_ALGORITHMS),
            now=int(now.timestamp()),
        )
    except InvalidToken:
        return None
    # Nothing here issues such tokens: a lifetime over the maximum, an iat ahead of every clock
    # (it would outlive a "Revoke all tokens" made before it), an audience not of its environment.
    if claims.exp - claims.iat > settings.OAUTH_MAX_ACCESS_TOKEN_LIFETIME:
        return None
    if claims.iat > now.timestamp() + CLOCK_SKEW_SECONDS or claims.aud != token_audience(claims.env):
        return None
    caches.verified_jwts.put(token, (claims, unverified_kid(token)))
    return claims


def _if_live(claims: TokenClaims, *, revoked: bool, now: datetime) -> TokenClaims | None:
    client = find_client(claims.client_id)
    return claims if records.is_live(claims, client=client, revoked=revoked, now=int(now.timestamp())) else None
