"""Where the OAuth protocol meets the database and the settings."""

import time
from collections.abc import Collection, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.models import AuditAction
from audit.services import log_event, record_event
from clients.client_assertions import delete_expired_jtis
from clients.realms import KnownRealm, default_realm, realm_of_issuer, realm_urls
from clients.registry import Client, find_client
from clients.scope_grants import public_scope_names
from clients.services import authenticate_client

from . import dpop, records
from .audiences import realm_audiences, token_audience
from .keystore import invalidate_key_stores, key_store_for, published_keys_query
from .models import SigningKey
from .protocol.audiences import is_for_any
from .protocol.client_assertion import ASSERTION_ALGORITHMS
from .protocol.client_auth import PRIVATE_KEY_JWT, read_client_credentials
from .protocol.dpop import DPOP_ALGORITHMS
from .protocol.errors import AccessDenied, InvalidToken
from .protocol.formats import JWTFormat, OpaqueFormat, TokenClaims, hash_token, looks_like_jwt, new_jti
from .protocol.grants import (
    CLIENT_CREDENTIALS,
    TokenResponse,
    build_token_response,
    grant_client_credentials,
    read_token_request,
)
from .protocol.introspection import introspection_response, read_token_reference
from .protocol.keys import build_jwks, published_algorithms
from .protocol.scopes import format_scope
from .throttling import throttle_token_issuance
from .usage import count_issued, delete_orphan_counts
from .verification import introspected_claims, live_claims

# Rows per statement when deleting token records in bulk.
CLEAR_BATCH_SIZE = 10_000


def issue_token(
    *, params: Mapping[str, str], authorization: str | None, realm: KnownRealm | None = None,
    now: datetime | None = None, dpop_proof: str | None = None,
) -> TokenResponse:
    """Answer a token request to a realm (the default one unless given) with the client credentials grant (RFC 6749 §4.4).

    Only the realm's clients authenticate; the realm's token rules apply (``KnownRealm.token_policy``)
    and its active key signs. A JWT is written nowhere: no query once this process knows the
    realm, the client and the signing key. An opaque token is one INSERT. Either is counted in
    memory (``tokens.usage``) and logged as an audit line; ``OAUTH_AUDIT_TOKEN_ISSUANCE`` adds an
    audit row, in the same transaction as the opaque token's record.

    ``dpop_proof`` is the request's ``DPoP`` header (RFC 9449 §5): a valid proof binds the token
    to its key (``cnf.jkt``, ``token_type: DPoP``); a wrong one is ``invalid_dpop_proof``.
    """
    realm = realm or default_realm()
    policy = realm.token_policy()
    request = read_token_request(params, policy)
    # DPoP (tokens.dpop): checked before the client, remembered once it has authenticated.
    proof_time = int((now or timezone.now()).timestamp())
    proof = dpop.token_request_proof(header=dpop_proof, token_endpoint=realm_urls(realm.name)["token_endpoint"],
                                     now=proof_time) if dpop_proof is not None else None
    client = authenticate_client(
        credentials=read_client_credentials(authorization=authorization, params=params), realm=realm.name
    )
    dpop.require_proof(client, proof)
    grant = grant_client_credentials(request, client.registered(), policy)
    throttle_token_issuance(client_id=client.client_id, realm=realm.name, rate_limit=client.token_rate_limit)
    aud = token_audience(realm=realm, client=client, requested=request.resources)  # RFC 8707
    if proof is not None:
        dpop.accept_proof(proof, now=proof_time)
    issued_at = _issue_time(client, now)
    claims = records.issued_claims(
        issuer=realm.issuer, client_id=client.client_id, environment=client.environment, aud=aud, iat=issued_at,
        exp=issued_at + grant.lifetime, jti=new_jti(), scope=format_scope(grant.scope),
        jkt=proof.jkt if proof is not None else "",
    )
    opaque = grant.token_format == OpaqueFormat.name
    access_token = (OpaqueFormat() if opaque else JWTFormat(key_store_for(realm.name).active_key())).mint(claims)
    audited = settings.OAUTH_AUDIT_TOKEN_ISSUANCE
    with transaction.atomic() if audited and opaque else nullcontext():  # the record and its audit row, or neither
        if opaque:
            records.insert_opaque(claims, client=client, token_hash=hash_token(access_token))
        (record_event if audited else log_event)(
            AuditAction.TOKEN_ISSUED, application=client.application_id, client_id=client.client_id,
            environment=client.environment, details={"jti": claims.jti, "scope": claims.scope, "format": grant.token_format},
        )
    count_issued(client, token_format=grant.token_format, issued_at=claims.iat)
    response = build_token_response(access_token, grant)
    return response if proof is None else replace(response, token_type=dpop.TOKEN_TYPE)


def _issue_time(client: Client, now: datetime | None) -> int:
    """The token's ``iat``: now, but never before the client's ``tokens_not_before``.

    A "Revoke all tokens" voids every token whose ``iat`` is below the next whole second, so a
    token asked for in the rest of that second waits for it (at most one second) rather than be
    born revoked. A larger gap means another host's clock is ahead: then there is no waiting.
    """
    moment = (now or timezone.now()).timestamp()
    wait = client.tokens_not_before - moment
    if 0 < wait <= 1 and now is None:
        time.sleep(wait)
        return client.tokens_not_before
    return int(moment)


def published_jwks(*, realm: KnownRealm | None = None) -> dict[str, Any]:
    """The JWK Set of every key of the realm whose tokens may still be valid (RFC 7517 §5); its own keys only."""
    store = key_store_for((realm or default_realm()).name)
    store.active_key()  # a fresh realm publishes its first key before issuing anything
    return build_jwks(store.published_keys())


def server_metadata(*, realm: KnownRealm | None = None) -> dict[str, Any]:
    """The realm's authorization server metadata document (RFC 8414 §2), the default realm's unless given.

    ``access_token_signing_alg_values_supported`` names the algorithms of the realm's published
    keys (next, active and retired), so it never advertises one nothing here signs with.
    """
    realm = realm or default_realm()
    store = key_store_for(realm.name)
    store.active_key()  # a fresh realm has keys before it describes them
    urls = realm_urls(realm.name)
    auth_methods = ["client_secret_basic", "client_secret_post", PRIVATE_KEY_JWT]
    return {
        "issuer": urls["issuer"],
        "token_endpoint": urls["token_endpoint"],
        "jwks_uri": urls["jwks_uri"],
        "introspection_endpoint": urls["introspection_endpoint"],
        "revocation_endpoint": urls["revocation_endpoint"],
        # Empty while the realm (or the server) has the grant switched off: nothing is offered.
        "grant_types_supported": [CLIENT_CREDENTIALS] if realm.token_policy().client_credentials_enabled else [],
        "response_types_supported": [],
        "scopes_supported": public_scope_names(realm_id=realm.id),  # RFC 8414 §2 lets restricted ones go unadvertised
        "token_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "access_token_signing_alg_values_supported": published_algorithms(store.published_keys()),
        # What a private_key_jwt assertion may be signed with (RFC 8414 §2; RFC 7523).
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "introspection_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "revocation_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "dpop_signing_alg_values_supported": list(DPOP_ALGORITHMS),  # RFC 9449 §5.1
    }


def introspect_token(
    *, params: Mapping[str, str], authorization: str | None, realm: KnownRealm | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Tell a resource server of a realm whether a token is active, and what it carries (RFC 7662 §2).

    The caller must authenticate in the realm (the default one unless given) and be a resource
    server before anything about the token is answered, so anyone else learns nothing. Another
    realm's token is ``{"active": false}``. One query: the token's revocation or record.
    """
    realm = realm or default_realm()
    reference = read_token_reference(params)
    caller = authenticate_client(
        credentials=read_client_credentials(authorization=authorization, params=params), realm=realm.name,
        endpoint="introspection_endpoint",
    )
    if not caller.is_resource_server:
        raise AccessDenied("Only applications marked as resource servers may introspect tokens.")
    return introspection_response(introspected_claims(reference.token, realm=realm, now=now or timezone.now()))


def revoke_token(
    *, params: Mapping[str, str], authorization: str | None, realm: KnownRealm | None = None,
    now: datetime | None = None,
) -> None:
    """Revoke one of the caller's own live tokens of its realm, JWT or opaque (RFC 7009 §2.1).

    An unknown, expired, already revoked, foreign or other realm's token changes nothing and is
    not an error (§2.2), so the answer never tells whether a token exists.
    """
    realm = realm or default_realm()
    caller = authenticate_client(
        credentials=read_client_credentials(authorization=authorization, params=params), realm=realm.name,
        endpoint="revocation_endpoint",
    )
    token = read_token_reference(params).token
    now = now or timezone.now()
    claims = introspected_claims(token, realm=realm, now=now)
    if claims is None:
        return
    owner = find_client(claims.client_id)
    if owner is None or owner.application_id != caller.application_id:
        return  # another application's token: revoked only by its own client
    token_format = JWTFormat.name if looks_like_jwt(token) else OpaqueFormat.name
    records.revoke(claims, client=owner, token_format=token_format, now=now)


def validate_access_token(
    token: str, *, issuers: Collection[str] | None = None, audiences: Collection[str] | None = None,
    now: datetime | None = None,
) -> TokenClaims:
    """The claims of a bearer token a protected resource received, or ``InvalidToken`` (RFC 6750 §3.1).

    ``issuers`` are the realms' issuers the resource trusts; None trusts every enabled realm of
    this server. ``audiences`` are those the resource answers to, one of which the token's ``aud``
    must name (RFC 7519 §4.1.3, RFC 8707); None answers to its realm's own audience, production or
    sandbox (``tokens.audiences.realm_audiences``), as ``/api/hello`` does: a token asked for
    another API is not good here. No query for a valid JWT once this process knows its realm,
    key, client and the revoked set.
    """
    claims = live_claims(token, realm=None, now=now or timezone.now())
    if claims is None or (issuers is not None and claims.iss not in issuers):
        raise InvalidToken()
    if audiences is None:
        realm = realm_of_issuer(claims.iss)  # live_claims found it: enabled, no query
        audiences = realm_audiences(realm) if realm is not None else ()
    if not is_for_any(claims.aud, audiences):
        raise InvalidToken()  # as any other token not good here: the answer tells nothing more
    return claims


@dataclass(frozen=True, slots=True)
class ClearedTokens:
    tokens: int
    signing_keys: int


def clear_tokens(
    *, realm: str | None = None, now: datetime | None = None, batch_size: int = CLEAR_BATCH_SIZE
) -> ClearedTokens:
    """Delete expired and revoked token rows, then signing keys that have left the JWKS, of one realm or (None) all.

    Deletes by primary key in batches, each its own short statement, walking the table in key
    order, so millions of rows never sit in memory nor in one long transaction. Also drops
    issuance counts a process flushed after their application was deleted.
    """
    now = now or timezone.now()
    deleted = records.delete_finished(now=now, batch_size=batch_size, realm=realm)
    delete_expired_jtis(now=now)  # private_key_jwt's used jtis (a small table, every realm's)
    delete_orphan_counts()
    keys = SigningKey.objects.exclude(published_keys_query(now))
    keys_deleted = (keys if realm is None else keys.filter(realm__name=realm)).delete()[0]
    dpop.forget_used_proofs(now=now)  # no realm of their own: each run drops every one past its time
    if keys_deleted:
        invalidate_key_stores()
    return ClearedTokens(tokens=deleted, signing_keys=keys_deleted)
