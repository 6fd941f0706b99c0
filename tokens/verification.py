"""Turn a presented access token into its claims when it is live: JWTs verified locally, opaque by hash.

Two readers, one definition of live (``tokens.records.is_live``), and for both a JWT costs no
query once warm: its signature, the revoked set and its client are what this process keeps
(``tokens.caches``, ``clients.registry``), which revocations reach within the stated bounds.

- the resource side (``live_claims``) also keeps opaque tokens' claims: one query the first time
  an opaque token is seen;
- introspection (``introspected_claims``) reads an opaque token's record every time (one query).

Each realm verifies with its own keys and issuer, and a token is live only in the realm of its
client, while that realm is enabled: another realm's token is as unknown as a made-up one.
"""

from datetime import datetime

from clients.realms import KnownRealm, realm_of_issuer, serving_realm
from clients.registry import find_client

from . import caches, records
from .audiences import issuable_audiences
from .keystore import key_store_for
from .protocol.formats import (
    CLOCK_SKEW_SECONDS,
    TokenClaims,
    decode_jwt,
    hash_token,
    is_plausible_token,
    looks_like_jwt,
    unverified_issuer,
    unverified_kid,
)
from .protocol.keys import SUPPORTED_ALGORITHMS
from .protocol.errors import InvalidToken


def live_claims(token: str, *, realm: KnownRealm | None, now: datetime) -> TokenClaims | None:
    """The claims of token if it is live, from what this process keeps (RFC 6750 §3.1's check).

    ``realm`` is the realm whose resource side asks; None accepts a token of any enabled realm of
    this server (its ``iss`` says which), as ``/api/hello`` does.
    """
    if not is_plausible_token(token):
        return None
    if looks_like_jwt(token):
        claims = verify_jwt(token, realm=realm, now=now)
    else:
        token_hash = hash_token(token)
        claims = caches.opaque_claims(token_hash)
        if claims is None:
            record = records.find_opaque(token_hash)
            owner = _client_realm(record.client_id) if record is not None and not record.revoked else None
            if owner is None:
                return None
            claims = record.claims(realm=owner)
            caches.remember_opaque_claims(token_hash, claims)
    if claims is None:
        return None
    token_realm = _realm_of(claims, realm)
    if token_realm is None or caches.is_revoked(claims, realm=token_realm.name, now=now):
        return None
    return _if_live(claims, realm=token_realm, revoked=False, now=now)


def introspected_claims(token: str, *, realm: KnownRealm, now: datetime) -> TokenClaims | None:
    """The claims of token if it is a live token of realm (RFC 7662 §2.2).

    A JWT is checked as ``live_claims`` checks it, an opaque token by its record; another realm's
    token is unknown here (CONTRACT.md "Realms").
    """
    if not is_plausible_token(token):
        return None
    if looks_like_jwt(token):
        claims = verify_jwt(token, realm=realm, now=now)
        if claims is None:
            return None
        return _if_live(claims, realm=realm, revoked=caches.is_revoked(claims, realm=realm.name, now=now), now=now)
    record = records.find_opaque(hash_token(token))
    if record is None:
        return None
    return _if_live(record.claims(realm=realm), realm=realm, revoked=record.revoked, now=now)


def verify_jwt(token: str, *, realm: KnownRealm | None, now: datetime) -> TokenClaims | None:
    """A JWT's claims if a realm's published key signed it and its claims are that realm's, else None.

    ``realm`` is the realm asked; None takes the enabled realm the token's ``iss`` names. Checks what
    RFC 9068 §4 asks (``typ``, the algorithm, issuer, expiry, an ``aud`` present); not revocation, which
    ``live_claims`` and ``introspected_claims`` add, nor whether the audience is the asker's: a token
    may be for any API its application was allowed (RFC 8707), so the resource that receives it
    checks its own (``tokens.services.validate_access_token``), and introspection reports it.
    """
    verified = caches.verified_jwts.get(token)
    if verified is not None:
        claims, kid = verified
        known = _realm_of(claims, realm)
        if known is not None and key_store_for(known.name).find(kid) is not None:
            return claims if claims.exp > now.timestamp() else None
    if realm is None:
        realm = realm_of_issuer(unverified_issuer(token))  # only chooses the keys: decode_jwt checks iss
        if realm is None:
            return None
    try:
        claims = decode_jwt(
            token,
            find_key=key_store_for(realm.name).find,
            issuer=realm.issuer,
            audience=None,
            # The algorithms we sign with, never the token's say; each key is also pinned to its own.
            algorithms=list(SUPPORTED_ALGORITHMS),
            now=int(now.timestamp()),
        )
    except InvalidToken:
        return None
    # Nothing here issues such tokens: a lifetime over the realm's maximum, an iat ahead of every
    # clock (it would outlive a "Revoke all tokens" made before it).
    if claims.exp - claims.iat > realm.max_lifetime:
        return None
    if claims.iat > now.timestamp() + CLOCK_SKEW_SECONDS:
        return None
    caches.verified_jwts.put(token, (claims, unverified_kid(token)))
    return claims


def _realm_of(claims: TokenClaims, realm: KnownRealm | None) -> KnownRealm | None:
    """The enabled realm that issued claims; None if it is not realm (when one is asked) or not serving."""
    if realm is not None:
        return realm if claims.iss == realm.issuer else None
    return realm_of_issuer(claims.iss)


def _client_realm(client_id: str) -> KnownRealm | None:
    """The enabled realm of the client with this id, or None."""
    client = find_client(client_id)
    return serving_realm(client.realm) if client is not None else None


def _if_live(claims: TokenClaims, *, realm: KnownRealm, revoked: bool, now: datetime) -> TokenClaims | None:
    client = find_client(claims.client_id)
    if client is None or client.realm != realm.name:
        return None  # another realm's client: as unknown here
    live = records.is_live(
        claims, client=client, revoked=revoked, now=int(now.timestamp()), issuable=issuable_audiences(realm, client)
    )
    return claims if live else None
