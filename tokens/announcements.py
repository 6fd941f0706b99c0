"""Tell every process that something changed: at once on this host, within a bound elsewhere.

A change (a signing key rotation) is announced after its transaction commits, and each process
compares the change's *version* with the one it last acted on:

- on this host, a stamp file under ``VAR_DIR``, replaced atomically on each announcement: one
  ``stat`` per check, so every worker of the host sees it at once;
- with a shared cache (Redis), a random value under the change's key, read at most every
  ``OAUTH_REVOCATION_POLL_SECONDS``, so every instance sharing it sees it within that bound. The
  value is random rather than a counter so that it cannot come back after Redis restarts empty
  (a counter starting again from 0 can climb back to the number a process last read).

Without a shared cache, other hosts learn of a change only through their own time bound (for
keys, ``OAUTH_KEY_CACHE_SECONDS``). A failing cache is "no news", logged once per outage; the time
bound still holds.
"""

import logging
import os
import secrets
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache

logger = logging.getLogger(__name__)

Version = tuple[int, int, str]  # (stamp file inode, its mtime in ns, shared value)


class Announcement:
    """One kind of change that every process must learn of (see the module's docstring)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._shared_value = ""
        self._polled_at = float("-inf")
        self._cache_failing = False
        self._lock = threading.Lock()

    def announce(self) -> None:
        """Make every process's next ``version()`` differ from what it read before this call."""
        path = self._stamp_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            scratch = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
            scratch.write_text(secrets.token_hex(8))
            os.replace(scratch, path)  # a new inode: a change even within one tick of the file clock
        except OSError:  # a read-only folder: this host's other processes fall back on the time bound
            logger.warning("could not write %s; other workers see the change within their time bound", path)
        if _shared_cache() is not None:
            value = secrets.token_hex(16)
            if self._cache_call(lambda cache: cache.set(self._cache_key(), value, None)) is not _FAILED:
                with self._lock:
                    self._shared_value, self._polled_at = value, time.monotonic()

    def version(self) -> Version:
        """What this process knows of the change now: compare it with the one last acted on."""
        try:
            stat = os.stat(self._stamp_path())
            inode, modified = stat.st_ino, stat.st_mtime_ns
        except OSError:
            inode, modified = 0, 0
        return inode, modified, self._poll_shared()

    def _poll_shared(self) -> str:
        if _shared_cache() is None:
            return ""
        poll_seconds = getattr(settings, "OAUTH_REVOCATION_POLL_SECONDS", 1.0)
        if time.monotonic() - self._polled_at >= poll_seconds:
            value = self._cache_call(lambda cache: cache.get(self._cache_key()))
            with self._lock:
                if value is not _FAILED:
                    self._shared_value = value or ""
                self._polled_at = time.monotonic()
        return self._shared_value

    def _cache_call(self, call):
        try:
            result = call(_shared_cache())
        except Exception:  # any backend's connection error: the cache is optional here
            if not self._cache_failing:
                logger.warning("shared cache unreachable; %s changes reach other instances by time bound only", self.name)
            self._cache_failing = True
            return _FAILED
        if self._cache_failing:
            logger.warning("shared cache reachable again; %s changes propagate through it", self.name)
        self._cache_failing = False
        return result

    def _cache_key(self) -> str:
        return f"oauth:announcement:{self.name}"

    def _stamp_path(self) -> Path:
        return Path(settings.VAR_DIR) / f"{self.name}.stamp"


_FAILED = object()


def _shared_cache():
    """The default cache when it is shared between processes (not Django's per-process LocMemCache)."""
    cache = caches["default"]
    return None if isinstance(cache, LocMemCache) else cache


signing_keys_changed = Announcement("signing-keys")
