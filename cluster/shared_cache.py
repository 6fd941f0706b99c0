"""Calls to the shared cache (Redis) that never fail a request: a fallback, and one log line per outage.

Every use of the shared cache here is an optimisation or a hint (throttling counters, change
announcements), so a call that fails returns the caller's fallback: the caller then reads the
database, or lets the request through where failing open is the documented choice (throttling).
The start and the end of an outage are logged once each per process, as a warning without a
traceback. While an outage lasts, the cache is tried again at most every ``RETRY_SECONDS``;
calls in between get their fallback at once, so a Redis that hangs costs each process one socket
timeout a second, not one per request.
"""

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache

T = TypeVar("T")
logger = logging.getLogger(__name__)

RETRY_SECONDS = 1.0


class _Outage:
    def __init__(self) -> None:
        self.failing = False
        self.retry_at = float("-inf")
        self.count = 0  # outages this process has seen
        self.lock = threading.Lock()


_outage = _Outage()


def call_shared_cache(
    call: Callable[[], T], *, fallback: T, purpose: str, passthrough: tuple[type[Exception], ...] = ()
) -> T:
    """call() (which uses the shared cache), or fallback when the cache fails or is known to be failing.

    purpose names what is lost meanwhile, for the log line. Exceptions of the passthrough types
    are the caller's own answers (a 429) and propagate.
    """
    if _outage.failing and time.monotonic() < _outage.retry_at:
        return fallback
    try:
        result = call()
    except passthrough:
        raise
    except Exception as exc:  # redis, django-redis and socket errors have no common base
        _begin_outage(purpose, exc)
        return fallback
    if _outage.failing:
        _end_outage()
    return result


def shared_cache_failing() -> bool:
    """Whether this process's last call to the shared cache failed."""
    return _outage.failing


def shared_cache_outages() -> int:
    """How many outages this process has seen: it changes when one begins."""
    return _outage.count


def forget_shared_cache_outage() -> None:
    """Count the cache as reachable again (tests, after simulating an outage)."""
    with _outage.lock:
        _outage.failing, _outage.retry_at = False, float("-inf")


def _begin_outage(purpose: str, exc: Exception) -> None:
    with _outage.lock:
        first = not _outage.failing
        _outage.failing, _outage.retry_at = True, time.monotonic() + RETRY_SECONDS
        if first:
            _outage.count += 1
    if first:
        # The exception's type only: its text may carry the cache's URL, password included.
        logger.warning(
            "shared cache unreachable (%s, noticed by %s): until it is back, throttling is skipped and "
            "token states and signing keys are read from the database",
            type(exc).__name__, purpose,
        )


def _end_outage() -> None:
    with _outage.lock:
        was_failing, _outage.failing = _outage.failing, False
    if was_failing:
        logger.warning("shared cache reachable again")


def fail_open(*, purpose: str, passthrough: tuple[type[Exception], ...] = ()):
    """Decorate a function that uses the shared cache so that it returns None while the cache fails.

    For counting (lockouts, rate limits): an outage of Redis must not become an outage of the
    token endpoint, and 256-bit secrets do not fall to a short window of unthrottled guessing.
    The passthrough exceptions (a 429) propagate. Decorate only code that does call the cache: a
    call that returns without touching it would count as the cache being reachable again.
    """

    def decorate(function):
        @functools.wraps(function)
        def guarded(*args, **kwargs):
            return call_shared_cache(
                lambda: function(*args, **kwargs), fallback=None, purpose=purpose, passthrough=passthrough
            )

        return guarded

    return decorate


def increment(key: str, timeout: int) -> int:
    """Atomically add one to the counter under key, which lives timeout seconds from its first count."""
    cache.add(key, 0, timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout)
        return 1
