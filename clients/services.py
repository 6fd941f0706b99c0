"""Applications and their keys: registering, generating keys, authenticating clients."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from audit.context import current_address
from audit.models import AuditAction
from audit.services import digest_unknown_identifier, log_event, record_application_change, record_event
from cluster.announcements import signing_keys_changed
from tokens.protocol.client_auth import PRIVATE_KEY_JWT, ClientCredentials
from tokens.protocol.errors import InvalidClient, TooManyRequests
from tokens.protocol.scopes import format_scope, parse_scope

from .client_assertions import check_client_assertion
from .lockout import record_client_failure
from .models import DEFAULT_REALM, MAX_LIFETIME_SECONDS, Application, AuthMethod, Environment, KeyPair, Realm, default_realm_pk
from .registry import Client, find_client, forget_clients
from .scope_grants import register_scopes, split_scope_request
from .secret_store import TooManySecrets, add_secret, end_previous_secrets, record_secret_use  # noqa: F401 (regenerate_secret raises it)
from .secrets import generate_client_id, match_client_secret

# Seconds since the epoch, for secrets' expiry at authentication; replaced in tests.
clock: Callable[[], float] = time.time

# What an operator may set on a realm besides its name (CONTRACT.md "Realms"); empty follows the server.
REALM_SETTINGS = (
    "enabled",
    "open_to_portal",
    "access_token_lifetime",
    "max_access_token_lifetime",
    "default_token_format",
    "jwt_algorithm",
    "client_credentials_enabled",
)


@transaction.atomic
def create_realm(*, name: str, **settings: Any) -> Realm:
    """Create a realm (CONTRACT.md "Realms") with its audit row; raise ValidationError for a bad name or setting.

    ``settings`` are among ``REALM_SETTINGS``; lifetimes in seconds. Its signing keys are made
    when it first signs or publishes its JWKS; it serves on every process of this host at once,
    and within ``OAUTH_REVOCATION_POLL_SECONDS`` on instances sharing Redis (``clients.realms``).
    """
    unknown = set(settings) - set(REALM_SETTINGS)
    if unknown:
        raise TypeError(f"not a realm setting: {', '.join(sorted(unknown))}")
    realm = Realm(name=name, **settings)
    realm.full_clean()
    realm.save()
    record_event(AuditAction.REALM_CREATED, details={"realm": name, **_realm_details(realm, REALM_SETTINGS)})
    return realm


@transaction.atomic
def update_realm(*, realm: Realm, **changes: Any) -> list[str]:
    """Change a realm's settings (not its name) with an audit row naming the fields; return them.

    Disabling a realm makes its endpoints answer 404 and its tokens stop working, here at once,
    elsewhere within the realms' bound (``clients.realms``); enabling it again revives the tokens
    that have not expired. Raises ValidationError (the default realm cannot be disabled).
    """
    unknown = set(changes) - set(REALM_SETTINGS)
    if unknown:
        raise TypeError(f"not a realm setting: {', '.join(sorted(unknown))}")
    changed = [field for field, value in changes.items() if getattr(realm, field) != value]
    for field in changed:
        setattr(realm, field, changes[field])
    realm.full_clean()
    if changed:
        realm.save(update_fields=changed)
        record_realm_change(realm, changed_fields=changed)
    return changed


def record_realm_change(realm: Realm, *, changed_fields: list[str]) -> None:
    """The audit row of a realm's edit (admin or service): which fields, and their new values."""
    if changed_fields:
        record_event(AuditAction.REALM_CHANGED, details={"realm": realm.name, **_realm_details(realm, changed_fields)})


@transaction.atomic
def delete_realm(*, realm: Realm) -> None:
    """Delete a realm with its signing keys and scopes; raise ProtectedError while it has applications.

    The default realm is never deleted (ValidationError). Every process forgets the realm's keys
    (the signing keys announcement): a realm made again under the same name must neither sign
    with nor publish the deleted one's.
    """
    if realm.is_default:
        raise ValidationError("The default realm cannot be deleted.")
    record_event(AuditAction.REALM_DELETED, details={"realm": realm.name})
    realm.delete()
    # Its keys went with it: no process may keep them for a realm made again under the same name.
    signing_keys_changed.announce_on_commit()


def _realm_details(realm: Realm, fields) -> dict[str, Any]:
    return {field: getattr(realm, field) for field in sorted(fields)}


@dataclass(frozen=True, slots=True)
class IssuedKeys:
    """A consumer key with its secret in clear: handed to the developer once, never stored.

    ``secret_label`` names the secret on pages and in the audit trail; after a regeneration,
    ``previous_secret_expires_at`` is when the last previous secret stops (None: they stopped at once).
    """

    client_id: str
    client_secret: str
    environment: str
    secret_label: str = ""
    previous_secret_expires_at: datetime | None = None

    def __repr__(self) -> str:
        return f"IssuedKeys(client_id={self.client_id!r}, environment={self.environment!r})"


@transaction.atomic
def create_application(
    *,
    name: str,
    scopes: str = "",
    default_scopes: str | None = None,
    token_format: str = "",
    token_lifetime: int | None = None,
    is_resource_server: bool = False,
    owner: AbstractBaseUser | None = None,
    description: str = "",
    client_credentials_enabled: bool = True,
    self_service: bool = False,
    create_missing_scopes: bool = False,
    realm: Realm | None = None,
    audiences: str = "",
    default_audience: str = "",
    token_rate_limit: str = "",
    require_dpop: bool = False,
) -> Application:
    """Register an application with its scopes in a realm (the default one unless given); raise ValidationError for bad fields.

    An operator (``self_service=False``: admin, commands) grants ``scopes`` outright. A developer
    (``self_service=True``: the portal) asks for them: public ones are granted, restricted ones
    wait as pending, and only an enabled realm open to the portal takes it. Scopes the realm's
    registry lacks are refused, unless ``create_missing_scopes`` adds them to it, restricted (never
    for self-service). ``audiences`` (space-separated absolute URIs) and ``default_audience`` are
    the APIs its tokens may be for (RFC 8707), checked by ``Application.clean``.
    """
    realm_id = realm.pk if realm is not None else default_realm_pk()
    if self_service and not Realm.objects.filter(pk=realm_id, enabled=True, open_to_portal=True).exists():
        raise ValidationError({"realm": "This realm is not open to new applications here."})
    requested = parse_scope(scopes)
    default = requested if default_scopes is None else parse_scope(default_scopes)
    if create_missing_scopes and not self_service:
        register_scopes(requested, realm_id=realm_id)
    allowed, pending = split_scope_request(requested, realm_id=realm_id) if self_service else (requested, frozenset())
    application = Application(
        realm_id=realm_id,
        name=name,
        description=description,
        owner=owner,
        scopes=format_scope(allowed),
        pending_scopes=format_scope(pending),
        default_scopes=format_scope(default),
        token_format=token_format,
        token_lifetime=token_lifetime,
        is_resource_server=is_resource_server,
        client_credentials_enabled=client_credentials_enabled,
        audiences=audiences,
        default_audience=default_audience,
        token_rate_limit=token_rate_limit,
        require_dpop=require_dpop,
    )
    application.full_clean()
    application.save()
    details = {"name": name, "realm": application.realm.name,
               **({"pending_scopes": application.pending_scopes} if pending else {})}
    record_event(AuditAction.APPLICATION_CREATED, application=application, details=details)
    return application


# What the portal's form may change; operators change the rest (resource server, active) in the admin.
EDITABLE_FIELDS = (
    "name",
    "description",
    "scopes",
    "default_scopes",
    "client_credentials_enabled",
    "token_format",
    "token_lifetime",
    "audiences",
    "default_audience",
    "require_dpop",
)


@transaction.atomic
def update_application(*, application: Application, **changes: Any) -> Application:
    """Change an application's editable fields as its developer; record which ones changed.

    ``scopes`` is what the developer asks for now (see ``split_scope_request``): scopes already
    granted and public ones are allowed, restricted new ones become pending approval.
    """
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {', '.join(sorted(unknown))}")
    for field in ("scopes", "default_scopes"):
        if field in changes:
            changes[field] = format_scope(parse_scope(changes[field]))
    if "audiences" in changes:  # compared as Application.clean will store them: one space between
        changes["audiences"] = " ".join(dict.fromkeys(changes["audiences"].split()))
    if "scopes" in changes:
        allowed, pending = split_scope_request(
            parse_scope(changes["scopes"]), realm_id=application.realm_id, granted=application.allowed_scope_set
        )
        changes.update(scopes=format_scope(allowed), pending_scopes=format_scope(pending))
    changed = [field for field, value in changes.items() if getattr(application, field) != value]
    for field in changed:
        setattr(application, field, changes[field])
    application.full_clean()
    if changed:
        application.save(update_fields=[*changed, "updated_at"])
        record_application_change(application, changed_fields=changed)
    return application


@transaction.atomic
def register_client_keys(*, key_pair: KeyPair, jwks: dict[str, Any] | None = None, jwks_uri: str = "") -> KeyPair:
    """Replace the public keys of a ``private_key_jwt`` key pair (RFC 7523): a JWK Set or a jwks_uri.

    Raises ValidationError for a secret key pair, for both or neither, and for a set that holds
    private or symmetric keys. Every process uses the new keys at once (``forget_clients``).
    """
    if key_pair.auth_method != AuthMethod.PRIVATE_KEY_JWT:
        raise ValidationError("Only a private_key_jwt key pair has public keys.")
    key_pair.jwks, key_pair.jwks_uri = jwks, jwks_uri
    key_pair.clean_fields(exclude=["application", "secret_hash"])
    key_pair.clean()
    key_pair.save(update_fields=["jwks", "jwks_uri"])
    record_event(
        AuditAction.APPLICATION_CHANGED, application=key_pair.application, client_id=key_pair.client_id,
        environment=key_pair.environment, details={"fields": ["jwks_uri" if jwks_uri else "jwks"]},
    )
    return key_pair


def owned_applications(*, owner: AbstractBaseUser) -> QuerySet[Application]:
    """The owner's applications with their realms and key pairs, in two queries."""
    return Application.objects.filter(owner=owner).select_related("realm").prefetch_related("key_pairs")


@transaction.atomic
def generate_keys(
    *, application: Application, environment: str = Environment.PRODUCTION, secret_lifetime: int | None = None,
    auth_method: str = AuthMethod.CLIENT_SECRET_BASIC, jwks: dict[str, Any] | None = None, jwks_uri: str = "",
) -> IssuedKeys:
    """Create the consumer key and first secret of one environment; the secret is returned once.

    ``secret_lifetime``: seconds the secret works (1 to ``MAX_LIFETIME_SECONDS``), None until
    regenerated; else ValueError. A ``private_key_jwt`` key pair (RFC 7523) gets no secret
    (``client_secret`` is "") but the client's public keys: a JWK Set (``jwks``) or its
    ``jwks_uri``; else ValidationError.
    """
    _check_seconds("secret_lifetime", secret_lifetime, minimum=1)
    now = timezone.now()
    key_pair = KeyPair(application=application, environment=environment, client_id=generate_client_id(),
                       auth_method=auth_method, jwks=jwks, jwks_uri=jwks_uri)
    key_pair.clean_fields(exclude=["application"])
    key_pair.clean()
    key_pair.save()
    if auth_method == AuthMethod.PRIVATE_KEY_JWT:
        record_event(AuditAction.SECRET_GENERATED, application=application, client_id=key_pair.client_id,
                     environment=environment, details={"auth_method": auth_method})
        return IssuedKeys(key_pair.client_id, "", environment)
    secret, row = add_secret(key_pair, now=now, lifetime=secret_lifetime)
    details = {"secret": row.label, **({"secret_expires_at": row.expires_at.isoformat()} if row.expires_at else {})}
    record_event(AuditAction.SECRET_GENERATED, application=application, client_id=key_pair.client_id,
                 environment=environment, details=details)
    return IssuedKeys(key_pair.client_id, secret, environment, row.label)


class SecretAlreadyRegenerated(Exception):
    """The secret changed after the confirmation was shown: a form sent twice regenerates once."""


def secret_version(key_pair: KeyPair) -> str:
    """What a confirmation to regenerate carries: valid until the secret next changes, so once."""
    return key_pair.secret_updated_at.isoformat()


@transaction.atomic
def regenerate_secret(*, key_pair: KeyPair, grace: int | None = None, version: str | None = None) -> IssuedKeys:
    """Give a key pair a new secret; the previous ones stop after grace seconds (None or 0: at once).

    CONTRACT.md "Client credentials over their life": during the grace every previous live secret
    and the new one authenticate, so the services using the key pair can move to the new one
    without downtime; a previous secret that would expire sooner keeps its expiry. Raises
    ``TooManySecrets`` past ``OAUTH_MAX_LIVE_SECRETS`` live secrets, ValueError for a negative
    or too long grace. With ``version`` (``secret_version`` when the confirmation was shown) it
    happens only if no secret was made since, else ``SecretAlreadyRegenerated``: a reloaded page
    re-sends its form, and must not end the secret the user just copied.
    """
    if key_pair.auth_method == AuthMethod.PRIVATE_KEY_JWT:
        raise ValidationError("This key pair authenticates with private_key_jwt: it has no secret.")
    _check_seconds("grace", grace, minimum=0)
    now = timezone.now()
    unchanged = KeyPair.objects.filter(pk=key_pair.pk)
    if version is not None:
        try:
            unchanged = unchanged.filter(secret_updated_at=datetime.fromisoformat(version))
        except ValueError:
            raise SecretAlreadyRegenerated() from None
    # The UPDATE also locks the key pair's row: two regenerations count its live secrets one after the other.
    if not unchanged.update(secret_updated_at=now):
        raise SecretAlreadyRegenerated()
    previous, previous_expire = end_previous_secrets(key_pair, now=now, grace=grace)
    secret, row = add_secret(key_pair, now=now)
    forget_clients()  # update() sends no post_save
    key_pair.secret_updated_at = now
    record_event(
        AuditAction.SECRET_REGENERATED,
        application=key_pair.application,
        client_id=key_pair.client_id,
        environment=key_pair.environment,
        details={"secret": row.label, "previous_secrets": previous,
                 "previous_secret_expires_at": previous_expire.isoformat() if previous_expire else None},
    )
    return IssuedKeys(key_pair.client_id, secret, key_pair.environment, row.label, previous_expire)


def _check_seconds(name: str, value: int | None, *, minimum: int) -> None:
    if value is not None and not minimum <= value <= MAX_LIFETIME_SECONDS:
        raise ValueError(f"{name} must be between {minimum} and {MAX_LIFETIME_SECONDS} seconds.")


@transaction.atomic
def revoke_keys(*, key_pair: KeyPair) -> None:
    """Delete a key pair: its secret stops working and every token issued with it is refused.

    Tokens are checked against their client, which no longer exists (``clients.registry``): at
    once here, within the revocation bound elsewhere. Its opaque token records stay, for the record.
    """
    record_event(
        AuditAction.KEYS_REVOKED,
        application=key_pair.application,
        client_id=key_pair.client_id,
        environment=key_pair.environment,
    )
    key_pair.delete()


@transaction.atomic
def revoke_tokens(*, application: Application, key_pair: KeyPair | None = None, now: datetime | None = None) -> None:
    """Refuse every token issued so far to an application, or to one of its key pairs.

    "Revoke all tokens", and part of disabling: one UPDATE of ``tokens_not_before`` with its audit
    row, whatever the number of tokens (JWTs are not stored one by one). Seen at once in this
    process and on this host, within ``OAUTH_REVOCATION_POLL_SECONDS`` on instances sharing Redis.
    """
    now = now or timezone.now()
    target = key_pair or application
    type(target).objects.filter(pk=target.pk).update(tokens_not_before=now)
    target.tokens_not_before = now
    forget_clients()  # update() sends no post_save
    record_event(
        AuditAction.TOKEN_REVOKED,
        application=application,
        client_id=key_pair.client_id if key_pair else "",
        environment=key_pair.environment if key_pair else "",
        details={"tokens_issued_before": now.isoformat()},
    )


@transaction.atomic
def set_application_active(*, application: Application, is_active: bool) -> bool:
    """Enable or disable an application; return True if it changed.

    Disabling also revokes every token issued to it so far (``revoke_tokens``), in the same
    transaction: enabling it again revives none of them.
    """
    if application.is_active == is_active:
        return False
    application.is_active = is_active
    application.save(update_fields=["is_active", "updated_at"])
    record_application_change(application, changed_fields=["is_active"])
    if not is_active:
        revoke_tokens(application=application)
    return True


def authenticate_client(
    *, credentials: ClientCredentials, realm: str = DEFAULT_REALM, endpoint: str = "token_endpoint",
    now: datetime | None = None,
) -> Client:
    """The client of the realm named realm whose credentials these are (RFC 6749 §2.3.1); no query once this process knows it.

    Any of the client's live secrets authenticates it (``clients.secret_store``); its use is noted
    in memory. An unknown client, a client of another realm, a wrong or expired secret and a
    disabled application look the same to the caller: ``InvalidClient``, or ``TooManyRequests``
    (429) once the client id or address has failed too often in this realm. Right credentials are
    never refused by a lockout, and cost no lockout lookup.

    A client assertion (``private_key_jwt``, RFC 7523) is checked by ``check_client_assertion``
    for the ``endpoint`` named (its URL is an accepted ``aud``); a client registered with it has no
    secret, and a secret client cannot use one.
    """
    client_id = credentials.client_id
    # Ids we issue are short and plain; anything else (NUL bytes upset PostgreSQL) matches none.
    plausible = len(client_id) <= 64 and "\x00" not in client_id
    found = find_client(client_id) if plausible else None
    # Another realm's client is unknown here (CONTRACT.md "Realms"); its secrets are still checked, so
    # both cost the same.
    client = found if found is not None and found.realm == realm else None
    moment = now.timestamp() if now is not None else clock()  # seconds since the epoch
    secret = None  # the stored secret the presented one matched
    if credentials.method == PRIVATE_KEY_JWT:
        problem = check_client_assertion(
            client, assertion=credentials.client_assertion, realm=realm, endpoint=endpoint, now=int(moment),
        ) if client is not None and client.is_active else None
    else:
        known = found.secrets if found else ()
        matched = match_client_secret(credentials.client_secret, [stored.secret_hash for stored in known])
        secret = known[matched] if matched is not None else None
        problem = "wrong_secret" if secret is None else None if secret.is_live(moment) else "secret_expired"
        if client is not None and client.auth_method == AuthMethod.PRIVATE_KEY_JWT:
            problem = "auth_method_not_registered"
    if client is not None and problem is None and client.is_active:
        if secret is not None:
            record_secret_use(secret, now=moment)
        return client
    if client is None:
        reason = "unknown_client" if found is None else "other_realm"
    else:
        reason = problem or "application_disabled"
    application_id = found.application_id if found else None
    # An id that matched nothing may be a secret sent in the wrong field: only its digest is kept.
    recorded_id = client_id if found else digest_unknown_identifier(client_id)
    in_realm = {} if realm == DEFAULT_REALM else {"realm": realm}
    named = {"secret": secret.label} if reason == "secret_expired" else {}
    details = {"reason": reason, **named, **in_realm}
    try:
        record_client_failure(client_id=client_id, address=current_address(), realm=realm)
    except TooManyRequests:
        # Logged only: a flood must not fill the table.
        log_event(AuditAction.CLIENT_AUTH_FAILED, application=application_id, client_id=recorded_id,
                  details={"reason": "locked_out", **in_realm})
        raise
    record_event(AuditAction.CLIENT_AUTH_FAILED, application=application_id, client_id=recorded_id, details=details,
                 user=None)
    raise InvalidClient(method=credentials.method)  # §5.2: challenged only after Basic or no credentials
