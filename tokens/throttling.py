"""Rate limits on token issuance, counted in the shared cache (Redis when ``REDIS_URL`` is set).

Token issuance may be rate-limited per client id within its realm: by its application's own limit
(``Application.token_rate_limit``), else by ``OAUTH_TOKEN_RATE_LIMIT``; per client, not per
address, as many services share one NAT address. Without ``REDIS_URL`` each worker process
counts on its own (docs/security.md). Failure lockouts are ``clients.lockout``'s.
"""

import time
from collections.abc import Callable

from django.conf import settings

from cluster.shared_cache import fail_open, increment

from .protocol.errors import TooManyRequests
from .protocol.throttling import RateLimit

clock: Callable[[], float] = time.time  # replaced in tests


def throttle_token_issuance(*, client_id: str, realm: str, rate_limit: RateLimit | None = None) -> None:
    """Count a token request of an authenticated client of a realm; past its limit, 429 (RFC 6585 §4).

    ``rate_limit`` is its application's own; None falls back to ``OAUTH_TOKEN_RATE_LIMIT``. The
    count is per realm, client id and window, whatever the limit: changing it takes effect at once.
    """
    rate = rate_limit or RateLimit.parse(settings.OAUTH_TOKEN_RATE_LIMIT)
    if rate is not None:
        _count_token_request(f"{realm}:{client_id}", rate)


@fail_open(purpose="throttling", passthrough=(TooManyRequests,))
def _count_token_request(counted: str, rate: RateLimit) -> None:
    window, retry_after = rate.window(clock())
    if increment(f"rate:token:{counted}:{window}", rate.period) > rate.limit:
        raise TooManyRequests("Too many token requests for this client; try again later.", retry_after=retry_after)
