"""Whether an issued token is live: the database is the truth, the cache a short-lived copy.

A resource server checks every request, so the state of a token (``live`` or ``revoked``) is
cached by ``jti`` for at most ``OAUTH_TOKEN_STATE_CACHE_SECONDS`` and never past the token's
expiry. An entry the cache dropped (LocMemCache evicts) only costs one query: a miss always asks
the database. How soon a revocation is seen:

- with a shared cache (Redis), everywhere at once: revoking writes ``revoked`` into it;
- with per-process caches (LocMemCache), at once by every process of the same host: revoking
  touches a stamp file in ``VAR_DIR``, and a ``live`` entry older than the stamp counts as a miss
  (one ``stat`` per check, no query); on other hosts within ``OAUTH_TOKEN_STATE_CACHE_SECONDS``.
"""

import os
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache

from .models import AccessToken

LIVE = "live"
REVOKED = "revoked"
UNKNOWN = "unknown"  # no row: never issued here, or removed by cleartokens
# File times come from the kernel's coarse clock (one tick, a few ms, behind time.time()), so an
# entry checked this shortly before a stamp counts as older than it: at worst one extra query.
_STAMP_CLOCK_SLACK = 0.05


def _key(jti: str) -> str:
    return f"oauth:token-state:{jti}"


def token_state(*, jti: str, expires_at: int, now: datetime) -> str:
    """The state of the token named jti: from the cache, else from one query."""
    entry = cache.get(_key(jti))
    if entry is not None:
        state, checked_at = entry
        if state != LIVE or not _revoked_on_this_host_since(checked_at):
            return state
    checked_at = time.time()  # before the read, so a revocation racing it makes the entry stale
    rows = list(AccessToken.objects.filter(jti=jti).values_list("revoked_at", flat=True)[:1])
    state = UNKNOWN if not rows else REVOKED if rows[0] is not None else LIVE
    remember_state(jti=jti, state=state, expires_at=expires_at, now=now, checked_at=checked_at)
    return state


def remember_state(*, jti: str, state: str, expires_at: int, now: datetime, checked_at: float | None = None) -> None:
    """Cache a state read from the database at checked_at, for the bounded time and never past expiry."""
    timeout = min(settings.OAUTH_TOKEN_STATE_CACHE_SECONDS, int(expires_at - now.timestamp()))
    if timeout > 0:
        cache.set(_key(jti), (state, checked_at or time.time()), timeout)


def remember_revoked(jtis: Iterable[str]) -> None:
    """Mark tokens revoked in the cache, and tell this host's other processes (see above)."""
    now = time.time()
    cache.set_many({_key(jti): (REVOKED, now) for jti in jtis}, settings.OAUTH_TOKEN_STATE_CACHE_SECONDS)
    if _cache_is_per_process():
        stamp_revocation()


def stamp_revocation() -> None:
    """Tell the other processes of this host that their ``live`` entries may be stale."""
    try:
        _stamp_path().parent.mkdir(parents=True, exist_ok=True)
        _stamp_path().touch()
    except OSError:  # a read-only folder: other processes fall back on the time bound
        pass


def _revoked_on_this_host_since(moment: float) -> bool:
    if not _cache_is_per_process():
        return False
    try:
        return os.stat(_stamp_path()).st_mtime >= moment - _STAMP_CLOCK_SLACK
    except OSError:
        return False


def _cache_is_per_process() -> bool:
    return isinstance(caches["default"], LocMemCache)


def _stamp_path() -> Path:
    return Path(settings.VAR_DIR) / "token-revoked.stamp"
