"""Scope strings: parse, check and format them (RFC 6749 §3.3)."""

import re
from collections.abc import Iterable

from .errors import InvalidScope

# scope-token = 1*( %x21 / %x23-5B / %x5D-7E ): printable ASCII except space, '"' and '\'.
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


def is_scope_token(value: str) -> bool:
    """Tell whether value is one valid scope-token (§3.3)."""
    return bool(_SCOPE_TOKEN.fullmatch(value))


def parse_scope(value: str | None) -> frozenset[str]:
    """Split a space-delimited scope string into its tokens (§3.3); malformed is invalid_scope."""
    if not value:
        return frozenset()
    tokens = [token for token in value.split(" ") if token]
    for token in tokens:
        if not is_scope_token(token):
            raise InvalidScope("The scope parameter is malformed.")
    return frozenset(tokens)


def format_scope(scopes: Iterable[str]) -> str:
    """Join scope tokens into the canonical space-delimited, sorted string."""
    return " ".join(sorted(set(scopes)))


def resolve_scope(
    requested: frozenset[str], *, allowed: frozenset[str], default: frozenset[str]
) -> frozenset[str]:
    """Grant the requested scopes, or the defaults when none were asked (§3.3).

    Any scope the client may not have is an error: we never narrow a request silently.
    """
    if not requested:
        return default & allowed
    refused = requested - allowed
    if refused:
        raise InvalidScope(f"Scope not allowed for this client: {format_scope(refused)}.")
    return requested
