"""Who is acting in the current request, and from which address.

A middleware binds the request for its duration, so that services deep below a view (client
authentication, key generation) can name the acting user and source address without every
caller threading them through. Outside a request (management commands) both are empty.
"""

import ipaddress
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_current_request: ContextVar[HttpRequest | None] = ContextVar("current_request", default=None)


class RequestContextMiddleware:
    """Bind the request for the services it reaches (cheap: one context variable)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)


def request_address(request: HttpRequest) -> str:
    """The caller's address: ``REMOTE_ADDR``, or ``X-Forwarded-For`` as told by trusted proxies."""
    return client_address(
        request.META.get("REMOTE_ADDR", "") or "",
        request.META.get("HTTP_X_FORWARDED_FOR", ""),
        parse_networks(settings.OAUTH_TRUSTED_PROXIES),
    )


def current_address() -> str:
    """The current request's source address, or "" outside a request."""
    request = _current_request.get()
    if request is None:
        return ""
    # Asked twice on the token path (throttling, audit): worked out once per request.
    if not hasattr(request, "_source_address"):
        request._source_address = request_address(request)
    return request._source_address


def current_user():
    """The signed-in user of the current request, or None (anonymous, or no request)."""
    request = _current_request.get()
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


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
