"""Failure lockouts, counted in the shared cache (Redis when ``REDIS_URL`` is set).

Failed client authentications are counted per client id and per source address
(``OAUTH_LOCKOUT_*``); past the threshold, further *failing* attempts get 429. Right credentials
are never refused by a lockout, and are not even counted: the cache is consulted only once a
secret has proved wrong, so a good request costs no round trip here. Portal and admin sign-ins
are counted per (username, address) and per address, and checked before the password, which can
be guessed.

Without ``REDIS_URL`` each worker process counts on its own (docs/security.md).
"""

import hashlib
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache

from cluster.shared_cache import fail_open, increment
from tokens.protocol.errors import TooManyRequests
from tokens.protocol.throttling import LockoutPolicy, seconds_until

clock: Callable[[], float] = time.time  # replaced in tests

CLIENT_AUTHENTICATION = "client"
SIGN_IN = "sign_in"


def lockout_policy() -> LockoutPolicy:
    """Freeze the lockout rules from the current settings."""
    return LockoutPolicy(threshold=settings.OAUTH_LOCKOUT_THRESHOLD, window=settings.OAUTH_LOCKOUT_WINDOW)


# Each counted identity: its name in the cache key, the value as sent, and its own policy.
Counted = tuple[tuple[str, str, LockoutPolicy], ...]


def locked_for(*, kind: str, counted: Counted) -> int | None:
    """Seconds until the last lockout among the identities ends, or None when none is locked."""
    keys = [_lock_key(kind, name, value) for name, value, policy in counted if value and policy.enabled]
    return _locked_for(keys) if keys else None


@fail_open(purpose="throttling", passthrough=(TooManyRequests,))
def _locked_for(keys: list[str]) -> int | None:
    now = clock()
    locked_until = max((until for until in cache.get_many(keys).values() if until > now), default=None)
    return None if locked_until is None else seconds_until(locked_until, now)


def record_failure(*, kind: str, counted: Counted) -> None:
    """Count one failed attempt for each identity; reaching its threshold locks it for the window."""
    if any(value and policy.enabled for _, value, policy in counted):
        _record_failure(kind, counted)


@fail_open(purpose="throttling", passthrough=(TooManyRequests,))
def _record_failure(kind: str, counted: Counted) -> None:
    now = clock()
    for name, value, policy in counted:
        if not value or not policy.enabled:
            continue
        count_key = f"failures:{kind}:{name}:{_digest(value)}"
        if increment(count_key, policy.window) >= policy.threshold:
            cache.set(_lock_key(kind, name, value), now + policy.window, policy.window)
            cache.delete(count_key)  # the next window starts counting from zero


def record_client_failure(*, client_id: str, address: str, realm: str) -> None:
    """Count a failed client authentication in a realm; past the threshold, refuse it with 429.

    Called only once the credentials have proved wrong, so a right secret never meets a lockout
    and a good request costs no cache round trip (CONTRACT "Client credentials over their life").
    Failures are counted against the client id as sent and the address, each within the realm
    (a realm's clients cannot lock another realm's out). While either is locked,
    ``TooManyRequests`` is raised (and nothing more is counted) instead of returning: the caller
    then answers 429 rather than 401.
    """
    policy = lockout_policy()
    counted = ((f"{realm}:client_id", client_id, policy), (f"{realm}:address", address, policy))
    retry_after = locked_for(kind=CLIENT_AUTHENTICATION, counted=counted)
    if retry_after is not None:
        raise TooManyRequests("Too many failed authentication attempts; try again later.", retry_after=retry_after)
    record_failure(kind=CLIENT_AUTHENTICATION, counted=counted)


def _sign_in_counted(username: str, address: str) -> Counted:
    # Per (username, address): one person's typos, or an attacker's guesses, lock that username only
    # from that address, so nobody can lock an operator out from elsewhere. Per address, with a
    # higher threshold: password spraying over many usernames, without locking out an office
    # behind one address for a few colleagues' typos.
    policy = lockout_policy()
    per_address = LockoutPolicy(threshold=settings.OAUTH_SIGN_IN_ADDRESS_THRESHOLD, window=policy.window)
    return (("username_address", f"{username.lower()}\n{address}", policy), ("address", address, per_address))


def check_sign_in_lockout(*, username: str, address: str) -> None:
    """Refuse (429) a portal or admin sign-in while this username from this address, or the address, is locked.

    Checked before the password: a password can be guessed, so a lockout that let the right one
    through would tell a guesser which guess was right.
    """
    retry_after = locked_for(kind=SIGN_IN, counted=_sign_in_counted(username, address))
    if retry_after is not None:
        raise TooManyRequests("Too many failed sign-ins; try again later.", retry_after=retry_after)


def record_sign_in_failure(*, username: str, address: str) -> None:
    """Count a failed sign-in against the username from this address, and against the address."""
    record_failure(kind=SIGN_IN, counted=_sign_in_counted(username, address))



def _lock_key(kind: str, name: str, value: str) -> str:
    return f"lockout:{kind}:{name}:{_digest(value)}"


def _digest(value: str) -> str:
    # Cache keys stay short and printable whatever a client sends as its id.
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]
