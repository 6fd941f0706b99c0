"""Every per-process cache of token facts, and how each learns that it is out of date.

A resource server checks a token on every request, so each process keeps what it can:

- JWTs it has verified, by the token itself: their signature and claims never change. Expiry,
  issuer, audience and that the key is still published are checked again on every use.
- Opaque tokens' claims, by hash, as read from their records (with their realm's issuer, which
  every use compares with the realm asked), for at most
  ``OAUTH_TOKEN_STATE_CACHE_SECONDS``: then the record is read again, so a token whose record
  cleartokens deleted is unknown again.
- The revoked set: the realm and ``jti`` of every unexpired token revoked one by one (RFC 7009),
  with its expiry, kept until it expires even once its row is gone. Read in full at start and every
  ``OAUTH_TOKEN_STATE_CACHE_SECONDS``; in between, each
  time the ``token-revocations`` announcement changes (``cluster.announcements``: at once on this
  host, within ``OAUTH_REVOCATION_POLL_SECONDS`` on instances sharing Redis) only what was revoked
  since the last read, with a margin for clocks and long transactions. While the shared cache
  fails, the announcement changes on every look, so each check reads what changed: slower, never
  stale.

Whether a client still exists, is active and revoked everything before some moment is the
clients registry's (``clients.registry``). Nothing of a token is kept in the shared cache: nothing
written there can make a revoked token live again. The first two caches are emptied when full.
"""

import threading
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from cluster.announcements import Version, tokens_revoked

from .protocol.formats import TokenClaims
from .records import revoked_since

_VERIFIED_MAX = 4096
_OPAQUE_MAX = 10_000
# Revocations are read again from this long before the last read: the revoking host's clock may
# be behind ours, and its transaction may have begun well before it committed.
REVOKED_SINCE_MARGIN = timedelta(minutes=5)


class _Bounded:
    """A dict emptied when it reaches its size: bounded memory, whatever callers send."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: dict = {}

    def get(self, key):
        return self._items.get(key)

    def put(self, key, value) -> None:
        if len(self._items) >= self._size:
            self._items.clear()
        self._items[key] = value

    def clear(self) -> None:
        self._items.clear()


verified_jwts = _Bounded(_VERIFIED_MAX)  # token -> (TokenClaims, kid)
_opaque_claims = _Bounded(_OPAQUE_MAX)  # token hash -> (TokenClaims, monotonic time it goes stale)


def opaque_claims(token_hash: str) -> TokenClaims | None:
    """The claims this process read of the opaque token with this hash, while still fresh."""
    kept = _opaque_claims.get(token_hash)
    if kept is None or time.monotonic() >= kept[1]:
        return None
    return kept[0]


def remember_opaque_claims(token_hash: str, claims: TokenClaims) -> None:
    """Keep the claims read from an opaque token's record for ``OAUTH_TOKEN_STATE_CACHE_SECONDS``."""
    _opaque_claims.put(token_hash, (claims, time.monotonic() + settings.OAUTH_TOKEN_STATE_CACHE_SECONDS))


class _RevokedSet:
    def __init__(self) -> None:
        self._expiries: dict[tuple[str, str], int] = {}  # (realm name, jti) -> exp
        self._version: Version | None = None
        self._read_at: datetime | None = None  # when the last read began, by this host's clock
        self._full_read_due = float("-inf")
        self._lock = threading.Lock()

    def contains(self, realm: str, jti: str, *, now: datetime) -> bool:
        version = tokens_revoked.version()  # before the read: a revocation racing it is read next time
        if version != self._version or time.monotonic() >= self._full_read_due:
            self._read(version)
        expiry = self._expiries.get((realm, jti))
        return expiry is not None and expiry > now.timestamp()

    def _read(self, version: Version) -> None:
        started, full = timezone.now(), time.monotonic() >= self._full_read_due
        since = None if full or self._read_at is None else self._read_at - REVOKED_SINCE_MARGIN
        rows = revoked_since(since, now=started)
        with self._lock:
            if since is None:
                # Added to, never replaced: a revocation is for good, and cleartokens may since have
                # deleted an opaque token's row while this process still keeps its claims.
                moment = started.timestamp()
                self._expiries = {jti: expiry for jti, expiry in self._expiries.items() if expiry > moment}
                self._full_read_due = time.monotonic() + settings.OAUTH_TOKEN_STATE_CACHE_SECONDS
            self._expiries.update(rows)
            self._version, self._read_at = version, started

    def forget(self) -> None:
        with self._lock:
            self._expiries, self._version, self._read_at = {}, None, None
            self._full_read_due = float("-inf")


_revoked = _RevokedSet()


def is_revoked(claims: TokenClaims, *, realm: str, now: datetime) -> bool:
    """Whether the token of the realm named realm was revoked one by one, as this process knows (no query, mostly)."""
    return _revoked.contains(realm, claims.jti, now=now)


def forget_token_facts() -> None:
    """Drop everything this process keeps of tokens (as a restart would)."""
    verified_jwts.clear()
    _opaque_claims.clear()
    _revoked.forget()
