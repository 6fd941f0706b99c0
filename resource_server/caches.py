"""What a remote mode remembers about tokens it has checked, each answer until its own expiry."""

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from cachetools import TLRUCache


class ExpiringCache:
    """At most ``maxsize`` answers, each forgotten at its own expiry (seconds on ``clock``).

    Full, it forgets the least recently used first, so a flood of distinct tokens costs memory
    up to the bound and no more. Safe to share between threads. cachetools' ``TLRUCache`` keeps
    the order and the expiries; this class adds the lock and a plain get/put.
    """

    def __init__(self, maxsize: int, *, clock: Callable[[], float] = time.time) -> None:
        self._entries: TLRUCache = TLRUCache(maxsize, ttu=lambda _key, entry, _now: entry[1], timer=clock)
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> tuple[Any] | None:
        """``(value,)`` if key is remembered and unexpired, else None (so a remembered None shows)."""
        with self._lock:
            entry = self._entries.get(key)
        return None if entry is None else (entry[0],)

    def put(self, key: Hashable, value: Any, *, expires_at: float) -> None:
        """Remember value for key until expires_at; an expiry already past stores nothing."""
        with self._lock:
            self._entries[key] = (value, expires_at)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
