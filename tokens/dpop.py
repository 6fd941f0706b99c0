"""DPoP at this server (RFC 9449): a request's proof, checked and then accepted only once.

The token endpoint (``tokens.services.issue_token``) and the resource side in database mode
(``resource_server.database``) both check proofs with ``tokens.protocol.dpop`` and remember the
ones they accepted here, so a proof replayed to any worker or instance is refused (§11.1):

- with a shared cache (Redis, ``REDIS_URL``): one ``SET NX`` per proof, kept until the proof's
  ``iat`` is too old to pass anyway;
- without one (an in-process cache would let a replay through on another worker), and while the
  shared cache fails: one INSERT into ``UsedDPoPProof``, whose unique key refuses a second use.
  A proof remembered in Redis just before an outage began could be used once more in the database
  during it: at most ``ProofPolicy.max_age`` seconds of exposure, for a proof an attacker must
  also have stolen.

cleartokens deletes the rows whose time has passed (``forget_used_proofs``).
"""

from datetime import UTC, datetime

from django.core.cache import caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import IntegrityError, transaction

from clients.registry import Client
from cluster.shared_cache import call_shared_cache

from .models import UsedDPoPProof
from .protocol.dpop import TOKEN_TYPE, DEFAULT_POLICY, DPoPProof, InvalidDPoPProof, check_proof, normalize_url, read_proof_header
from .protocol.errors import InvalidRequest

_CACHE_PREFIX = "dpop-proof:"


def token_request_proof(*, header: str | None, token_endpoint: str, now: int) -> DPoPProof | None:
    """The checked proof of a token request (§5), None when it has none; ``InvalidDPoPProof`` when it is wrong.

    ``htu`` must be the realm's token endpoint as its metadata names it, built from
    ``OAUTH_ISSUER`` (never from the ``Host`` header, which a proxy may rewrite), with or without
    the trailing slash this server also serves it at. Not yet remembered: ``accept_proof`` does
    that once the client has authenticated, so unauthenticated requests write nothing.
    """
    value = read_proof_header(header)
    if value is None:
        return None
    urls = {normalize_url(token_endpoint), normalize_url(token_endpoint + "/")}
    return check_proof(value, method="POST", urls=urls, now=now)


def require_proof(client: Client, proof: DPoPProof | None) -> None:
    """Refuse a token request without a proof from an application registered with ``require_dpop`` (400 invalid_request)."""
    if proof is None and client.require_dpop:
        raise InvalidRequest("This client must send a DPoP proof (RFC 9449) with its token requests.")


def accept_proof(proof: DPoPProof, *, now: int) -> None:
    """Remember proof as used; ``InvalidDPoPProof`` if it was used before (§11.1)."""
    if not remember_proof(proof, now=now):
        raise InvalidDPoPProof("The DPoP proof was used before: make a new one for each request.")


def remember_proof(proof: DPoPProof, *, now: int) -> bool:
    """Record one use of proof; False if it was recorded before, by any process sharing the cache or the database."""
    lifetime = max(1, proof.iat + DEFAULT_POLICY.max_age + 1 - now)  # seconds until its iat is too old anyway
    if not isinstance(caches["default"], LocMemCache | DummyCache):
        added = call_shared_cache(
            lambda: caches["default"].add(_CACHE_PREFIX + proof.replay_key, 1, lifetime),
            fallback=None, purpose="the DPoP replay check",
        )
        if added is not None:
            return bool(added)
    return _insert(proof.replay_key, expires_at=datetime.fromtimestamp(now + lifetime, UTC))


def forget_used_proofs(*, now: datetime) -> int:
    """Delete the used-proof rows past their time (cleartokens); how many."""
    return UsedDPoPProof.objects.filter(expires_at__lte=now).delete()[0]


def _insert(proof_key: str, *, expires_at: datetime) -> bool:
    try:
        with transaction.atomic():  # a savepoint: the conflict must not spoil a surrounding transaction
            UsedDPoPProof.objects.create(proof_key=proof_key, expires_at=expires_at)
    except IntegrityError:
        return False
    return True

