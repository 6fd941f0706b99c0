"""Rules that slow down guessing and flooding: failure lockouts and rate limits.

Plain values only: the counting itself lives in ``clients.lockout`` and ``tokens.throttling``. RFC 6749
§10.10 asks the server to make guessing credentials hard; RFC 6585 §4 gives the 429 answer.
"""

import math
import re
from dataclasses import dataclass

_PERIODS = {"s": 1, "second": 1, "m": 60, "minute": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*$")



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
