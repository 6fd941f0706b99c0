"""Each process's copy of the realms: which exist, which serve, their issuer, URLs and token rules.

Every request to an OAuth endpoint names its realm (the default one by the historic paths, any
other by ``/realms/NAME/``), so the realm is looked up on the hot path. Realms are few, so the
process keeps all of them, read in one query, and reads them all again:

- at once in the process that changed one (``post_save``/``post_delete`` of ``Realm``, through
  ``forget_realms``), and on every process of the host, and within
  ``OAUTH_REVOCATION_POLL_SECONDS`` on instances sharing Redis, through the ``realms``
  announcement (``cluster.announcements``), once the change commits;
- whatever happens to announcements, after ``OAUTH_TOKEN_STATE_CACHE_SECONDS``.

An unknown name costs no query: a name in a URL that is not in the copy is unknown until the
copy is read again, so a flood of made-up names cannot reach the database. A realm created on
another instance serves here within the bound above (CONTRACT.md "Realms").
"""

import threading
import time
from dataclasses import dataclass

from django.conf import settings

from cluster.announcements import Version, realms_changed
from tokens.protocol.grants import TokenPolicy

from .models import DEFAULT_REALM, Realm, default_realm_pk

REALMS_PATH = "/realms/"


@dataclass(frozen=True, slots=True)
class KnownRealm:
    """A realm as this process last read it. Overrides are ``None`` (or ``""``) where the server's settings apply.

    Lifetimes are in seconds. The effective values (``issuer``, ``token_policy()``,
    ``jwt_algorithm``, ``max_lifetime``) read the server's settings at each call, so a realm that
    overrides nothing follows them as they are.
    """

    id: int
    name: str
    enabled: bool
    open_to_portal: bool
    access_token_lifetime: int | None
    max_access_token_lifetime: int | None
    default_token_format: str
    algorithm: str
    client_credentials_enabled: bool | None

    @property
    def is_default(self) -> bool:
        return self.name == DEFAULT_REALM

    @property
    def issuer(self) -> str:
        """``OAUTH_ISSUER`` for the default realm, ``OAUTH_ISSUER/realms/NAME`` for the others."""
        return realm_issuer(self.name)

    @property
    def jwt_algorithm(self) -> str:
        """What this realm's tokens are signed with: its own choice, else ``OAUTH_JWT_ALGORITHM``."""
        return self.algorithm or settings.OAUTH_JWT_ALGORITHM

    @property
    def max_lifetime(self) -> int:
        """The longest lifetime a token of this realm may have, in seconds."""
        return self.max_access_token_lifetime or settings.OAUTH_MAX_ACCESS_TOKEN_LIFETIME

    def token_policy(self) -> TokenPolicy:
        """The token rules of this realm: its overrides, the server's settings for the rest."""
        enabled = self.client_credentials_enabled
        return TokenPolicy(
            default_lifetime=min(self.access_token_lifetime or settings.OAUTH_ACCESS_TOKEN_LIFETIME, self.max_lifetime),
            max_lifetime=self.max_lifetime,
            default_token_format=self.default_token_format or settings.OAUTH_DEFAULT_TOKEN_FORMAT,
            client_credentials_enabled=settings.OAUTH_CLIENT_CREDENTIALS_ENABLED if enabled is None else enabled,
        )


def realm_issuer(name: str) -> str:
    """The issuer identifier (RFC 8414 §2) of the realm named name."""
    issuer = settings.OAUTH_ISSUER
    return issuer if name == DEFAULT_REALM else f"{issuer}{REALMS_PATH}{name}"


def realm_urls(name: str) -> dict[str, str]:
    """The URLs a client of the realm needs: issuer, token, introspection, revocation, JWKS and metadata.

    The metadata URL is the one made by inserting the well-known path before the issuer's path
    (RFC 8414 §3.1), which this server also serves under the realm's own prefix.
    """
    issuer = realm_issuer(name)
    origin = settings.OAUTH_ISSUER
    return {
        "issuer": issuer,
        "token_endpoint": f"{issuer}/oauth/token",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "metadata_uri": f"{origin}/.well-known/oauth-authorization-server"
        + ("" if name == DEFAULT_REALM else f"{REALMS_PATH}{name}"),
    }


def find_realm(name: str) -> KnownRealm | None:
    """The realm named name, enabled or not, as this process knows it; None if there is none."""
    return _realms.find(name)


def serving_realm(name: str) -> KnownRealm | None:
    """The realm named name if it exists and is enabled: the one whose endpoints answer; else None."""
    realm = _realms.find(name)
    return realm if realm is not None and realm.enabled else None


def default_realm() -> KnownRealm:
    """The default realm (always there: the first migration made it, and code that needs it remakes it)."""
    realm = _realms.find(DEFAULT_REALM)
    if realm is None:
        default_realm_pk()
        forget_realms()
        realm = _realms.find(DEFAULT_REALM)
    assert realm is not None
    return realm


def realm_of_issuer(issuer: str) -> KnownRealm | None:
    """The enabled realm whose issuer identifier is exactly issuer, or None (no query once warm)."""
    base = settings.OAUTH_ISSUER
    if issuer == base:
        return serving_realm(DEFAULT_REALM)
    prefix = f"{base}{REALMS_PATH}"
    if issuer.startswith(prefix):
        name = issuer[len(prefix):]
        if name != DEFAULT_REALM:
            return serving_realm(name)
    return None


def forget_realms() -> None:
    """Make every process read the realms again: this one at once, the others once the transaction commits."""
    realms_changed.announce_on_commit()


def drop_known_realms() -> None:
    """Drop this process's copy of the realms, and nothing else (as a restart would)."""
    _realms.clear()


_FIELDS = ("id", "name", "enabled", "open_to_portal", "access_token_lifetime", "max_access_token_lifetime",
           "default_token_format", "jwt_algorithm", "client_credentials_enabled")


class _Realms:
    """Every realm by name, read in one query, with the announcement version and time it was read."""

    def __init__(self) -> None:
        self._realms: dict[str, KnownRealm] = {}
        self._version: Version | None = None
        self._stale_at = float("-inf")
        self._lock = threading.Lock()

    def find(self, name: str) -> KnownRealm | None:
        version = realms_changed.version()  # before the read: a change racing it makes what is read stale
        if version != self._version or time.monotonic() >= self._stale_at:
            realms = {row[1]: KnownRealm(*row) for row in Realm.objects.values_list(*_FIELDS)}
            with self._lock:
                self._realms = realms
                self._version = version
                self._stale_at = time.monotonic() + settings.OAUTH_TOKEN_STATE_CACHE_SECONDS
        return self._realms.get(name)

    def clear(self) -> None:
        with self._lock:
            self._realms, self._version, self._stale_at = {}, None, float("-inf")


_realms = _Realms()
