"""Where the OAuth protocol meets the database and the settings."""

from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from audit.models import AuditAction
from audit.services import record_application_change, record_event
from clients.models import Application, KeyPair
from clients.scope_grants import public_scope_names
from clients.prepared import PreparedInsert
from clients.services import authenticate_client, describe_client

from .audiences import token_audience
from .keystore import key_store, published_keys_query
from .models import AccessToken, SigningKey
from .protocol.client_auth import read_client_credentials
from .protocol.errors import AccessDenied, InvalidToken
from .protocol.formats import (
    AccessTokenFormat,
    JWTFormat,
    OpaqueFormat,
    TokenClaims,
    hash_token,
    looks_like_jwt,
    new_jti,
)
from .protocol.grants import (
    CLIENT_CREDENTIALS,
    TokenPolicy,
    TokenResponse,
    build_token_response,
    grant_client_credentials,
    read_token_request,
)
from .protocol.introspection import introspection_response, read_token_reference
from .protocol.keys import build_jwks, published_algorithms
from .protocol.scopes import format_scope
from .throttling import throttle_token_issuance
from .token_state import announce_revoked
from .verification import Introspection, find_live_token, is_plausible_token, verify_jwt

# The row every token request writes, compiled once (the ORM's create() cost four times the INSERT).
_TOKEN_RECORD = PreparedInsert(
    AccessToken,
    ["application_id", "key_pair_id", "client_id", "environment", "scope", "token_format", "jti", "token_hash",
     "issued_at", "expires_at"],
)

# Rows per statement when revoking or deleting tokens in bulk.
REVOKE_BATCH_SIZE = 1000
CLEAR_BATCH_SIZE = 10_000


def token_policy() -> TokenPolicy:
    """Freeze the server-wide token rules from the current settings."""
    return TokenPolicy(
        default_lifetime=settings.OAUTH_ACCESS_TOKEN_LIFETIME,
        max_lifetime=settings.OAUTH_MAX_ACCESS_TOKEN_LIFETIME,
        default_token_format=settings.OAUTH_DEFAULT_TOKEN_FORMAT,
        client_credentials_enabled=settings.OAUTH_CLIENT_CREDENTIALS_ENABLED,
    )


def issue_token(
    *, params: Mapping[str, str], authorization: str | None, now: datetime | None = None
) -> TokenResponse:
    """Answer a token request with the client credentials grant (RFC 6749 §4.4).

    Two queries: the key pair with its application, and the insert of the token record; a third,
    the audit row, unless ``OAUTH_AUDIT_TOKEN_ISSUANCE`` is off. The token row and its audit row
    commit together or not at all: a token whose request failed is never stored live.
    """
    policy = token_policy()
    request = read_token_request(params, policy)
    credentials = read_client_credentials(authorization=authorization, params=params)
    key_pair = authenticate_client(credentials=credentials)
    grant = grant_client_credentials(request, describe_client(key_pair), policy)
    throttle_token_issuance(client_id=key_pair.client_id)

    issued_at = int((now or timezone.now()).timestamp())
    claims = TokenClaims(
        iss=settings.OAUTH_ISSUER,
        sub=key_pair.client_id,
        client_id=key_pair.client_id,
        aud=token_audience(key_pair.environment),
        iat=issued_at,
        exp=issued_at + grant.lifetime,
        jti=new_jti(),
        scope=format_scope(grant.scope),
        env=key_pair.environment,
    )
    token_format: AccessTokenFormat = (
        JWTFormat(key_store.active_key()) if grant.token_format == JWTFormat.name else OpaqueFormat()
    )
    access_token = token_format.mint(claims)
    audited = settings.OAUTH_AUDIT_TOKEN_ISSUANCE
    with transaction.atomic() if audited else nullcontext():
        _TOKEN_RECORD.insert(
            application_id=key_pair.application_id,
            key_pair_id=key_pair.pk,
            client_id=key_pair.client_id,
            environment=key_pair.environment,
            scope=claims.scope,
            token_format=token_format.name,
            jti=claims.jti,
            token_hash=hash_token(access_token) if token_format.name == OpaqueFormat.name else None,
            issued_at=datetime.fromtimestamp(claims.iat, UTC),
            expires_at=datetime.fromtimestamp(claims.exp, UTC),
        )
        record_event(
            AuditAction.TOKEN_ISSUED,
            application=key_pair.application,
            client_id=key_pair.client_id,
            environment=key_pair.environment,
            details={"jti": claims.jti, "scope": claims.scope, "format": token_format.name},
            user=None,
            persist=audited,
        )
    return build_token_response(access_token, grant)


def published_jwks() -> dict[str, Any]:
    """The JWK Set of every key whose tokens may still be valid (RFC 7517 §5)."""
    key_store.active_key()  # a fresh install publishes its first key before issuing anything
    return build_jwks(key_store.published_keys())


def server_metadata() -> dict[str, Any]:
    """The authorization server metadata document (RFC 8414 §2).

    ``access_token_signing_alg_values_supported`` names the algorithms of the published keys
    (next, active and retired), so it never advertises one nothing here signs with.
    """
    key_store.active_key()  # a fresh install has keys before it describes them
    issuer = settings.OAUTH_ISSUER
    auth_methods = ["client_secret_basic", "client_secret_post"]
    return {
        "issuer": issuer,
        "token_endpoint": f"{issuer}/oauth/token",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "grant_types_supported": [CLIENT_CREDENTIALS],
        "response_types_supported": [],
        "scopes_supported": public_scope_names(),  # RFC 8414 §2 lets restricted ones go unadvertised
        "token_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "access_token_signing_alg_values_supported": published_algorithms(key_store.published_keys()),
    }


def revoke_tokens(*, application: Application, key_pair: KeyPair | None = None, now: datetime | None = None) -> int:
    """Revoke every live token of an application, or of one of its key pairs; return how many.

    Used by "Revoke all tokens", "Revoke keys" and disabling an application. Works through the
    live tokens in batches, each committed with its own audit row, so that millions of tokens are
    neither loaded at once nor revoked in one long transaction (inside a caller's transaction,
    the whole commits with it). Every process is told once each batch commits.
    """
    now = now or timezone.now()
    live = AccessToken.objects.filter(application=application, revoked_at__isnull=True, expires_at__gt=now)
    if key_pair is not None:
        live = live.filter(key_pair=key_pair)
    return _revoke_in_batches(
        live,
        now,
        application=application,
        client_id=key_pair.client_id if key_pair else "",
        environment=key_pair.environment if key_pair else "",
    )


def revoke_selected_tokens(*, tokens: QuerySet[AccessToken], now: datetime | None = None) -> int:
    """Revoke the live tokens among those selected (the admin's action); return how many."""
    now = now or timezone.now()
    live = tokens.filter(revoked_at__isnull=True, expires_at__gt=now)
    revoked = 0
    for application in Application.objects.filter(id__in=live.values("application_id")):
        revoked += _revoke_in_batches(live.filter(application=application), now, application=application)
    return revoked


def _revoke_in_batches(
    live: QuerySet[AccessToken], now: datetime, *, application: Application, client_id: str = "", environment: str = ""
) -> int:
    revoked = 0
    while batch := list(live.values_list("id", "jti")[:REVOKE_BATCH_SIZE]):
        with transaction.atomic():
            count = AccessToken.objects.filter(id__in=[row_id for row_id, _ in batch], revoked_at__isnull=True).update(
                revoked_at=now
            )
            if count:
                record_event(
                    AuditAction.TOKEN_REVOKED,
                    application=application,
                    client_id=client_id,
                    environment=environment,
                    details={"tokens_revoked": count},
                )
            announce_revoked(jti for _, jti in batch)
        revoked += count
    return revoked


@transaction.atomic
def set_application_active(*, application: Application, is_active: bool) -> bool:
    """Enable or disable an application; return True if it changed.

    Disabling also revokes every live token of it, in the same transaction: no token of a
    disabled application works, here at once and elsewhere within the revocation bound, and
    enabling it again revives none of them.
    """
    if application.is_active == is_active:
        return False
    application.is_active = is_active
    application.save(update_fields=["is_active", "updated_at"])
    record_application_change(application, changed_fields=["is_active"])
    if not is_active:
        revoke_tokens(application=application)
    return True


def introspect_token(
    *, params: Mapping[str, str], authorization: str | None, now: datetime | None = None
) -> dict[str, Any]:
    """Tell a resource server whether a token is active, and what it carries (RFC 7662 §2).

    The caller must authenticate and be a resource server before anything about the token is
    answered, so anyone else learns nothing. One query finds the caller and the token's record.
    """
    reference = read_token_reference(params)
    introspection = Introspection(reference.token, now=now or timezone.now())
    credentials = read_client_credentials(authorization=authorization, params=params)
    key_pair = authenticate_client(credentials=credentials, find_key_pair=introspection.find_key_pair)
    if not key_pair.application.is_resource_server:
        raise AccessDenied("Only applications marked as resource servers may introspect tokens.")
    return introspection_response(introspection.live_claims())


def revoke_token(*, params: Mapping[str, str], authorization: str | None, now: datetime | None = None) -> None:
    """Revoke one of the caller's own tokens, JWT or opaque (RFC 7009 §2.1).

    An unknown, expired, already revoked or foreign token changes nothing and is not an error
    (§2.2), so the answer never tells whether a token exists.
    """
    key_pair = authenticate_client(credentials=read_client_credentials(authorization=authorization, params=params))
    token = read_token_reference(params).token
    now = now or timezone.now()
    if not is_plausible_token(token):
        return
    own_live = AccessToken.objects.filter(application_id=key_pair.application_id, revoked_at__isnull=True)
    if looks_like_jwt(token):
        claims = verify_jwt(token, now=now)
        jtis = [claims.jti] if claims else []
    else:
        jtis = list(own_live.filter(token_hash=hash_token(token)).values_list("jti", flat=True)[:1])
    if not jtis:
        return
    # The state change and its audit row commit together; every process is told after the commit.
    with transaction.atomic():
        if own_live.filter(jti__in=jtis).update(revoked_at=now):
            record_event(
                AuditAction.TOKEN_REVOKED,
                application=key_pair.application,
                client_id=key_pair.client_id,
                environment=key_pair.environment,
                details={"jti": jtis[0]},
                user=None,
            )
            announce_revoked(jtis)


def validate_access_token(token: str, *, now: datetime | None = None) -> TokenClaims:
    """The claims of a bearer token a protected resource received, or ``InvalidToken`` (RFC 6750 §3.1).

    No query for a valid JWT once the keys and its state are cached.
    """
    claims = find_live_token(token, now=now or timezone.now())
    if claims is None:
        raise InvalidToken()
    return claims


@dataclass(frozen=True, slots=True)
class ClearedTokens:
    tokens: int
    signing_keys: int


def clear_tokens(*, now: datetime | None = None, batch_size: int = CLEAR_BATCH_SIZE) -> ClearedTokens:
    """Delete expired and revoked token rows, then signing keys that have left the JWKS.

    Deletes by primary key in batches, each its own short statement, walking the table in key
    order, so millions of rows never sit in memory nor in one long transaction.
    """
    now = now or timezone.now()
    finished = AccessToken.objects.filter(Q(expires_at__lte=now) | Q(revoked_at__isnull=False)).order_by("id")
    deleted, last_id = 0, 0
    while ids := list(finished.filter(id__gt=last_id).values_list("id", flat=True)[:batch_size]):
        deleted += AccessToken.objects.filter(id__in=ids).delete()[0]
        last_id = ids[-1]
    keys_deleted = SigningKey.objects.exclude(published_keys_query(now)).delete()[0]
    if keys_deleted:
        key_store.invalidate()
    return ClearedTokens(tokens=deleted, signing_keys=keys_deleted)
