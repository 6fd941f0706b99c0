"""Signing keys from the database, loaded once and kept in memory for a bounded time.

Every instance re-reads the keys at least every ``OAUTH_KEY_CACHE_SECONDS`` and at once when a
token names a ``kid`` it does not know, so a rotation on one instance reaches the others within
that bound while issuing a token costs no key query once warm.
"""

import threading
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.models import AuditAction
from audit.services import record_event

from .encryption import decrypt_private_key, encrypt_private_key
from .models import SigningKey
from .protocol.keys import SigningKeyMaterial, generate_private_key_pem, load_signing_key, public_jwk

# An unknown kid re-reads the keys at most this often, so garbage kids cannot flood the database.
_MISS_REFRESH_SECONDS = 1.0


def create_signing_key(*, algorithm: str) -> SigningKey:
    """Generate and store a new key pair for algorithm."""
    pem = generate_private_key_pem(algorithm)
    jwk = public_jwk(pem, algorithm)
    return SigningKey.objects.create(
        kid=jwk["kid"], algorithm=algorithm, private_key=encrypt_private_key(pem), public_jwk=jwk
    )


@transaction.atomic
def rotate_signing_key(*, algorithm: str | None = None) -> SigningKey:
    """Retire the current keys and make a new active one; retired keys stay published.

    They remain in the JWKS until ``OAUTH_MAX_ACCESS_TOKEN_LIFETIME`` after retirement, by which
    time every token they signed has expired.
    """
    SigningKey.objects.filter(retired_at__isnull=True).update(retired_at=timezone.now())
    key = create_signing_key(algorithm=algorithm or settings.OAUTH_JWT_ALGORITHM)
    key_store.invalidate()
    record_event(AuditAction.SIGNING_KEY_ROTATED, details={"kid": key.kid, "algorithm": key.algorithm})
    return key


def published_keys_query(now) -> "Q":
    """The keys whose public halves belong in the JWKS at now."""
    horizon = now - timedelta(seconds=settings.OAUTH_MAX_ACCESS_TOKEN_LIFETIME)
    return Q(retired_at__isnull=True) | Q(retired_at__gt=horizon)


class KeyStore:
    """The process's view of the signing keys: the active one and the published ones."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._active: SigningKeyMaterial | None = None
        self._published: dict[str, SigningKeyMaterial] = {}
        self._loaded_at = float("-inf")
        self._last_miss_refresh = float("-inf")

    def invalidate(self) -> None:
        """Forget what was loaded; the next use re-reads the database."""
        self._loaded_at = float("-inf")

    def active_key(self) -> SigningKeyMaterial:
        """The key that signs new tokens, made on first use so a fresh install needs no set-up."""
        self._refresh_if_stale()
        if self._active is None or self._active.algorithm != settings.OAUTH_JWT_ALGORITHM:
            rotate_signing_key()
            self._refresh()
        assert self._active is not None
        return self._active

    def published_keys(self) -> list[SigningKeyMaterial]:
        """Every key whose tokens may still be valid: the JWKS."""
        self._refresh_if_stale()
        return list(self._published.values())

    def find(self, kid: str) -> SigningKeyMaterial | None:
        """The published key named kid, re-reading the keys once if it is not known yet."""
        self._refresh_if_stale()
        key = self._published.get(kid)
        now = self._clock()
        if key is None and now - self._last_miss_refresh >= _MISS_REFRESH_SECONDS:
            self._last_miss_refresh = now
            self._refresh()
            key = self._published.get(kid)
        return key

    def _refresh_if_stale(self) -> None:
        if self._clock() - self._loaded_at >= settings.OAUTH_KEY_CACHE_SECONDS:
            self._refresh()

    def _refresh(self) -> None:
        rows = list(SigningKey.objects.filter(published_keys_query(timezone.now())).order_by("-created_at", "-id"))
        with self._lock:
            # Parsing PEM is the slow part; keys already loaded are kept as they are.
            parsed = {row.kid: self._published.get(row.kid) or self._load(row) for row in rows}
            self._published = parsed
            self._active = next(
                (parsed[row.kid] for row in rows if row.retired_at is None and row.algorithm == settings.OAUTH_JWT_ALGORITHM),
                None,
            )
            self._loaded_at = self._clock()

    @staticmethod
    def _load(row: SigningKey) -> SigningKeyMaterial:
        return load_signing_key(
            kid=row.kid, algorithm=row.algorithm, private_pem=decrypt_private_key(row.private_key), jwk=row.public_jwk
        )


key_store = KeyStore()
