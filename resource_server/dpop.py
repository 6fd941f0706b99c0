"""DPoP-bound access tokens at a protected resource (RFC 9449 §7): the request's proof, for its token and key.

``Authorization: DPoP <token>`` comes with a ``DPoP`` proof made for this request: its method
(``htm``), its URL (``htu``), this token (``ath``), recently (``iat``), once (``jti``), and signed
with the key the token is bound to (``cnf.jkt``). The URL is the one clients call:

- ``OAUTH_RESOURCE_SERVER["PUBLIC_URL"]`` (this API's public base URL, e.g.
  ``https://api.example.com``, or with the path prefix a proxy strips) followed by the request's
  path, when set: behind a proxy, ``Host`` and the scheme this process sees are the proxy's;
- else, in database mode, ``OAUTH_ISSUER`` followed by the path (the server's own ``/api/hello``);
- else Django's ``request.build_absolute_uri`` (``ALLOWED_HOSTS``, ``USE_X_FORWARDED_HOST`` and
  ``SECURE_PROXY_SSL_HEADER`` decide what it trusts).

A used proof is remembered by the verifier's ``remember_proof``: the server's replay store in
database mode (``tokens.dpop``), this API's own Django cache in the remote modes (``remember_in_cache``).
"""

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request

from tokens.protocol.dpop import DPoPInvalidProof, DPoPInvalidToken, DPoPProof, DEFAULT_POLICY, InvalidDPoPProof
from tokens.protocol.dpop import check_proof, normalize_url, read_proof_header
from tokens.protocol.errors import TemporarilyUnavailable
from tokens.protocol.formats import TokenClaims

from .config import ResourceServerConfig

_CACHE_PREFIX = "dpop-proof:"


def request_url(request: Request, config: ResourceServerConfig) -> str:
    """The URL this request was sent to as its client saw it, without query (the module's docstring says how)."""
    if config.public_url:
        return config.public_url + request.path_info
    if config.mode == "database":
        return settings.OAUTH_ISSUER + request.path_info
    return request.build_absolute_uri(request.path)


def check_request_proof(request: Request, *, token: str, claims: TokenClaims, config: ResourceServerConfig) -> DPoPProof:
    """The request's valid proof for token; ``DPoPInvalidProof`` or ``DPoPInvalidToken`` (401, §7.1) otherwise.

    Not yet remembered: the caller's verifier does it (``remember_proof``), once everything else passed.
    """
    if not claims.jkt:
        raise DPoPInvalidToken("This access token is not bound to a DPoP key: send it with the Bearer scheme.")
    try:
        value = read_proof_header(request.META.get("HTTP_DPOP"))
        if value is None:
            raise DPoPInvalidProof("A DPoP proof is required with a DPoP access token.")
        proof = check_proof(
            value, method=request.method, urls={normalize_url(request_url(request, config))}, now=int(time.time()),
            access_token=token,
        )
    except InvalidDPoPProof as error:
        raise DPoPInvalidProof(error.description) from None
    if proof.jkt != claims.jkt:
        raise DPoPInvalidProof("The DPoP proof is not signed with the key the access token is bound to.")
    return proof


def remember_in_cache(proof: DPoPProof, *, now: int) -> bool:
    """Record one use of proof in this API's default Django cache; False if it was used before.

    Fails closed: a cache that cannot answer is ``TemporarilyUnavailable`` (503), never a pass.
    Give the API a shared cache (Redis) when it runs several processes: an in-process cache
    refuses a replay only to the process that saw the proof first.
    """
    lifetime = max(1, proof.iat + DEFAULT_POLICY.max_age + 1 - now)
    try:
        return bool(cache.add(_CACHE_PREFIX + proof.replay_key, 1, lifetime))
    except Exception:  # redis, django-redis and socket errors have no common base
        raise TemporarilyUnavailable("The DPoP replay check is unavailable.") from None
