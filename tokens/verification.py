"""Turn a presented access token into its claims: JWTs verified locally, opaque ones by hash.

Both paths honour revocation, and accept a token only while its record holds the claims it
carries. On the resource side (``find_live_token``) a token's state comes from what this process
read (``token_state``), so a valid JWT costs no query once warm; an opaque token's claims never
change, so each process keeps them by hash until it expires, and its state by ``jti`` like a
JWT's. Nothing of a token is read from the shared cache. Introspection (``Introspection``) reads
the database every time, in the caller's own query.
"""

from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

import jwt
from django.conf import settings
from django.db.models import QuerySet, Subquery
from django.db.models.functions import JSONObject

from clients.models import KeyPair
from clients.prepared import PreparedQuery
from clients.services import find_key_pair, key_pairs_with_application

from .audiences import accepted_audiences, token_audience
from .keystore import key_store
from .models import AccessToken
from .protocol.formats import TokenClaims, decode_jwt, hash_token, looks_like_jwt, unverified_kid
from .protocol.keys import SUPPORTED_ALGORITHMS
from .token_state import LIVE, REVOKED, matching_state, record_of, remember_state, revocations_version, token_state

# Longest token we look at: ours are far shorter; anything longer is garbage, not a lookup.
MAX_TOKEN_LENGTH = 4096


def is_plausible_token(token: str) -> bool:
    """Tell whether token is worth a lookup: ours are short and printable."""
    return 0 < len(token) <= MAX_TOKEN_LENGTH and token.isprintable() and token.isascii()


def find_live_token(token: str, *, now: datetime) -> TokenClaims | None:
    """The claims of token if we issued it and it is neither expired nor revoked, else None."""
    if not is_plausible_token(token):
        return None
    if looks_like_jwt(token):
        claims = verify_jwt(token, now=now)
        if claims is None:
            return None
        return claims if token_state(claims, now=now) == LIVE else None
    return _find_opaque(token, now=now)


def verify_jwt(token: str, *, now: datetime) -> TokenClaims | None:
    """Check a JWT's signature and claims against our published keys, without the database."""
    issuer, audiences = settings.OAUTH_ISSUER, accepted_audiences()  # production and sandbox
    verified = _verified_tokens.get(token)
    if verified is not None:
        claims, kid = verified
        if claims.iss == issuer and claims.aud in audiences and key_store.find(kid) is not None:
            return claims if claims.exp > now.timestamp() else None
    try:
        decoded = decode_jwt(
            token,
            find_key=key_store.find,
            issuer=issuer,
            audience=audiences,
            # The algorithms we sign with, never the token's say; each key is also pinned to its own.
            algorithms=list(SUPPORTED_ALGORITHMS),
            now=int(now.timestamp()),
        )
        # decode_jwt required the other claims; scope and env are optional (RFC 9068 §2.2.3).
        claims = TokenClaims(**{field.name: decoded.get(field.name, "") for field in fields(TokenClaims)})
    except (jwt.InvalidTokenError, ValueError, TypeError):
        return None
    if claims.exp - claims.iat > settings.OAUTH_MAX_ACCESS_TOKEN_LIFETIME:
        return None  # nothing here issues such a token: its signer is not this server's issuance
    if claims.iss == issuer and claims.aud in audiences:  # a list-valued aud is verified every time
        _remember_verified(token, claims, kid=unverified_kid(token))
    return claims


# JWTs whose signature and claims this process has verified, by the token itself. A resource
# server sees the same token on every call for its lifetime, and checking the signature and the
# claims again cost more than the rest of the request. Only what a full check passed goes in;
# expiry, issuer, audience and that the key is still published are checked again on every use,
# and revocation is a separate check (token_state) either way. Emptied when full: bounded memory.
_VERIFIED_TOKENS_MAX = 4096
_verified_tokens: dict[str, tuple[TokenClaims, str]] = {}


def _remember_verified(token: str, claims: TokenClaims, *, kid: str) -> None:
    if len(_verified_tokens) >= _VERIFIED_TOKENS_MAX:
        _verified_tokens.clear()
    _verified_tokens[token] = (claims, kid)


# Opaque tokens' claims by hash, as read from their records: they never change. Their state is
# checked apart (token_state) on every use. Emptied when full: bounded memory.
_OPAQUE_CLAIMS_MAX = 10_000
_opaque_claims: dict[str, TokenClaims] = {}


def _find_opaque(token: str, *, now: datetime) -> TokenClaims | None:
    token_hash = hash_token(token)
    if (claims := _opaque_claims.get(token_hash)) is not None:
        state = token_state(claims, now=now)
    else:
        version = revocations_version()
        record = AccessToken.objects.filter(token_hash=token_hash).values_list(RECORD, flat=True).first()
        if record is None:
            return None
        claims, state = _read_record(record)
        remember_state(claims.jti, state, record_of(claims), version=version, now=now)
        if len(_opaque_claims) >= _OPAQUE_CLAIMS_MAX:
            _opaque_claims.clear()
        _opaque_claims[token_hash] = claims
    if state != LIVE or claims.exp <= now.timestamp():
        return None
    return claims


# A token's record as one JSON value, so that it can ride along in another query (introspection).
RECORD = JSONObject(
    client_id="client_id",
    scope="scope",
    jti="jti",
    environment="environment",
    issued_at="issued_at",
    expires_at="expires_at",
    revoked_at="revoked_at",
)


def _read_record(record: dict[str, Any]) -> tuple[TokenClaims, str]:
    claims = TokenClaims(
        iss=settings.OAUTH_ISSUER,
        sub=record["client_id"],
        client_id=record["client_id"],
        aud=token_audience(record["environment"]),
        iat=_timestamp(record["issued_at"]),
        exp=_timestamp(record["expires_at"]),
        jti=record["jti"],
        scope=record["scope"],
        env=record["environment"],
    )
    return claims, LIVE if record["revoked_at"] is None else REVOKED


def _timestamp(value: str) -> int:
    """Seconds since the epoch of a JSON datetime: ISO 8601 (PostgreSQL) or naive UTC (SQLite)."""
    moment = datetime.fromisoformat(value)
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


def _key_pair_with_token_record(field: str) -> PreparedQuery[KeyPair]:
    """The caller's key pair with its application, and the record of the token whose field is given."""

    def build(client_id: str, value: str) -> QuerySet[KeyPair]:
        record = AccessToken.objects.filter(**{field: value}).values(record=RECORD)[:1]
        return key_pairs_with_application().filter(client_id=client_id).annotate(token_record=Subquery(record))

    return PreparedQuery(KeyPair, build)


# Compiled once per process: compiling this query cost more than running it.
_KEY_PAIR_WITH_TOKEN_RECORD = {field: _key_pair_with_token_record(field) for field in ("jti", "token_hash")}


class Introspection:
    """Introspect one token in the query that authenticates the caller (RFC 7662 §2.1).

    What needs no database (a JWT's signature and claims) is checked first; the token's record
    is then read as a subquery of the caller's key pair lookup, handed to ``authenticate_client``
    as ``find_key_pair``, so one query answers both and sees a revocation at once.
    """

    def __init__(self, token: str, *, now: datetime) -> None:
        self.now = now
        self.jwt_claims: TokenClaims | None = None
        self.record_lookup: tuple[str, str] | None = None  # (field of AccessToken, value)
        self.record: dict[str, Any] | None = None
        if not is_plausible_token(token):
            return
        if looks_like_jwt(token):
            self.jwt_claims = verify_jwt(token, now=now)
            if self.jwt_claims is not None:
                self.record_lookup = ("jti", self.jwt_claims.jti)
        else:
            self.record_lookup = ("token_hash", hash_token(token))

    def find_key_pair(self, client_id: str) -> KeyPair | None:
        """The caller's key pair with its application, and the token's record, in one query."""
        if self.record_lookup is None:  # nothing worth looking up
            return find_key_pair(client_id)
        field, value = self.record_lookup
        key_pair = _KEY_PAIR_WITH_TOKEN_RECORD[field].first(client_id, value)
        self.record = key_pair.token_record if key_pair else None
        return key_pair

    def live_claims(self) -> TokenClaims | None:
        """The token's claims if it is ours, unexpired and not revoked; else None."""
        if self.record is None:
            return None
        # Read fresh from the database, and not written back to the cache: that write would be
        # one more round trip to Redis on every introspection, for a resource side that may
        # never see this token.
        claims, state = _read_record(self.record)
        if self.jwt_claims is not None:
            state = matching_state(self.jwt_claims, state, record_of(claims))
            claims = self.jwt_claims
        return claims if state == LIVE and claims.exp > self.now.timestamp() else None
