"""Whether an issued token is live: the database is the truth, the cache a short-lived copy.

A resource server checks every request, so the state of a token (``live`` or ``revoked``) is
cached by ``jti`` for at most ``OAUTH_TOKEN_STATE_CACHE_SECONDS`` and never past the token's
expiry. Revoking writes ``revoked`` to the cache at once, so with a shared cache (Redis) every
instance sees it immediately; with per-process caches another process may answer from a ``live``
entry for at most ``OAUTH_TOKEN_STATE_CACHE_SECONDS``. An entry the cache dropped (LocMemCache
evicts) only costs one query: a miss always asks the database.
"""

from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.core.cache import cache

from .models import AccessToken

LIVE = "live"
REVOKED = "revoked"
UNKNOWN = "unknown"  # no row: never issued here, or removed by cleartokens


def _key(jti: str) -> str:
    return f"oauth:token-state:{jti}"


def _lifetime_left(expires_at: int, now: datetime) -> int:
    return int(expires_at - now.timestamp())


def token_state(*, jti: str, expires_at: int, now: datetime) -> str:
    """The state of the token named jti: from the cache, else from one query."""
    state = cache.get(_key(jti))
    if state is None:
        rows = list(AccessToken.objects.filter(jti=jti).values_list("revoked_at", flat=True)[:1])
        state = UNKNOWN if not rows else REVOKED if rows[0] is not None else LIVE
        remember_state(jti=jti, state=state, expires_at=expires_at, now=now)
    return state


def remember_state(*, jti: str, state: str, expires_at: int, now: datetime) -> None:
    """Cache a state for the bounded time, and never past the token's expiry."""
    timeout = min(settings.OAUTH_TOKEN_STATE_CACHE_SECONDS, _lifetime_left(expires_at, now))
    if timeout > 0:
        cache.set(_key(jti), state, timeout)


def remember_revoked(jtis: Iterable[str]) -> None:
    """Mark tokens revoked in the cache; expiry is checked before state, so a longer life is harmless."""
    cache.set_many({_key(jti): REVOKED for jti in jtis}, settings.OAUTH_TOKEN_STATE_CACHE_SECONDS)
