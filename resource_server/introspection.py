"""``introspection`` mode: ask the server's ``/oauth/introspect`` (RFC 7662) about each token, and remember the answer.

Works for every token format and sees revocations, at the price of one call per token per
``CACHE_SECONDS`` (and never past the token's ``exp``). The API authenticates with its own
resource-server credentials (HTTP Basic, RFC 6749 §2.3.1).
"""

import base64
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from django.views.decorators.debug import sensitive_variables

from tokens.protocol.dpop import DPoPProof
from tokens.protocol.errors import InvalidToken, TemporarilyUnavailable
from tokens.protocol.formats import TokenClaims, confirmed_jkt, hash_token, is_plausible_token

from .caches import ExpiringCache
from .config import ResourceServerConfig
from .dpop import remember_in_cache
from .discovery import Discovery
from .transport import IssuerUnreachable, Transport

logger = logging.getLogger(__name__)

RETRY_SECONDS = 1.0  # after a failed call, tokens without a remembered answer are 503 this long without a call
UNAVAILABLE = "The authorization server could not be asked about the token."


@sensitive_variables("client_secret", "pair")
def basic_authorization(client_id: str, client_secret: str) -> str:
    """The ``Authorization`` header for client credentials: each part form-encoded first (RFC 6749 §2.3.1)."""
    pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode("ascii")


def claims_from_introspection(answer: Mapping[str, Any], *, issuer: str, audiences: list[str], now: float) -> TokenClaims | None:
    """The claims of an introspection answer (RFC 7662 §2.2) if it describes a live token for this API, else None.

    Active, unexpired, from the configured issuer (when the answer names one) and for one of the
    API's audiences (``aud`` a string or a list, RFC 7519 §4.1.3); a ``cnf`` must be a DPoP ``jkt``.
    """
    if answer.get("active") is not True:
        return None
    exp = answer.get("exp")
    if not isinstance(exp, int) or isinstance(exp, bool) or exp <= now:
        return None
    if answer.get("iss", issuer) != issuer:
        return None
    if not isinstance(answer.get("client_id"), str) or not answer["client_id"]:
        return None  # optional in RFC 7662, but request.user is the client: as jwks mode, required
    aud = answer.get("aud")
    matched = [name for name in ([aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []) if name in audiences]
    if not matched:
        return None
    text = {name: answer.get(name) if isinstance(answer.get(name), str) else "" for name in ("sub", "client_id", "jti", "scope", "env")}
    iat = answer.get("iat")
    try:
        jkt = confirmed_jkt(answer.get("cnf"))  # RFC 9449 §6.2: the DPoP key a bound token needs
    except ValueError:
        return None  # a confirmation this API cannot check must not be read as none
    return TokenClaims(
        iss=issuer, aud=matched[0], exp=exp, iat=iat if isinstance(iat, int) and not isinstance(iat, bool) else 0,
        jkt=jkt, **text,
    )


class IntrospectionVerifier:
    """Ask the server about a token unless its answer is remembered: live ones up to ``cache_seconds``, inactive ones ``inactive_cache_seconds``.

    When a call fails, the next ``RETRY_SECONDS`` answer 503 at once: a server that is down or
    hangs is not asked again by every request, nor does every request wait ``TIMEOUT`` for it.
    """

    def __init__(
        self,
        config: ResourceServerConfig,
        discovery: Discovery,
        transport: Transport,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._discovery = discovery
        self._transport = transport
        self._clock = clock
        self._authorization = basic_authorization(config.client_id, config.client_secret)
        self._answers = ExpiringCache(config.cache_size, clock=clock)
        self._monotonic = monotonic
        self._failing_until = float("-inf")

    @sensitive_variables("token")  # never in error reports' frame variables
    def verify(self, token: str) -> TokenClaims:
        """The token's claims, or ``InvalidToken``; ``TemporarilyUnavailable`` when the server cannot say."""
        if not is_plausible_token(token):
            raise InvalidToken()
        key = hash_token(token)  # a leaked memory dump holds no usable token
        remembered = self._answers.get(key)
        if remembered is None:
            claims = self._introspect(token)
            now = self._clock()
            if claims is None:
                self._answers.put(key, None, expires_at=now + self._config.inactive_cache_seconds)
            else:
                self._answers.put(key, claims, expires_at=min(now + self._config.cache_seconds, claims.exp))
        else:
            claims = remembered[0]
        if claims is None:
            raise InvalidToken()
        return claims

    def remember_proof(self, proof: DPoPProof, *, now: int) -> bool:
        """Record one use of a DPoP proof in this API's own cache (``resource_server.dpop``); False if used before."""
        return remember_in_cache(proof, now=now)

    @sensitive_variables("token")
    def _introspect(self, token: str) -> TokenClaims | None:
        if self._monotonic() < self._failing_until:
            raise TemporarilyUnavailable(UNAVAILABLE)  # it failed a moment ago: no request waits on it again
        try:
            url = self._discovery.endpoint("introspection_endpoint")
            status, answer = self._transport.post_form(
                url, {"token": token, "token_type_hint": "access_token"}, authorization=self._authorization
            )
        except IssuerUnreachable as exc:
            self._failing_until = self._monotonic() + RETRY_SECONDS
            logger.warning("token introspection unavailable: %s", exc)
            raise TemporarilyUnavailable(UNAVAILABLE) from None
        if status == 413:
            # The token alone made the request too large (a 4,096-character token may triple when
            # form-encoded): nothing the server issued, and no sign the server is failing.
            return None
        if status != 200 or not isinstance(answer, dict) or not isinstance(answer.get("active"), bool):
            self._failing_until = self._monotonic() + RETRY_SECONDS
            logger.error("token introspection failed: %s", _what_went_wrong(status))
            raise TemporarilyUnavailable(UNAVAILABLE)
        return claims_from_introspection(answer, issuer=self._discovery.issuer, audiences=self._config.audiences, now=self._clock())


def _what_went_wrong(status: int) -> str:
    if status in (401, 403):  # a configuration error of this API, not the token's fault
        return (
            f"the server refused this API's credentials (status {status}): check CLIENT_ID and CLIENT_SECRET, "
            "and that the application is registered as a resource server"
        )
    if status == 200:
        return "the answer is not an RFC 7662 introspection response (an object with a boolean active)"
    return f"the server answered status {status}"
