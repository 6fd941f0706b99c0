"""Signing keys from the database: their life (next, active, retired) and each process's copy, per realm.

Each realm has its own keys (one next, one active, retired ones) and its own ``KeyStore`` in each
process (``key_store_for``); ``key_store`` is the default realm's. A realm signs with its own
``jwt_algorithm``, else ``OAUTH_JWT_ALGORITHM``.

A rotation is "from now on": it commits, then announces itself (``cluster.announcements``), so
every worker of the host signs with the new key at its next token and other instances sharing
Redis within ``OAUTH_REVOCATION_POLL_SECONDS``. Whatever happens to announcements, a process
re-reads the keys at least every ``OAUTH_KEY_CACHE_SECONDS``, so no process signs with a key
longer than that after its retirement. The key that takes over was published as ``next`` since
the previous rotation, and a retired key stays published until that last possible signature plus
the longest token lifetime, plus a margin for clocks that disagree.

Verification needs only the public JWKs; the one private key this process decrypts is the
active key's, and only when it signs.
"""

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from audit.models import AuditAction
from audit.services import record_event
from clients.models import DEFAULT_REALM, Realm
from clients.realms import KnownRealm, default_realm, drop_known_realms, find_realm

from cluster.announcements import Version, signing_keys_changed
from .encryption import decrypt_private_key, encrypt_private_key
from .models import KeyRole, SigningKey
from .protocol.formats import CLOCK_SKEW_SECONDS
from .protocol.keys import (
    PublishedKey,
    SigningKeyMaterial,
    generate_private_key_pem,
    load_published_key,
    load_signing_key,
    public_jwk,
)

# An unknown kid re-reads the keys at most this often, so garbage kids cannot flood the database.
_MISS_REFRESH_SECONDS = 1.0


class KeyRotationConflict(Exception):
    """Another process rotated the keys at the same moment; nothing was changed by this one."""


@dataclass(frozen=True, slots=True)
class _NewKey:
    kid: str
    algorithm: str
    private_key: str  # encrypted PEM
    public_jwk: dict[str, str]


def _generate(algorithm: str) -> _NewKey:
    # Outside any transaction: an RSA key takes tens of milliseconds to make.
    pem = generate_private_key_pem(algorithm)
    jwk = public_jwk(pem, algorithm)
    return _NewKey(kid=jwk["kid"], algorithm=algorithm, private_key=encrypt_private_key(pem), public_jwk=jwk)


def _store(new: _NewKey, *, realm_id: int, role: str, now: datetime) -> SigningKey:
    return SigningKey.objects.create(
        kid=new.kid, realm_id=realm_id, algorithm=new.algorithm, private_key=new.private_key,
        public_jwk=new.public_jwk, role=role, activated_at=now if role == KeyRole.ACTIVE else None,
    )


def retired_key_published_until(retired_at: datetime, *, max_lifetime: int | None = None) -> datetime:
    """When a key retired at retired_at leaves the JWKS.

    Processes may sign with it until ``OAUTH_KEY_CACHE_SECONDS`` after retirement; a token signed
    then lives at most max_lifetime seconds (its realm's maximum, by default
    ``OAUTH_MAX_ACCESS_TOKEN_LIFETIME``); clocks may disagree by ``CLOCK_SKEW_SECONDS``.
    """
    lifetime = max_lifetime or settings.OAUTH_MAX_ACCESS_TOKEN_LIFETIME
    return retired_at + timedelta(seconds=settings.OAUTH_KEY_CACHE_SECONDS + lifetime + CLOCK_SKEW_SECONDS)


def rotate_signing_key(*, realm: str = DEFAULT_REALM, algorithm: str | None = None) -> SigningKey:
    """Make the realm's next key active, retire its active one and publish a new next key; return the new active key.

    The algorithm is the active key's (what the servers sign with), or the realm's
    ``jwt_algorithm`` (else ``OAUTH_JWT_ALGORITHM``) when there is none yet, unless given. When no
    next key of that algorithm waits (a fresh realm, or the setting changed), a key made now
    becomes active at once. This process sees the rotation at once, the others when it commits.
    Raises ``KeyRotationConflict`` when another process rotated the realm's keys at the same
    moment, and ``Realm.DoesNotExist`` for a realm that does not exist.
    """
    known = _known_realm(realm)
    algorithm = algorithm or signing_algorithm_in_use(realm=realm) or known.jwt_algorithm
    fresh_next = _generate(algorithm)
    waiting = SigningKey.objects.filter(realm_id=known.id, role=KeyRole.NEXT, algorithm=algorithm).exists()
    fresh_active = None if waiting else _generate(algorithm)
    try:
        with transaction.atomic():
            key = _rotate(known, algorithm, fresh_active=fresh_active, fresh_next=fresh_next)
    except (IntegrityError, OperationalError) as exc:
        if not _lost_a_race(exc):
            raise
        raise KeyRotationConflict("Another process rotated the signing keys at the same moment.") from None
    key_store_for(realm).invalidate()
    transaction.on_commit(signing_keys_changed.announce)
    return key


def _known_realm(name: str) -> KnownRealm:
    """The realm named name, read again if this process does not know it yet; ``Realm.DoesNotExist`` if none."""
    if name == DEFAULT_REALM:
        return default_realm()  # made again on a database that lost it
    known = find_realm(name)
    if known is None:  # made since this process last read the realms
        drop_known_realms()
        known = find_realm(name)
    if known is None:
        raise Realm.DoesNotExist(f"No realm named {name!r}.")
    return known


def _lost_a_race(exc: Exception) -> bool:
    """Whether a write failed because another process wrote the same keys at the same moment.

    The one-per-role constraint refuses the second (IntegrityError); on PostgreSQL two processes
    that each inserted one role and then wait on the other's can also deadlock (SQLSTATE 40P01),
    which PostgreSQL resolves by failing one of them.
    """
    return isinstance(exc, IntegrityError) or getattr(exc.__cause__, "sqlstate", None) == "40P01"


def signing_algorithm_in_use(*, realm: str = DEFAULT_REALM) -> str | None:
    """The algorithm of the realm's active key: what its tokens are signed with now."""
    return (
        SigningKey.objects.filter(realm__name=realm, role=KeyRole.ACTIVE).values_list("algorithm", flat=True).first()
    )


def _rotate(realm: KnownRealm, algorithm: str, *, fresh_active: _NewKey | None, fresh_next: _NewKey) -> SigningKey:
    now = timezone.now()
    keys = SigningKey.objects.filter(realm_id=realm.id)
    keys.filter(role=KeyRole.ACTIVE).update(
        role=KeyRole.RETIRED, retired_at=now,
        published_until=retired_key_published_until(now, max_lifetime=realm.max_lifetime),
    )
    waiting = keys.filter(role=KeyRole.NEXT).first()
    if waiting is not None and waiting.algorithm != algorithm:
        waiting.delete()  # made for another algorithm; it never signed anything
        waiting = None
    if waiting is None:
        key = _store(fresh_active or _generate(algorithm), realm_id=realm.id, role=KeyRole.ACTIVE, now=now)
    else:
        waiting.role, waiting.activated_at = KeyRole.ACTIVE, now
        waiting.save(update_fields=["role", "activated_at"])
        key = waiting
    _store(fresh_next, realm_id=realm.id, role=KeyRole.NEXT, now=now)
    details = {"kid": key.kid, "algorithm": key.algorithm, **({} if realm.is_default else {"realm": realm.name})}
    record_event(AuditAction.SIGNING_KEY_ROTATED, details=details)
    return key


def published_keys_query(now: datetime) -> Q:
    """The keys whose public halves belong in the JWKS at now: next, active, and retired ones not yet due."""
    return ~Q(role=KeyRole.RETIRED) | Q(published_until__gt=now)


class KeyStore:
    """The process's view of one realm's signing keys: the published ones, and the active one's private half."""

    def __init__(self, realm: str = DEFAULT_REALM, clock: Callable[[], float] = time.monotonic) -> None:
        self.realm = realm
        self._clock = clock
        self._lock = threading.Lock()
        self._first_use = threading.Lock()
        self._published: dict[str, PublishedKey] = {}
        self._active: tuple[int, str] | None = None  # (row id, kid)
        self._next_kid: str | None = None
        self._signing: SigningKeyMaterial | None = None
        self._loaded_at = float("-inf")
        self._loaded_version: Version | None = None
        self._last_miss_refresh = float("-inf")
        # Threads of one process (gthread workers) may read the keys at the same time; the read
        # that started last wins, whichever finishes last (see _refresh).
        self._reads = itertools.count()
        self._installed_read = -1

    def invalidate(self) -> None:
        """Forget what was loaded; the next use re-reads the database."""
        self._loaded_at = float("-inf")

    def active_key(self) -> SigningKeyMaterial:
        """The private half of the key that signs new tokens (keys are made on first use)."""
        self._refresh_if_stale()
        if self._active is None or self._published[self._active[1]].algorithm != self._algorithm():
            self._rotate_on_first_use()
        elif self._next_kid is None:
            self._publish_next_key()
        signing = self._signing
        if signing is None or (self._active is not None and signing.kid != self._active[1]):
            signing = self._load_signing_key()
        return signing

    def published_keys(self) -> list[PublishedKey]:
        """Every key whose tokens may be valid, and the next key: the JWKS, newest first."""
        self._refresh_if_stale()
        return list(self._published.values())

    def find(self, kid: str) -> PublishedKey | None:
        """The published key named kid, re-reading the keys once if it is not known yet."""
        self._refresh_if_stale()
        key = self._published.get(kid)
        now = self._clock()
        if key is None and now - self._last_miss_refresh >= _MISS_REFRESH_SECONDS:
            self._last_miss_refresh = now
            self._refresh()
            key = self._published.get(kid)
        return key

    def _algorithm(self) -> str:
        """The realm's ``jwt_algorithm``, else the server's ``OAUTH_JWT_ALGORITHM``."""
        known = find_realm(self.realm)
        return known.jwt_algorithm if known is not None else settings.OAUTH_JWT_ALGORITHM

    def _rotate_on_first_use(self) -> None:
        """No active key of the configured algorithm: a fresh realm, or the setting changed."""
        algorithm = self._algorithm()
        with self._first_use:  # the threads of one process rotate once between them
            self._refresh()
            if self._active is not None and self._published[self._active[1]].algorithm == algorithm:
                return  # another thread of this process, or another process, did it meanwhile
            try:
                rotate_signing_key(realm=self.realm, algorithm=algorithm)
            except KeyRotationConflict:
                pass  # another process did it; read its keys
            self._refresh()

    def _publish_next_key(self) -> None:
        """An active key but none waiting (keys made before keys had roles): publish one ahead."""
        known = _known_realm(self.realm)
        try:
            with transaction.atomic():
                _store(_generate(known.jwt_algorithm), realm_id=known.id, role=KeyRole.NEXT, now=timezone.now())
        except (IntegrityError, OperationalError) as exc:
            if not _lost_a_race(exc):
                raise
            # another process published one
        transaction.on_commit(signing_keys_changed.announce)
        self._refresh()

    def _load_signing_key(self) -> SigningKeyMaterial:
        assert self._active is not None
        row_id, kid = self._active
        encrypted = SigningKey.objects.values_list("private_key", flat=True).get(pk=row_id)
        signing = load_signing_key(
            kid=kid, algorithm=self._published[kid].algorithm, private_pem=decrypt_private_key(encrypted)
        )
        self._signing = signing
        return signing

    def _refresh_if_stale(self) -> None:
        if (
            self._clock() - self._loaded_at >= settings.OAUTH_KEY_CACHE_SECONDS
            or signing_keys_changed.version() != self._loaded_version
        ):
            self._refresh()

    def _refresh(self) -> None:
        read = next(self._reads)  # atomic under the GIL: no lock needed to take a number
        version = signing_keys_changed.version()  # before the read: a change racing it makes it stale
        rows = list(
            SigningKey.objects.filter(published_keys_query(timezone.now()), realm__name=self.realm)
            .only("id", "kid", "algorithm", "public_jwk", "role")
            .order_by("-created_at", "-id")
        )
        with self._lock:
            if read < self._installed_read:
                # A read that started later is already installed: this one may predate a rotation,
                # and installing it would sign with the retired key until the next refresh (without
                # an announcement, another OAUTH_KEY_CACHE_SECONDS).
                return
            self._installed_read = read
            # Parsing a JWK is the slow part; keys already loaded are kept as they are.
            self._published = {
                row.kid: self._published.get(row.kid) or load_published_key(kid=row.kid, algorithm=row.algorithm, jwk=row.public_jwk)
                for row in rows
            }
            self._active = next(((row.pk, row.kid) for row in rows if row.role == KeyRole.ACTIVE), None)
            self._next_kid = next((row.kid for row in rows if row.role == KeyRole.NEXT), None)
            self._loaded_at, self._loaded_version = self._clock(), version


key_store = KeyStore(DEFAULT_REALM)
_key_stores: dict[str, KeyStore] = {DEFAULT_REALM: key_store}
_key_stores_lock = threading.Lock()


def key_store_for(realm: str) -> KeyStore:
    """This process's ``KeyStore`` of the realm named realm (made on first use; no query)."""
    store = _key_stores.get(realm)
    if store is None:
        with _key_stores_lock:
            store = _key_stores.setdefault(realm, KeyStore(realm))
    return store


def invalidate_key_stores() -> None:
    """Make every realm's store of this process re-read its keys at next use."""
    for store in list(_key_stores.values()):
        store.invalidate()
