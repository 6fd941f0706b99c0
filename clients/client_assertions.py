"""Checking a client's JWT assertion (``private_key_jwt``, RFC 7523 §3): its keys, its audience, its jti.

The keys come from the key pair (``KeyPair.jwks``) or from the client's ``jwks_uri``. A fetched
set is kept per process for ``JWKS_CACHE_SECONDS``; an assertion naming a ``kid`` the set lacks
fetches it again, at most once per ``JWKS_REFETCH_SECONDS`` per URL, so a client that rotated its
key is followed within seconds while a flood of made-up kids costs its server one fetch every few
seconds. A fetch is bounded: ``JWKS_FETCH_TIMEOUT`` seconds for the whole answer, ``MAX_JWKS_BYTES``,
no redirect followed, 200 only. While a URL does not answer, the set last fetched stays in use.

A ``jti`` is accepted once for its assertion's life, across processes and instances (RFC 7523 §3
item 7). It is recorded with an atomic ``add`` in the shared cache (Redis); without a shared
cache, or while it fails, in the database (``UsedClientAssertion``, a unique key): this check
fails closed, never open. ``cleartokens`` deletes the expired rows.
"""

import hashlib
import json
import threading
import time
from datetime import UTC, datetime

import urllib3
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import IntegrityError, transaction

from cluster.shared_cache import call_shared_cache
from tokens.protocol.bounded_bodies import BodyRefused, read_bounded
from tokens.protocol.client_assertion import (
    CLOCK_SKEW,
    AssertionRejected,
    ClientKeySet,
    UnknownKey,
    VerifiedAssertion,
    read_client_jwks,
    verify_client_assertion,
)

from .models import AuthMethod, UsedClientAssertion
from .realms import realm_urls
from .registry import Client

JWKS_FETCH_TIMEOUT = 3.0  # seconds, for connecting and for the whole answer
MAX_JWKS_BYTES = 64 * 1024
JWKS_CACHE_SECONDS = 300
JWKS_REFETCH_SECONDS = 5.0
USER_AGENT = "oauthserver-client-jwks/1"
# The endpoints a client authenticates at, by their metadata name: each accepts its own URL as ``aud``.
ENDPOINTS = ("token_endpoint", "introspection_endpoint", "revocation_endpoint")


def check_client_assertion(client: Client, *, assertion: str, realm: str, endpoint: str, now: int) -> str | None:
    """None when the assertion authenticates client at endpoint of realm (and its jti is now used), else why not.

    ``aud`` may be the realm's issuer, its token endpoint, or the URL of ``endpoint`` (one of
    ``ENDPOINTS``). ``now`` is in epoch seconds. The reason is for the audit, never the caller.
    """
    if client.auth_method != AuthMethod.PRIVATE_KEY_JWT:
        return "auth_method_not_registered"
    urls = realm_urls(realm)
    audiences = {urls["issuer"], urls["token_endpoint"], urls[endpoint]}
    try:
        verified = _verify(client, assertion, audiences, now)
    except AssertionRejected as rejected:
        return f"assertion_{rejected.reason}"
    if not use_jti(verified, now=now):
        return "assertion_replayed"
    return None


def _verify(client: Client, assertion: str, audiences: set[str], now: int) -> VerifiedAssertion:
    if client.jwks is not None:
        keys = _inline_key_set(client.jwks)
        return verify_client_assertion(assertion, client_id=client.client_id, keys=keys, audiences=audiences, now=now)
    try:
        keys = _remote_key_sets.get(client.jwks_uri)
        return verify_client_assertion(assertion, client_id=client.client_id, keys=keys, audiences=audiences, now=now)
    except UnknownKey:
        keys = _remote_key_sets.get(client.jwks_uri, refresh=True)
        return verify_client_assertion(assertion, client_id=client.client_id, keys=keys, audiences=audiences, now=now)


# Parsed inline sets by their JSON text: a registered set is parsed once per process, not per request.
_inline_sets: dict[str, ClientKeySet] = {}
_MAX_INLINE_SETS = 1000


def _inline_key_set(jwks: dict) -> ClientKeySet:
    text = json.dumps(jwks, sort_keys=True)
    keys = _inline_sets.get(text)
    if keys is None:
        try:
            keys = read_client_jwks(jwks)
        except ValueError:  # registered before a rule tightened, or edited in the database
            raise AssertionRejected("registered_jwks_invalid") from None
        if len(_inline_sets) >= _MAX_INLINE_SETS:
            _inline_sets.clear()
        _inline_sets[text] = keys
    return keys


class JWKSUnavailable(Exception):
    """A jwks_uri did not give a usable JWK Set: unreachable, slow, too large, not 200, or not a set of public keys."""


def fetch_client_jwks(uri: str) -> ClientKeySet:
    """GET a client's JWK Set from uri, bounded in time and size, following no redirect; raise ``JWKSUnavailable``."""
    try:
        response = _pool.request(
            "GET", uri, headers={"Accept": "application/json", "User-Agent": USER_AGENT},
            preload_content=False, redirect=False,
        )
    except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
        raise JWKSUnavailable(type(exc).__name__) from None
    try:
        if response.status != 200:
            raise JWKSUnavailable(f"status {response.status}")
        body = read_bounded(response, max_bytes=MAX_JWKS_BYTES, seconds=JWKS_FETCH_TIMEOUT, chunk=16384)
    except BodyRefused as exc:
        raise JWKSUnavailable(str(exc)) from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise JWKSUnavailable(type(exc).__name__) from None
    finally:
        response.close()  # never reused half-read; a JWKS fetch is rare
    try:
        return read_client_jwks(json.loads(body))
    except (ValueError, RecursionError) as exc:
        raise JWKSUnavailable(f"not a JWK Set of public keys: {exc}") from None


_pool = urllib3.PoolManager(
    num_pools=20,
    timeout=urllib3.Timeout(connect=JWKS_FETCH_TIMEOUT, read=JWKS_FETCH_TIMEOUT),
    retries=urllib3.Retry(total=0, redirect=0, raise_on_redirect=False),
)


class _RemoteKeySets:
    """Fetched JWK Sets by URL: (set or None, when fetched, when last tried), in monotonic seconds."""

    def __init__(self) -> None:
        self._sets: dict[str, tuple[ClientKeySet | None, float, float]] = {}
        self._lock = threading.Lock()

    def get(self, uri: str, *, refresh: bool = False) -> ClientKeySet:
        """The set at uri, fetched when absent, older than the cache time, or (refresh) at most every few seconds."""
        now = time.monotonic()
        with self._lock:
            keys, fetched_at, tried_at = self._sets.get(uri, (None, float("-inf"), float("-inf")))
            due = keys is None or now - fetched_at > JWKS_CACHE_SECONDS or refresh
            if due and now - tried_at >= JWKS_REFETCH_SECONDS:
                self._sets[uri] = (keys, fetched_at, now)  # other threads wait for the next interval
            else:
                due = False
        if due:
            try:
                keys = fetch_client_jwks(uri)
                with self._lock:
                    if len(self._sets) >= _MAX_INLINE_SETS:
                        self._sets.clear()
                    self._sets[uri] = (keys, time.monotonic(), now)
            except JWKSUnavailable:
                pass  # the set fetched last, if any, stays in use
        if keys is None:
            raise AssertionRejected("jwks_uri_unavailable")
        return keys

    def clear(self) -> None:
        with self._lock:
            self._sets.clear()


_remote_key_sets = _RemoteKeySets()


def forget_client_key_sets() -> None:
    """Drop this process's fetched and parsed JWK Sets (tests, as a restart would)."""
    _remote_key_sets.clear()
    _inline_sets.clear()


def use_jti(verified: VerifiedAssertion, *, now: int) -> bool:
    """Record the assertion's jti as used until it expires; False when it was already (RFC 7523 §3 item 7).

    The shared cache's atomic ``add`` first; the database when there is no shared cache or it fails.
    """
    digest = hashlib.sha256(f"{verified.client_id}\x00{verified.jti}".encode("utf-8", "surrogatepass")).hexdigest()
    lifetime = max(1, verified.exp + CLOCK_SKEW - now)
    cache = caches["default"]
    if not isinstance(cache, LocMemCache):
        added = call_shared_cache(
            lambda: cache.add(f"client-assertion-jti:{digest}", 1, lifetime),
            fallback=None, purpose="client assertion replay check",
        )
        if added is not None:
            return bool(added)
    return _use_jti_in_database(digest, expires_at=datetime.fromtimestamp(now + lifetime, tz=UTC), now=now)


def _use_jti_in_database(digest: str, *, expires_at: datetime, now: int) -> bool:
    try:
        with transaction.atomic():
            UsedClientAssertion.objects.create(digest=digest, expires_at=expires_at)
        return True
    except IntegrityError:
        # Seen before: usable again only once that assertion has expired (a jti a client reuses later).
        expired = UsedClientAssertion.objects.filter(digest=digest, expires_at__lte=datetime.fromtimestamp(now, tz=UTC))
        return expired.update(expires_at=expires_at) == 1


def delete_expired_jtis(*, now: datetime) -> int:
    """Delete the recorded jtis whose assertions have expired; return how many."""
    return UsedClientAssertion.objects.filter(expires_at__lte=now).delete()[0]
