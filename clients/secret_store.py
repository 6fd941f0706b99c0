"""A key pair's secrets over their life: making one, ending the previous ones, and their last use.

A key pair holds several secrets while a regeneration's grace runs (CONTRACT.md "Client credentials
over their life"). Every statement on ``ClientSecret`` rows is here. Each process knows a client's
secrets as ``KnownSecret`` values in its ``clients.registry.Client`` (read with the client, in
its one query), so authenticating asks nothing of the database.

Last use is recorded in memory, per secret and minute, and stored in one UPDATE by the usage
counters' flushing thread (``tokens.usage``), never by the request: a secret used a thousand
times in a minute costs one write of its minute, at the next flush.
"""

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Case, DateTimeField, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, Greatest

from .models import MAX_LIFETIME_SECONDS, ClientSecret, KeyPair
from .secrets import generate_client_secret, generate_secret_label, hash_client_secret

# Expired secrets are kept this long after their expiry, so that one still presented is reported
# as expired (by its label, in the audit trail), not as a wrong secret; then regenerating deletes them.
EXPIRED_SECRETS_KEPT = timedelta(days=30)


# The grace periods the portal and the admin offer when regenerating, in seconds (the CLI takes any).
GRACE_CHOICES = ((0, "At once"), (3600, "After 1 hour"), (86400, "After 1 day"), (7 * 86400, "After 7 days"))


def read_grace_choice(value: str) -> int | None:
    """The grace, in seconds, a form's choice names; None for anything not offered."""
    return next((seconds for seconds, _ in GRACE_CHOICES if str(seconds) == value), None)


class TooManySecrets(Exception):
    """The key pair would hold more live secrets than ``OAUTH_MAX_LIVE_SECRETS``."""


@dataclass(frozen=True, slots=True)
class KnownSecret:
    """A secret as a process keeps it: its digest, its label, and its expiry in seconds since the epoch (None: none)."""

    id: int
    secret_hash: str
    label: str
    expires_at: float | None

    def is_live(self, now: float) -> bool:
        """Whether it authenticates at now (seconds since the epoch)."""
        return self.expires_at is None or now < self.expires_at

    def __repr__(self) -> str:
        return f"KnownSecret(id={self.id!r}, label={self.label!r}, expires_at={self.expires_at!r})"


def live_secrets(key_pair: KeyPair, *, now: datetime) -> QuerySet[ClientSecret]:
    """The key pair's secrets that authenticate at now."""
    return key_pair.secrets.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def add_secret(key_pair: KeyPair, *, now: datetime, lifetime: int | None = None) -> tuple[str, ClientSecret]:
    """Give key_pair a new secret, valid for lifetime seconds (None: until regenerated); the secret in clear, once, and its row."""
    secret = generate_client_secret()
    expires_at = now + timedelta(seconds=lifetime) if lifetime is not None else None
    row = ClientSecret.objects.create(
        key_pair=key_pair, secret_hash=hash_client_secret(secret), label=generate_secret_label(), created_at=now,
        expires_at=expires_at,
    )
    return secret, row


def end_previous_secrets(key_pair: KeyPair, *, now: datetime, grace: int | None) -> tuple[list[str], datetime | None]:
    """Make the key pair's live secrets expire after grace seconds (None or 0: now); never later than they would.

    Returns the labels of the secrets it ended, and when the last of them now stops (None when
    they stopped at once, or there were none). Raises ``TooManySecrets`` when, with a new secret,
    the key pair would hold more live ones than ``OAUTH_MAX_LIVE_SECRETS``. Deletes the secrets
    that expired more than ``EXPIRED_SECRETS_KEPT`` ago.
    """
    key_pair.secrets.filter(expires_at__lt=now - EXPIRED_SECRETS_KEPT).delete()
    live = live_secrets(key_pair, now=now)
    previous = list(live.values_list("label", "expires_at"))
    limit = settings.OAUTH_MAX_LIVE_SECRETS
    if grace and len(previous) + 1 > limit:
        raise TooManySecrets(
            f"{key_pair.client_id} would hold {len(previous) + 1} live secrets; at most {limit} "
            f"(OAUTH_MAX_LIVE_SECRETS). Regenerate without a grace period, or wait until one expires."
        )
    until = now + timedelta(seconds=min(grace or 0, MAX_LIFETIME_SECONDS))
    live.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=until)).update(expires_at=until)
    if not grace or not previous:
        return [label for label, _ in previous], None
    return [label for label, _ in previous], max(min(expires or until, until) for _, expires in previous)


class _SecretUses:
    """The minute each secret was last used in this process, and the minutes already stored."""

    def __init__(self) -> None:
        self._pending: dict[int, int] = {}
        self._stored: dict[int, int] = {}
        self._lock = threading.Lock()

    def is_stored(self, secret_id: int, minute: int) -> bool:
        return self._stored.get(secret_id) == minute

    def record(self, secret_id: int, minute: int) -> None:
        with self._lock:
            if minute > self._pending.get(secret_id, 0):
                self._pending[secret_id] = minute

    def waiting(self) -> bool:
        return bool(self._pending)

    def take(self) -> dict[int, int]:
        with self._lock:
            pending, self._pending = self._pending, {}
        return pending

    def stored(self, uses: dict[int, int]) -> None:
        with self._lock:
            if len(self._stored) > 10_000:
                self._stored.clear()
            self._stored.update(uses)

    def put_back(self, uses: dict[int, int]) -> None:
        with self._lock:
            for secret_id, minute in uses.items():
                self._pending[secret_id] = max(minute, self._pending.get(secret_id, 0))

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()
            self._stored.clear()


_uses = _SecretUses()


def record_secret_use(secret: KnownSecret, *, now: float) -> None:
    """Note that secret authenticated a client at now (seconds since the epoch); no query."""
    minute = int(now) - int(now) % 60
    if not _uses.is_stored(secret.id, minute):  # the common case: this minute is stored already
        _uses.record(secret.id, minute)


def flush_secret_uses() -> None:
    """Store the pending last uses in one UPDATE; a last use never moves back (another process's may be later).

    Raises ``DatabaseError`` after putting the uses back, for the next flush.
    """
    if not _uses.waiting():
        return  # the common case: no lock, no query
    pending = _uses.take()
    if not pending:
        return
    field = ClientSecret._meta.get_field("last_used_at")
    minutes = {secret_id: Value(datetime.fromtimestamp(minute, UTC), output_field=field) for secret_id, minute in pending.items()}
    latest = Case(
        *(When(pk=secret_id, then=Greatest(Coalesce("last_used_at", moment), moment)) for secret_id, moment in minutes.items()),
        output_field=DateTimeField(),
    )
    try:
        ClientSecret.objects.filter(pk__in=list(pending)).update(last_used_at=latest)
    except DatabaseError:
        _uses.put_back(pending)
        raise
    _uses.stored(pending)


def discard_secret_uses() -> None:
    """Forget the uses this process noted and has not stored (tests)."""
    _uses.clear()
