"""Tell every process that something changed: at once on this host, within a bound elsewhere.

A change (a signing key rotation, a token revocation, a changed application, key pair or realm) is announced after its transaction commits,
and each process compares the change's *version* with the one it last acted on:

- on this host, a stamp file under ``VAR_DIR`` that every process maps into its memory
  (``mmap``): an announcement writes new random bytes into it, and a check reads them from memory,
  so every worker of the host sees it at once without a system call per check (a ``stat`` per
  check let a thread of a gthread worker lose the GIL to its neighbours three times a request);
- with a shared cache (Redis), a random value under the change's key, read at most every
  ``OAUTH_REVOCATION_POLL_SECONDS``, so every instance sharing it sees it within that bound. The
  value is random rather than a counter so that it cannot come back after Redis restarts empty
  (a counter starting again from 0 can climb back to the number a process last read).

Without a shared cache, other hosts learn of a change only through their own time bound (for
keys, ``OAUTH_KEY_CACHE_SECONDS``; for token states, ``OAUTH_TOKEN_STATE_CACHE_SECONDS``).
While the shared cache fails (``cluster.shared_cache``), every ``version()`` differs from every
other, so whatever a process keeps is re-read from the database on each use: slower, still
correct. An announcement that could not reach the cache is written again once it is back.
"""

import itertools
import logging
import mmap
import os
import secrets
import threading
import time

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.core.cache.backends.locmem import LocMemCache

from .shared_cache import call_shared_cache, shared_cache_failing, shared_cache_outages

logger = logging.getLogger(__name__)

# (the host's stamp, shared value, outages seen by this process, changes made here)
Version = tuple[bytes, str, int, int]
STAMP_BYTES = 16
_FAILED = object()
_unique = itertools.count()


class Announcement:
    """One kind of change that every process must learn of (see the module's docstring)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._shared_value = ""
        self._unpublished: str | None = None  # announced while the cache failed: written when it is back
        self._polled_at = float("-inf")
        self._lock = threading.Lock()
        # Threads of one process (gthread workers) may poll at once; the value read last in time
        # wins, so a slow poll that read before an announcement cannot bring back the older value.
        self._reads = itertools.count()
        self._stored_read = -1
        self._changes_here = 0
        self._var_dir: object = None
        self._map: mmap.mmap | None = None

    def announce_on_commit(self) -> None:
        """Announce once the current transaction commits; this process sees the change at once.

        Its own next ``version()`` differs now (its transaction may already read the change), and
        again after the commit, for what it read in between.
        """
        self._changed_here()

        def announce() -> None:
            self._changed_here()
            self.announce()

        transaction.on_commit(announce, robust=True)

    def _changed_here(self) -> None:
        with self._lock:
            self._changes_here += 1

    def announce(self) -> None:
        """Make every process's next ``version()`` differ from what it read before this call; never raises."""
        stamp = self._stamp()
        if stamp is not None:
            stamp[:STAMP_BYTES] = secrets.token_bytes(STAMP_BYTES)  # seen by every process that maps the file
        if _shared_cache() is not None:
            with self._lock:
                self._unpublished = secrets.token_hex(16)
            self._publish()

    def version(self) -> Version:
        """What this process knows of the change now: compare it with the one last acted on."""
        stamp = self._stamp()
        host = stamp[:STAMP_BYTES] if stamp is not None else b""
        shared = self._poll_shared()
        if shared_cache_failing():
            shared = f"unknown {next(_unique)}"  # equal to nothing kept: everything is read again
        return host, shared, shared_cache_outages(), self._changes_here

    def _publish(self) -> None:
        value = self._unpublished
        if value is None:
            return
        read = next(self._reads)
        stored = call_shared_cache(
            lambda: _shared_cache().set(self._cache_key(), value, None) or True,
            fallback=False,
            purpose=f"announcing {self.name}",
        )
        if stored:
            with self._lock:
                if self._unpublished == value:
                    self._unpublished = None
                self._store(read, value)

    def _poll_shared(self) -> str:
        # Checked on every token request: the clock first, the cache only when a poll is due.
        poll_seconds = getattr(settings, "OAUTH_REVOCATION_POLL_SECONDS", 1.0)
        if time.monotonic() - self._polled_at < poll_seconds:
            return self._shared_value
        if _shared_cache() is None:
            self._shared_value, self._polled_at = "", time.monotonic()
            return ""
        self._publish()
        read = next(self._reads)
        value = call_shared_cache(
            lambda: _shared_cache().get(self._cache_key()), fallback=_FAILED, purpose=f"polling {self.name}"
        )
        with self._lock:
            if value is not _FAILED:
                self._store(read, value or "")
            self._polled_at = time.monotonic()
        return self._shared_value

    def _store(self, read: int, value: str) -> None:
        """Keep value, read from the cache as the read-th access, unless a later one is kept (lock held)."""
        if read > self._stored_read:
            self._shared_value, self._stored_read = value, read
        self._polled_at = time.monotonic()

    def _cache_key(self) -> str:
        return f"oauth:announcement:{self.name}"

    def _stamp(self) -> mmap.mmap | None:
        """This host's stamp file for the change, mapped once per ``VAR_DIR``; None if it cannot be."""
        var_dir = settings.VAR_DIR
        if var_dir is not self._var_dir:
            with self._lock:
                if var_dir is not self._var_dir:
                    self._map = _map_stamp(os.path.join(var_dir, f"{self.name}.stamp"))
                    self._var_dir = var_dir
        return self._map

    def forget(self) -> None:
        """Poll the shared cache at the next look, as a process starting afresh would (tests)."""
        with self._lock:
            self._polled_at, self._shared_value = float("-inf"), ""


def _map_stamp(path: str) -> mmap.mmap | None:
    """The stamp file at path, made if missing, mapped shared into this process's memory."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if os.fstat(descriptor).st_size < STAMP_BYTES:
                os.ftruncate(descriptor, STAMP_BYTES)  # only ever grows it: a racing process did the same
            return mmap.mmap(descriptor, STAMP_BYTES)
        finally:
            os.close(descriptor)  # the mapping stays
    except (OSError, ValueError):  # a read-only folder: this host's other processes fall back on the time bound
        logger.warning("could not map %s; other workers see changes within their time bound", path)
        return None


def _shared_cache():
    """The default cache when it is shared between processes (not Django's per-process LocMemCache)."""
    cache = caches["default"]
    return None if isinstance(cache, LocMemCache) else cache


signing_keys_changed = Announcement("signing-keys")
clients_changed = Announcement("clients")
tokens_revoked = Announcement("token-revocations")
realms_changed = Announcement("realms")
