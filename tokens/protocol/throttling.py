"""Rules that slow down guessing and flooding: failure lockouts, rate limits, the caller's address.

Plain values only: the counting itself lives in ``tokens.throttling`` (the Django cache). RFC 6749
§10.10 asks the server to make guessing credentials hard; RFC 6585 §4 gives the 429 answer.
"""

import ipaddress
import math
import re
from dataclasses import dataclass

_PERIODS = {"s": 1, "second": 1, "m": 60, "minute": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*$")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    """``threshold`` failures within ``window`` seconds lock the identity for ``window`` seconds."""

    threshold: int
    window: int

    @property
    def enabled(self) -> bool:
        return self.threshold > 0 and self.window > 0


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``limit`` requests per fixed window of ``period`` seconds."""

    limit: int
    period: int

    @classmethod
    def parse(cls, text: str) -> "RateLimit | None":
        """Read ``"100/minute"``, ``"10/s"`` or ``"500/5m"``; empty or ``"off"`` means no limit."""
        if not text or text.strip().lower() in ("off", "none", "0"):
            return None
        match = _RATE.match(text.lower())
        if not match or match.group(3) not in _PERIODS:
            raise ValueError(f"Rate limit {text!r} is not like '100/minute'.")
        count, multiple, unit = int(match.group(1)), int(match.group(2) or 1), match.group(3)
        if count < 1 or multiple < 1:
            raise ValueError(f"Rate limit {text!r} must allow at least one request per period.")
        return cls(limit=count, period=multiple * _PERIODS[unit])

    def window(self, now: float) -> tuple[int, int]:
        """The index of the window now falls in, and the whole seconds until it ends (at least 1)."""
        index = int(now // self.period)
        return index, max(1, math.ceil((index + 1) * self.period - now))


def seconds_until(moment: float, now: float) -> int:
    """Whole seconds from now until moment, rounded up: what ``Retry-After`` says."""
    return max(1, math.ceil(moment - now))


def parse_networks(values: list[str]) -> tuple[IPNetwork, ...]:
    """Read trusted proxy addresses or CIDR ranges (``10.0.0.0/8``, ``::1``)."""
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values if value.strip())


def client_address(remote_addr: str, forwarded_for: str, trusted_proxies: tuple[IPNetwork, ...]) -> str:
    """The address a request came from, reading ``X-Forwarded-For`` only through trusted proxies.

    Walks the header from the right (the hop our own proxy added) and stops at the first address
    that is not a trusted proxy: everything left of it was written by the client and may be forged.
    """
    if not trusted_proxies or not _is_trusted(remote_addr, trusted_proxies):
        return remote_addr
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted_proxies):
            return hop[:64]
    return hops[0][:64] if hops else remote_addr


def _is_trusted(address: str, trusted_proxies: tuple[IPNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted_proxies)
