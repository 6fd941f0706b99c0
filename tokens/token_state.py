"""Whether an issued token is live: the database is the truth, the cache a short-lived copy.

A resource server checks every request, so the state of a token (``live`` or ``revoked``) is
cached by ``jti`` for at most ``OAUTH_TOKEN_STATE_CACHE_SECONDS`` and never past the token's
expiry. An entry the cache dropped (LocMemCache evicts) only costs one query: a miss always asks
the database. How soon a revocation is seen:

- with per-process caches (LocMemCache), at once by every process of the same host: revoking
  touches a stamp file in ``VAR_DIR``, and a ``live`` entry older than the stamp counts as a miss
  (one ``stat`` per check, no query); on other hosts within ``OAUTH_TOKEN_STATE_CACHE_SECONDS``.
- with a shared cache (Redis), revoking writes ``revoked`` into it and counts the revocation in a
  shared generation number. Each process also keeps the states it read for itself, so that a
  check costs no round trip to Redis, and reads the generation at most every
  ``OAUTH_REVOCATION_POLL_SECONDS`` (default 1): a ``live`` entry read before a newer generation
  counts as a miss. So a revocation is seen at once by the process that made it and within that
  many seconds by every other process of every instance; 0 asks Redis on every check.
"""

import os
import threading
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
_GENERATION_KEY = "oauth:token-revocations"
_PROCESS_STATES_MAX = 10_000


def _key(jti: str) -> str:
    return f"oauth:token-state:{jti}"


def token_state(*, jti: str, expires_at: int, now: datetime) -> str:
    """The state of the token named jti: from this process, else the cache, else one query."""
    if (state := _process_states.get(jti, now)) is not None:
        return state
    # Both taken before the reads, so that a revocation racing them makes what is read stale.
    generation, checked_at = _process_states.generation(), time.time()
    entry = cache.get(_key(jti))
    if entry is not None:
        state, cached_at = entry
        if state != LIVE or not _revoked_on_this_host_since(cached_at):
            _process_states.put(jti, state, checked_at=cached_at, expires_at=expires_at, generation=generation)
            return state
    rows = list(AccessToken.objects.filter(jti=jti).values_list("revoked_at", flat=True)[:1])
    state = UNKNOWN if not rows else REVOKED if rows[0] is not None else LIVE
    remember_state(jti=jti, state=state, expires_at=expires_at, now=now, checked_at=checked_at, generation=generation)
    return state


def remember_state(
    *, jti: str, state: str, expires_at: int, now: datetime, checked_at: float | None = None, generation: int | None = None
) -> None:
    """Cache a state read from the database at checked_at, for the bounded time and never past expiry.

    generation is ``revocation_generation()`` taken before that read; without it the state is
    only put in the shared cache, not kept by this process.
    """
    checked_at = checked_at or time.time()
    timeout = min(settings.OAUTH_TOKEN_STATE_CACHE_SECONDS, int(expires_at - now.timestamp()))
    if timeout > 0:
        cache.set(_key(jti), (state, checked_at), timeout)
        if generation is not None:
            _process_states.put(jti, state, checked_at=checked_at, expires_at=expires_at, generation=generation)


def revocation_generation() -> int:
    """How many revocations this process knows of: take it before reading a token's state."""
    return _process_states.generation()


def remember_revoked(jtis: Iterable[str]) -> None:
    """Mark tokens revoked in the cache, and tell the other processes (see above)."""
    now = time.time()
    jtis = list(jtis)
    cache.set_many({_key(jti): (REVOKED, now) for jti in jtis}, settings.OAUTH_TOKEN_STATE_CACHE_SECONDS)
    if _cache_is_per_process():
        stamp_revocation()
    else:
        _process_states.revoke(jtis)


def forget_token_states() -> None:
    """Drop what this process remembers of token states (as a cache eviction would)."""
    _process_states.clear()


def stamp_revocation() -> None:
    """Tell the other processes of this host that their ``live`` entries may be stale."""
    try:
        _stamp_path().parent.mkdir(parents=True, exist_ok=True)
        _stamp_path().touch()
    except OSError:  # a read-only folder: other processes fall back on the time bound
        pass


class _ProcessStates:
    """With a shared cache: the states this process read, valid while no revocation is known since.

    Each entry carries the revocation generation current when it was stored; the generation is
    read from the shared cache at most every ``OAUTH_REVOCATION_POLL_SECONDS``. Without a shared
    cache this stays empty: the per-process cache already is this, with the host's stamp file.
    """

    def __init__(self) -> None:
        self._states: dict[str, tuple[str, float, int, int]] = {}  # jti: (state, until, expires, generation)
        self._generation = 0
        self._polled_at = float("-inf")
        self._lock = threading.Lock()

    def get(self, jti: str, now: datetime) -> str | None:
        entry = self._states.get(jti)
        if entry is None:
            return None
        state, until, expires_at, generation = entry
        moment = now.timestamp()
        if moment >= until or moment >= expires_at or (state == LIVE and generation != self.generation()):
            self._states.pop(jti, None)
            return None
        return state

    def put(self, jti: str, state: str, *, checked_at: float, expires_at: int, generation: int) -> None:
        if _cache_is_per_process() or _poll_seconds() <= 0:
            return
        until = checked_at + settings.OAUTH_TOKEN_STATE_CACHE_SECONDS
        if len(self._states) >= _PROCESS_STATES_MAX:
            self._states.clear()
        self._states[jti] = (state, until, expires_at, generation)

    def revoke(self, jtis: list[str]) -> None:
        """Count a revocation in the shared generation; this process sees it at once."""
        cache.add(_GENERATION_KEY, 0, None)
        generation = cache.incr(_GENERATION_KEY)
        with self._lock:
            self._generation, self._polled_at = generation, time.monotonic()
        for jti in jtis:
            self._states.pop(jti, None)

    def clear(self) -> None:
        self._states.clear()
        self._polled_at = float("-inf")

    def generation(self) -> int:
        if _cache_is_per_process() or _poll_seconds() <= 0:
            return 0  # nothing is kept here: no need to ask
        if time.monotonic() - self._polled_at >= _poll_seconds():
            with self._lock:
                self._generation = cache.get(_GENERATION_KEY) or 0
                self._polled_at = time.monotonic()
        return self._generation


_process_states = _ProcessStates()


def _poll_seconds() -> float:
    # An API project that installs this one and predates the setting keeps working: 1 s, as here.
    return getattr(settings, "OAUTH_REVOCATION_POLL_SECONDS", 1.0)


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
