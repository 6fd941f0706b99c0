"""``jwks`` mode: verify JWT access tokens (RFC 9068) locally against their issuer's JWK Set (RFC 7517).

The API trusts one issuer or several (realms), each with its own metadata and keys.

No call to the server for a token once its key is known; revocations are not seen, so a token
is good until its ``exp``.
"""

import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from django.views.decorators.debug import sensitive_variables
from jwt import PyJWKClient
from jwt.exceptions import PyJWKClientError

from tokens.protocol.dpop import DPoPProof
from tokens.protocol.errors import InvalidToken, TemporarilyUnavailable
from tokens.protocol.formats import (
    CLOCK_SKEW_SECONDS,
    TokenClaims,
    decode_jwt,
    is_plausible_token,
    looks_like_jwt,
    unverified_issuer,
    unverified_kid,
)
from tokens.protocol.keys import PublishedKey, load_published_key

from .caches import ExpiringCache
from .config import ResourceServerConfig
from .dpop import remember_in_cache
from .discovery import Discovery
from .transport import IssuerUnreachable

logger = logging.getLogger(__name__)

REFETCH_SECONDS = 1.0  # an unknown kid fetches the JWKS again at most this often


def _in_a_thread(refresh: Callable[[], None]) -> None:
    threading.Thread(target=refresh, name="jwks-refresh", daemon=True).start()


class KeySet:
    """The issuer's signing keys as this process last fetched them from ``jwks_uri``.

    Fetched on first need, again once older than ``max_age`` seconds (in a thread of its own,
    while requests go on with the keys they have), and again when a token
    names a ``kid`` not in it (at most once every ``REFETCH_SECONDS``: garbage kids cannot turn
    into a flood of fetches). When a fetch fails the last good keys stay in use and the failure
    is logged; only a process that has never fetched them answers ``IssuerUnreachable``, trying
    again at most once every ``REFETCH_SECONDS`` too.
    PyJWT's ``PyJWKClient`` does the fetching (timeout, no redirects, http(s) only); keys are
    loaded only for the algorithms the API configured, each pinned to its JWK's ``alg``.
    """

    def __init__(
        self,
        discovery: Discovery,
        *,
        algorithms: tuple[str, ...],
        max_age: float,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
        in_background: Callable[[Callable[[], None]], None] = _in_a_thread,
    ) -> None:
        """``in_background`` runs the refresh of a stale set; tests pass one that runs it at once."""
        self._discovery = discovery
        self._in_background = in_background
        self._algorithms = algorithms
        self._max_age = max_age
        self._timeout = timeout
        self._clock = clock
        self._keys: dict[str, PublishedKey] | None = None
        self._fetched_at = float("-inf")
        self._tried_at = float("-inf")
        self._failing = False  # the last fetch failed
        self._lock = threading.Lock()

    def find(self, kid: str) -> PublishedKey | None:
        """The key named kid, fetching the set again if it is stale or lacks kid; None if unknown."""
        now = self._clock()
        keys = self._keys
        if keys is not None and kid in keys:
            if now - self._fetched_at >= self._max_age and now - self._tried_at >= REFETCH_SECONDS and not self._lock.locked():
                # Stale: fetched again beside this request, which goes on with the key it has, so a
                # server that hangs delays no request.
                self._in_background(functools.partial(self._refresh, wait=False))
                current = self._keys  # the new set, if the refresh is done already (even an empty one)
                return (current if current is not None else keys).get(kid)
            return keys[kid]
        if keys is None or now - self._tried_at >= REFETCH_SECONDS:
            self._refresh(wait=keys is None)
        key = (self._keys or {}).get(kid)
        if key is None and self._failing:
            # Perhaps a key the server rotated to while it cannot be reached: "try again", not "invalid".
            raise IssuerUnreachable("the JWKS could not be fetched to look for a new key")
        return key

    def _refresh(self, *, wait: bool) -> None:
        # One fetch at a time; while it runs, other threads go on with the keys they have.
        if not self._lock.acquire(blocking=wait):
            return
        try:
            if self._clock() - self._tried_at < REFETCH_SECONDS:
                if self._keys is None:  # the first fetch failed a moment ago: no request waits on another
                    raise IssuerUnreachable("the JWKS could not be fetched a moment ago")
                return  # another thread just fetched
            self._tried_at = self._clock()
            try:
                self._keys = self._fetch()
                self._fetched_at = self._tried_at
                self._failing = False
            except IssuerUnreachable as exc:
                self._failing = True
                if self._keys is None:
                    logger.warning("JWKS unavailable, no token can be verified until it is fetched: %s", exc)
                    raise
                logger.warning("JWKS refresh failed, still verifying with the keys fetched before: %s", exc)
        finally:
            self._lock.release()

    def _fetch(self) -> dict[str, PublishedKey]:
        url = self._discovery.endpoint("jwks_uri")
        try:
            document = PyJWKClient(url, cache_jwk_set=False, timeout=self._timeout).fetch_data()
        # ValueError: a body that is not JSON; OSError: a connection reset while the body is read,
        # which PyJWT lets through (it wraps only errors of opening the connection).
        except (PyJWKClientError, ValueError, OSError) as exc:
            raise IssuerUnreachable(f"GET {url}: {exc}") from None
        if not isinstance(document.get("keys"), list):
            raise IssuerUnreachable(f"GET {url}: not a JWK Set")
        keys = {key.kid: key for key in (self._load(jwk) for jwk in document["keys"]) if key}
        if not keys:
            logger.warning("the JWKS at %s has no key for the algorithms this API allows (%s)", url, ", ".join(self._algorithms))
        return keys

    def _load(self, jwk: Any) -> PublishedKey | None:
        if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
            return None
        kid, algorithm = jwk.get("kid"), jwk.get("alg")
        if not isinstance(kid, str) or algorithm not in self._algorithms:
            return None  # RFC 8725 §3.1: only what the API allows, and the key's own alg
        try:
            return load_published_key(kid=kid, algorithm=algorithm, jwk=jwk)
        except Exception:  # PyJWT raises several types for a malformed JWK; one bad key must not hide the rest
            logger.warning("JWKS: ignoring key %r, which could not be loaded", kid)
            return None


class JWKSVerifier:
    """Verify a JWT access token's signature and RFC 9068 claims; remember verified ones until ``exp``.

    Each trusted issuer (one ``Discovery`` each) has a ``KeySet`` of its own. With several, a
    token goes to the keys of the issuer its unverified ``iss`` names, and is then verified with
    those keys alone and ``iss`` checked against that issuer (RFC 8725 §3.8): a token of realm A
    whose ``kid`` names a key of realm B is refused. An ``iss`` none of them costs no HTTP call.
    """

    def __init__(
        self,
        config: ResourceServerConfig,
        discoveries: Sequence[Discovery],
        *,
        clock: Callable[[], float] = time.time,
        keys_clock: Callable[[], float] = time.monotonic,
        in_background: Callable[[Callable[[], None]], None] = _in_a_thread,
    ) -> None:
        """``clock`` tells the tokens' times (``exp``, ``iat``); ``keys_clock`` paces the JWKS fetches (``KeySet``)."""
        self._audiences = config.audiences
        self._algorithms = list(config.algorithms)
        self._clock = clock
        self._key_sets = {
            discovery.issuer: KeySet(
                discovery, algorithms=config.algorithms, max_age=config.jwks_max_age, timeout=config.timeout,
                clock=keys_clock, in_background=in_background,
            )
            for discovery in discoveries
        }
        # One issuer (the common case): every token goes to its keys, without reading iss first.
        self._only = next(iter(self._key_sets.items())) if len(self._key_sets) == 1 else None
        self._verified = ExpiringCache(config.cache_size, clock=clock)

    @sensitive_variables("token", "remembered")  # never in error reports' frame variables
    def verify(self, token: str) -> TokenClaims:
        """The token's claims, or ``InvalidToken``; ``TemporarilyUnavailable`` if its issuer's keys could never be fetched."""
        if not is_plausible_token(token) or not looks_like_jwt(token):
            raise InvalidToken()
        now = self._clock()
        remembered = self._verified.get(token)
        if remembered is not None:
            claims, keys, kid = remembered[0]
            if keys.find(kid) is not None:  # still published: a key dropped from the JWKS ends its tokens
                return claims
        issuer, keys = self._only or self._issuer_of(token)
        try:
            claims = decode_jwt(
                token, find_key=keys.find, issuer=issuer, audience=self._audiences, algorithms=self._algorithms, now=int(now),
            )
        except IssuerUnreachable:
            raise TemporarilyUnavailable("The authorization server's keys could not be fetched.") from None
        if claims.iat > now + CLOCK_SKEW_SECONDS:
            raise InvalidToken("The access token is not valid: it was issued in the future.")
        self._verified.put(token, (claims, keys, unverified_kid(token)), expires_at=claims.exp)
        return claims

    def remember_proof(self, proof: DPoPProof, *, now: int) -> bool:
        """Record one use of a DPoP proof in this API's own cache (``resource_server.dpop``); False if used before."""
        return remember_in_cache(proof, now=now)

    def _issuer_of(self, token: str) -> tuple[str, KeySet]:
        issuer = unverified_issuer(token)
        keys = self._key_sets.get(issuer)
        if keys is None:
            raise InvalidToken("The access token is not valid: its issuer is not one this API trusts.")
        return issuer, keys
