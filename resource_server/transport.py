"""HTTP to the authorization server: one pool of kept-alive connections per process (urllib3).

urllib3's ``PoolManager`` is thread-safe and keeps connections open between requests, so a warm
introspection call costs one round trip and no TCP or TLS handshake. Redirects are never
followed: the metadata names every URL this side uses. Bodies over ``MAX_RESPONSE_BYTES`` are
refused rather than read.
"""

import json
from typing import Any

import urllib3

from tokens.protocol.bounded_bodies import BodyRefused, read_bounded

MAX_RESPONSE_BYTES = 1 << 20  # 1 MiB: a metadata document or an introspection answer is a few KiB
USER_AGENT = "oauthserver-resource-server/1"


class IssuerUnreachable(Exception):
    """The authorization server did not answer usably: down, too slow, or an answer that is not JSON."""


class Transport:
    """A pooled HTTP client with one timeout (seconds) for connecting, for each read, and for reading a whole body."""

    def __init__(self, *, timeout: float, connections: int = 10) -> None:
        self._timeout = timeout
        self._pool = urllib3.PoolManager(
            num_pools=4,
            maxsize=connections,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            # One retry of a connection that could not be made; none after a read timed out, which
            # would double what a hanging server costs a request. (A kept-alive connection the
            # server closed is noticed and replaced by urllib3 before it is reused.)
            retries=urllib3.Retry(total=1, connect=1, read=0, redirect=0, status=0, other=0, raise_on_redirect=False),
        )

    def get_json(self, url: str) -> tuple[int, Any]:
        """GET url; return its status and its JSON body, or raise ``IssuerUnreachable``."""
        return self._request("GET", url, fields=None, headers={})

    def post_form(self, url: str, fields: dict[str, str], *, authorization: str) -> tuple[int, Any]:
        """POST fields as application/x-www-form-urlencoded; return status and JSON body, or raise ``IssuerUnreachable``."""
        return self._request("POST", url, fields=fields, headers={"Authorization": authorization})

    def _request(self, method: str, url: str, *, fields: dict[str, str] | None, headers: dict[str, str]) -> tuple[int, Any]:
        form = {"fields": fields, "encode_multipart": False} if fields is not None else {}
        # Passed whole: urllib3 sends a request's own headers instead of the pool's, not as well.
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **headers}
        try:
            response = self._pool.request(method, url, headers=headers, preload_content=False, redirect=False, **form)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise IssuerUnreachable(f"{method} {url}: {type(exc).__name__}") from None
        try:
            body = read_bounded(response, max_bytes=MAX_RESPONSE_BYTES, seconds=self._timeout)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            response.close()  # the rest is never read: the connection cannot be reused
            raise IssuerUnreachable(f"{method} {url}: {_reason(exc)}") from None
        response.release_conn()
        try:
            return response.status, json.loads(body)
        except (ValueError, RecursionError):
            raise IssuerUnreachable(f"{method} {url}: status {response.status}, not JSON") from None


def _reason(exc: Exception) -> str:
    """What refused the answer: the bound its body passed (``BodyRefused``), else the error's kind."""
    return f"the answer was refused: {exc}" if isinstance(exc, BodyRefused) else type(exc).__name__
