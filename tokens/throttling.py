"""Counting failures and requests in the shared cache (Redis when ``REDIS_URL`` is set).

Failed client authentications lock out the client id and the source address that failed
(``OAUTH_LOCKOUT_*``); portal and admin sign-ins are counted the same way by username. A locked
caller is answered 429 before its secret is looked at. Token issuance may be rate-limited per
client id (``OAUTH_TOKEN_RATE_LIMIT``): per client, not per address, as many services share
one NAT address. The cost on a good request is one cache read (two keys).
"""

import functools
import hashlib
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache

from .protocol.errors import TooManyRequests
from .protocol.throttling import LockoutPolicy, RateLimit, seconds_until
from .shared_cache import call_shared_cache

clock: Callable[[], float] = time.time  # replaced in tests
logger = logging.getLogger(__name__)

CLIENT_AUTHENTICATION = "client"
SIGN_IN = "sign_in"


def lockout_policy() -> LockoutPolicy:
    """Freeze the lockout rules from the current settings."""
    return LockoutPolicy(threshold=settings.OAUTH_LOCKOUT_THRESHOLD, window=settings.OAUTH_LOCKOUT_WINDOW)


def _fail_open(function):
    """Let requests through while the cache is unreachable, logged once per outage
    (``tokens.shared_cache``): an outage of Redis must not become an outage of the token endpoint,
    and 256-bit secrets do not fall to a short window of unthrottled guessing. ``TooManyRequests``
    passes through."""

    @functools.wraps(function)
    def guarded(*args, **kwargs):
        return call_shared_cache(
            lambda: function(*args, **kwargs), fallback=None, purpose="throttling", passthrough=(TooManyRequests,)
        )

    return guarded


@_fail_open
def check_lockout(*, kind: str, identities: dict[str, str]) -> None:
    """Raise ``TooManyRequests`` while any of the identities (client id, address) is locked out."""
    if not lockout_policy().enabled:
        return
    keys = [_lock_key(kind, name, value) for name, value in identities.items() if value]
    now = clock()
    locked_until = max((until for until in cache.get_many(keys).values() if until > now), default=None)
    if locked_until is not None:
        raise TooManyRequests(
            "Too many failed authentication attempts; try again later.",
            retry_after=seconds_until(locked_until, now),
        )


@_fail_open
def record_failure(*, kind: str, identities: dict[str, str]) -> None:
    """Count one failed attempt for each identity; reaching the threshold locks it for the window."""
    policy = lockout_policy()
    if not policy.enabled:
        return
    now = clock()
    for name, value in identities.items():
        if not value:
            continue
        count_key = f"failures:{kind}:{name}:{_digest(value)}"
        if _increment(count_key, policy.window) >= policy.threshold:
            cache.set(_lock_key(kind, name, value), now + policy.window, policy.window)
            cache.delete(count_key)  # the next window starts counting from zero


def check_client_lockout(*, client_id: str, address: str) -> None:
    """Refuse (429) a client authentication from a locked-out client id or address."""
    check_lockout(kind=CLIENT_AUTHENTICATION, identities={"client_id": client_id, "address": address})


def record_client_failure(*, client_id: str, address: str) -> None:
    """Count a failed client authentication against the client id as sent and the address."""
    record_failure(kind=CLIENT_AUTHENTICATION, identities={"client_id": client_id, "address": address})


def check_sign_in_lockout(*, username: str, address: str) -> None:
    """Refuse (429) a portal or admin sign-in for a locked-out username or address."""
    check_lockout(kind=SIGN_IN, identities={"username": username.lower(), "address": address})


def record_sign_in_failure(*, username: str, address: str) -> None:
    """Count a failed sign-in against the username and the address."""
    record_failure(kind=SIGN_IN, identities={"username": username.lower(), "address": address})


@_fail_open
def throttle_token_issuance(*, client_id: str) -> None:
    """Count a token request of an authenticated client; past ``OAUTH_TOKEN_RATE_LIMIT``, 429."""
    rate = RateLimit.parse(settings.OAUTH_TOKEN_RATE_LIMIT)
    if rate is None:
        return
    window, retry_after = rate.window(clock())
    if _increment(f"rate:token:{client_id}:{window}", rate.period) > rate.limit:
        raise TooManyRequests("Too many token requests for this client; try again later.", retry_after=retry_after)


def _lock_key(kind: str, name: str, value: str) -> str:
    return f"lockout:{kind}:{name}:{_digest(value)}"


def _digest(value: str) -> str:
    # Cache keys stay short and printable whatever a client sends as its id.
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _increment(key: str, timeout: int) -> int:
    """Atomically add one to a counter that lives timeout seconds from its first count."""
    cache.add(key, 0, timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout)
        return 1
