"""Resource indicators (RFC 8707): which audiences (``aud``, RFC 7519 §4.1.3) a token is for.

A token request may name, with ``resource`` once or several times, the APIs it wants a token for
(RFC 8707 §2); each must be an absolute URI (RFC 3986 §4.3) without a fragment, and one the
application is allowed, else ``invalid_target``. The token's ``aud`` is what was asked (a string
for one, an array for several), else the application's default, else its realm's own audience.
"""

import re
from collections.abc import Collection, Mapping
from urllib.parse import urlsplit

from .errors import InvalidTarget

RESOURCE = "resource"
# Longest audience kept, in characters: an API identifier, never a document.
MAX_AUDIENCE_LENGTH = 255
# Most audiences an application may be allowed, and so a token may carry.
MAX_AUDIENCES = 20

# RFC 3986 §4.3 absolute-URI = scheme ":" hier-part [ "?" query ]: a scheme, then only characters a
# URI may hold (unreserved, reserved but "#", and %XX escapes). No fragment: "#" is not among them.
_ABSOLUTE_URI = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*:(?:[A-Za-z0-9\-._~:/?\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})+"
)

# A token's ``aud``: one audience, or several in the order they were asked for.
Audience = str | tuple[str, ...]


def is_audience_uri(value: str) -> bool:
    """Whether value is an absolute URI without a fragment (RFC 8707 §2), at most ``MAX_AUDIENCE_LENGTH`` long.

    One with an authority (``scheme://``) must name a host, and a port only as a number up to
    65535 (RFC 3986 §3.2): ``https://[::1`` and ``http://:80`` are not URIs of anything.
    """
    if len(value) > MAX_AUDIENCE_LENGTH or _ABSOLUTE_URI.fullmatch(value) is None:
        return False
    if "://" not in value:
        return True  # e.g. urn:example:api
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number up to 65535
    except ValueError:
        return False
    return bool(parts.hostname)


def requested_resources(params: Mapping[str, str]) -> tuple[str, ...]:
    """Every ``resource`` of a token request, checked and without repeats, in request order.

    ``params`` is a ``RequestParams`` (which keeps the repeated values) or, from code that built
    the request itself, a plain mapping holding one. Raises ``InvalidTarget`` for any value that is
    not an absolute URI without a fragment (RFC 8707 §2).
    """
    getlist = getattr(params, "getlist", None)
    if getlist is not None:
        values = getlist(RESOURCE)
    else:
        value = params.get(RESOURCE)
        values = (value,) if value else ()
    if not values:
        return ()
    for value in values:
        if not is_audience_uri(value):
            raise InvalidTarget("Each resource must be an absolute URI without a fragment (RFC 8707).")
    return tuple(dict.fromkeys(values))


def resolve_audience(
    requested: tuple[str, ...], *, allowed: Collection[str], default: str, fallback: str
) -> Audience:
    """The ``aud`` of a token: the audiences requested, else the default, else fallback (RFC 8707 §2).

    Every requested audience must be among the allowed ones, else ``InvalidTarget``. One audience is
    a string (the common case, and what every JOSE library expects); several are a tuple.
    """
    if not requested:
        return default or fallback
    refused = [value for value in requested if value not in allowed]
    if refused:
        raise InvalidTarget(f"This application may not ask for the resource '{refused[0][:100]}'.")
    return requested[0] if len(requested) == 1 else requested


def audience_values(aud: Audience) -> tuple[str, ...]:
    """The audiences of an ``aud`` claim, one or several, as a tuple."""
    return (aud,) if isinstance(aud, str) else aud


def parse_audiences(value: str) -> tuple[str, ...]:
    """The audiences of a space-separated list as stored, without repeats; ``ValueError`` if one is not an audience URI."""
    audiences = tuple(dict.fromkeys(value.split()))
    bad = [audience for audience in audiences if not is_audience_uri(audience)]
    if bad:
        raise ValueError(f"Not an absolute URI without a fragment: {bad[0][:100]}")
    if len(audiences) > MAX_AUDIENCES:
        raise ValueError(f"At most {MAX_AUDIENCES} audiences.")
    return audiences


def format_audience(aud: Audience) -> str:
    """An ``aud`` as a record stores it: its audiences separated by spaces (none holds one)."""
    return " ".join(audience_values(aud))


def read_stored_audience(value: str, *, fallback: str) -> Audience:
    """An ``aud`` read back from ``format_audience``'s form; fallback for a record written before audiences."""
    audiences = value.split()
    if not audiences:
        return fallback
    return audiences[0] if len(audiences) == 1 else tuple(audiences)


def sandbox_variant(audience: str) -> str:
    """The audience a sandbox key pair's token carries for audience: the URI followed by ``/sandbox``.

    Production and sandbox tokens never share an ``aud``, so an API that checks its audience with
    any JOSE library refuses the other environment's tokens by itself.
    """
    return f"{audience.rstrip('/')}/sandbox"


def sandbox_audiences(aud: Audience) -> Audience:
    """``sandbox_variant`` of each audience of aud, in the same shape."""
    return sandbox_variant(aud) if isinstance(aud, str) else tuple(sandbox_variant(value) for value in aud)


def is_for_any(aud: Audience, audiences: Collection[str]) -> bool:
    """Whether one of aud's audiences is among audiences (RFC 7519 §4.1.3: the recipient must be one)."""
    return aud in audiences if isinstance(aud, str) else any(value in audiences for value in aud)
