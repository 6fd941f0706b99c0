"""Each process's copy of the registered clients: what a token request or a token check reads of them.

Every token request authenticates a client, and every token check asks whether its client still
exists, is active, and revoked nothing issued before the token (``tokens_not_before``). Reading
the key pair and its application from the database each time cost more than the rest of a JWT
request, so each process keeps a ``Client`` per client id (unknown ids too) and reads it again:

- at once, in the process that changed an application or key pair (``forget_clients``, called
  by the services, by ``post_save``/``post_delete`` of both models and after bulk updates);
- at once on every process of the host, and within ``OAUTH_REVOCATION_POLL_SECONDS`` on every
  instance sharing Redis, through the ``clients`` announcement (``cluster.announcements``),
  made once the change commits;
- whatever happens to announcements, after ``OAUTH_TOKEN_STATE_CACHE_SECONDS``.

While the shared cache fails every check reads the database again: slower, never stale. Bounded:
emptied when it holds ``MAX_CLIENTS``.
"""

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings

from cluster.announcements import Version, clients_changed
from tokens.protocol.grants import RegisteredClient
from tokens.protocol.scopes import parse_scope
from tokens.protocol.throttling import RateLimit

from .models import KeyPair
from .secret_store import KnownSecret

MAX_CLIENTS = 10_000

# The columns read, for the one query a cold lookup makes.
_FIELDS = (
    "id",
    "client_id",
    "environment",
    "tokens_not_before",
    "application_id",
    "application__realm__name",
    "application__is_active",
    "application__is_resource_server",
    "application__scopes",
    "application__default_scopes",
    "application__client_credentials_enabled",
    "application__token_format",
    "application__token_lifetime",
    "application__tokens_not_before",
    "application__audiences",
    "application__default_audience",
    "auth_method",
    "jwks",
    "jwks_uri",
    "application__token_rate_limit",
    "application__require_dpop",
    # One row per secret (a LEFT JOIN): a key pair's secrets come in the same query.
    "secrets__id",
    "secrets__secret_hash",
    "secrets__label",
    "secrets__expires_at",
)


@dataclass(frozen=True, slots=True)
class Client:
    """A key pair with what its application says about it, as this process last read them.

    ``realm`` is the name of the application's realm: the only one where this client authenticates.

    ``tokens_not_before`` is in whole seconds since the epoch, rounded up: a token whose ``iat``
    is below it was issued before a "Revoke all tokens", "Revoke keys" or disabling (0: none).

    ``secrets`` are the key pair's secrets, live and recently expired (``clients.secret_store``);
    ``token_rate_limit`` the application's own limit, None for the server's ``OAUTH_TOKEN_RATE_LIMIT``.
    """

    client_id: str
    key_pair_id: int
    application_id: int
    realm: str
    environment: str
    is_active: bool
    is_resource_server: bool
    allowed_scopes: frozenset[str]
    default_scopes: frozenset[str]
    client_credentials_enabled: bool
    token_format: str
    token_lifetime: int | None
    tokens_not_before: int
    # RFC 8707: the audiences its application may ask for, and the one its tokens get when it names none ("": none).
    audiences: frozenset[str] = frozenset()
    default_audience: str = ""
    # private_key_jwt (RFC 7523): how it authenticates, and its public keys (a JWK Set, or where to fetch one).
    auth_method: str = "client_secret_basic"
    jwks: dict[str, Any] | None = None
    jwks_uri: str = ""
    secrets: tuple[KnownSecret, ...] = ()
    token_rate_limit: RateLimit | None = None
    require_dpop: bool = False  # RFC 9449: token requests without a DPoP proof are refused

    def registered(self) -> RegisteredClient:
        """What the client credentials grant (RFC 6749 §4.4) needs to know of this client."""
        return RegisteredClient(
            client_id=self.client_id,
            environment=self.environment,
            allowed_scopes=self.allowed_scopes,
            default_scopes=self.default_scopes,
            client_credentials_enabled=self.client_credentials_enabled,
            token_format=self.token_format,
            lifetime=self.token_lifetime,
        )


def find_client(client_id: str) -> Client | None:
    """The client with this id as this process knows it, or None; one query when not known yet."""
    return _registry.find(client_id)


def forget_clients() -> None:
    """Make every process read clients again: this one at once, the others once the transaction commits."""
    clients_changed.announce_on_commit()


def drop_known_clients() -> None:
    """Drop this process's copy of the clients, and nothing else (as a restart would)."""
    _registry.clear()


def whole_seconds_after(moment: datetime | None) -> int:
    """moment in seconds since the epoch, rounded up (0 for None): the first ``iat`` not before it."""
    if moment is None:
        return 0
    seconds = moment.timestamp()
    return int(seconds) + (seconds % 1 > 0)


def _load(client_id: str) -> Client | None:
    rows = list(KeyPair.objects.filter(client_id=client_id).order_by().values_list(*_FIELDS))
    if not rows:
        return None
    (key_pair_id, client_id, environment, key_pair_not_before, application_id, realm, is_active,
     is_resource_server, scopes, default_scopes, client_credentials_enabled, token_format, token_lifetime,
     application_not_before, audiences, default_audience, auth_method, jwks, jwks_uri, token_rate_limit, require_dpop) = rows[0][:-4]
    secrets = tuple(
        KnownSecret(id=pk, secret_hash=secret_hash, label=label, expires_at=expires_at.timestamp() if expires_at else None)
        for pk, secret_hash, label, expires_at in (row[-4:] for row in rows)
        if pk is not None
    )
    return Client(
        client_id=client_id,
        key_pair_id=key_pair_id,
        application_id=application_id,
        realm=realm,
        environment=environment,
        is_active=is_active,
        is_resource_server=is_resource_server,
        allowed_scopes=parse_scope(scopes),
        default_scopes=parse_scope(default_scopes),
        client_credentials_enabled=client_credentials_enabled,
        token_format=token_format,
        token_lifetime=token_lifetime,
        tokens_not_before=max(whole_seconds_after(key_pair_not_before), whole_seconds_after(application_not_before)),
        audiences=frozenset(audiences.split()),
        default_audience=default_audience,
        auth_method=auth_method,
        jwks=jwks,
        jwks_uri=jwks_uri,
        secrets=secrets,
        token_rate_limit=_rate_limit(token_rate_limit),
        require_dpop=require_dpop,
    )


def _rate_limit(text: str) -> RateLimit | None:
    try:
        return RateLimit.parse(text)
    except ValueError:  # the model refuses such a value; one written around it falls back to the server's
        return None


class _Registry:
    """Clients by id, each with the announcement version it was read under and when it goes stale."""

    def __init__(self) -> None:
        self._clients: dict[str, tuple[Client | None, Version, float]] = {}
        self._lock = threading.Lock()

    def find(self, client_id: str) -> Client | None:
        version = clients_changed.version()  # before the read: a change racing it makes what is read stale
        kept = self._clients.get(client_id)
        if kept is not None and kept[1] == version and time.monotonic() < kept[2]:
            return kept[0]
        client = _load(client_id)
        with self._lock:
            if len(self._clients) >= MAX_CLIENTS:
                self._clients.clear()
            self._clients[client_id] = (client, version, time.monotonic() + settings.OAUTH_TOKEN_STATE_CACHE_SECONDS)
        return client

    def clear(self) -> None:
        with self._lock:
            self._clients.clear()


_registry = _Registry()
