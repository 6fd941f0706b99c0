"""Whether an issued token is live: the database is the truth, each process keeps what it read.

A resource server checks every request, so each process keeps, per ``jti``, the state it read of
a token (``live`` or ``revoked``) with the claims its record holds, for at most
``OAUTH_TOKEN_STATE_CACHE_SECONDS`` and never past the token's expiry. A token is live only when
its record exists, is not revoked, and holds the very claims presented (``client_id``, ``sub``,
``scope``, ``iat``, ``exp``, ``env``): a JWT signed with a valid key but claims of its own is not.

A kept ``live`` state counts only while no revocation was announced since it was read
(``cluster.announcements``): at once on this host (a stamp file), within
``OAUTH_REVOCATION_POLL_SECONDS`` on every instance sharing Redis (a random value there, so a
Redis restart cannot hide one), and without Redis on other hosts within
``OAUTH_TOKEN_STATE_CACHE_SECONDS``. With the poll interval at 0 Redis is asked on every check.
While Redis fails, every check reads the database. No token state is kept in the shared cache:
nothing written there can make a revoked token live again.
"""

import threading
import time
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.db import transaction

from cluster.announcements import Version, tokens_revoked
from .models import AccessToken
from .protocol.formats import TokenClaims

LIVE = "live"
REVOKED = "revoked"
UNKNOWN = "unknown"  # no row (never issued here, or removed by cleartokens), or claims that differ from it
_PROCESS_STATES_MAX = 10_000

Record = tuple[str, str, int, int, str]  # (client_id, scope, iat, exp, env) as stored
RECORD_FIELDS = ("revoked_at", "client_id", "scope", "issued_at", "expires_at", "environment")


def record_of(claims: TokenClaims) -> Record:
    """What a token's record must hold for these claims to be the ones issued."""
    return claims.client_id, claims.scope, claims.iat, claims.exp, claims.env


def read_record(row: tuple) -> tuple[str, Record]:
    """The state and the record of a row read as ``RECORD_FIELDS``."""
    revoked_at, client_id, scope, issued_at, expires_at, environment = row
    record = (client_id, scope, int(issued_at.timestamp()), int(expires_at.timestamp()), environment)
    return (LIVE if revoked_at is None else REVOKED), record


def matching_state(claims: TokenClaims, state: str, record: Record) -> str:
    """state, unless the claims are not the record's: then ``UNKNOWN``."""
    return state if claims.sub == claims.client_id and record_of(claims) == record else UNKNOWN


def token_state(claims: TokenClaims, *, now: datetime) -> str:
    """The state of the token with these claims: from this process's memory, else one query."""
    if (kept := _process_states.get(claims.jti, now)) is not None:
        return matching_state(claims, *kept)
    version = revocations_version()  # before the read: a revocation racing it makes what is read stale
    rows = list(AccessToken.objects.filter(jti=claims.jti).values_list(*RECORD_FIELDS)[:1])
    if not rows:
        return UNKNOWN
    state, record = read_record(rows[0])
    remember_state(claims.jti, state, record, version=version, now=now)
    return matching_state(claims, state, record)


def revocations_version() -> Version:
    """What this process knows of revocations: take it before reading a token's state."""
    return tokens_revoked.version()


def remember_state(jti: str, state: str, record: Record, *, version: Version, now: datetime) -> None:
    """Keep a state read from the database after ``revocations_version()`` gave version."""
    _process_states.put(jti, state, record, version=version, now=now)


def announce_revoked(jtis: Iterable[str]) -> None:
    """Tell every process, once the current transaction commits, that these tokens are revoked.

    A failure to reach the shared cache is logged, never raised: the revocation is committed.
    """
    jtis = list(jtis)
    _process_states.forget(jtis)  # this process reads them again at once (and again after the commit)

    def announce() -> None:
        _process_states.forget(jtis)
        tokens_revoked.announce()

    transaction.on_commit(announce, robust=True)


def forget_token_states() -> None:
    """Drop what this process remembers of token states (as a restart would)."""
    _process_states.clear()


class _ProcessStates:
    """The states this process read: (state, record, until, expiry, version of revocations) by jti."""

    def __init__(self) -> None:
        self._states: dict[str, tuple[str, Record, float, int, Version]] = {}
        self._lock = threading.Lock()

    def get(self, jti: str, now: datetime) -> tuple[str, Record] | None:
        entry = self._states.get(jti)
        if entry is None:
            return None
        state, record, until, expires_at, version = entry
        moment = now.timestamp()
        if moment >= until or moment >= expires_at or (state == LIVE and version != revocations_version()):
            self._states.pop(jti, None)
            return None
        return state, record

    def put(self, jti: str, state: str, record: Record, *, version: Version, now: datetime) -> None:
        expires_at = record[3]
        if expires_at <= now.timestamp():
            return
        until = time.time() + settings.OAUTH_TOKEN_STATE_CACHE_SECONDS
        with self._lock:
            if len(self._states) >= _PROCESS_STATES_MAX:
                self._states.clear()
            self._states[jti] = (state, record, until, expires_at, version)

    def forget(self, jtis: list[str]) -> None:
        for jti in jtis:
            self._states.pop(jti, None)

    def clear(self) -> None:
        self._states.clear()


_process_states = _ProcessStates()
