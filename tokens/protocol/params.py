"""Request parameters: one value each, empty means absent (RFC 6749 §3.1, §3.2)."""

from collections.abc import Iterable

from .errors import InvalidRequest


def single_valued(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Collapse (name, value) pairs into one value per name.

    §3.1/§3.2: parameters sent without a value are treated as omitted, and no parameter may be
    included more than once.
    """
    values: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in pairs:
        if name in seen:
            raise InvalidRequest(f"The parameter '{name}' is given more than once.")
        seen.add(name)
        if value != "":
            values[name] = value
    return values
