"""Find an issuer's endpoints from its RFC 8414 metadata, once per process (one ``Discovery`` per trusted issuer)."""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from .transport import IssuerUnreachable, Transport

logger = logging.getLogger(__name__)

WELL_KNOWN = "/.well-known/oauth-authorization-server"
RETRY_SECONDS = 1.0  # a failed discovery is tried again at most this often


def metadata_url_for(issuer: str) -> str:
    """Where an issuer publishes its metadata (RFC 8414 §3.1): the well-known path before the issuer's own path."""
    parts = urlsplit(issuer)
    return f"{parts.scheme}://{parts.netloc}{WELL_KNOWN}{parts.path.rstrip('/')}"


class Discovery:
    """The metadata document of ``issuer``, fetched on first need and kept for the life of the process.

    Read from ``metadata_url`` if given, else from the issuer's well-known URL (§3.1).
    ``endpoint(name)`` returns one of its URLs (``jwks_uri``, ``introspection_endpoint``) or
    raises ``IssuerUnreachable``: the server did not answer, or its document is not the
    issuer's (§3.3: its ``issuer`` must be the configured one, exactly).
    """

    def __init__(
        self, issuer: str, transport: Transport, *, metadata_url: str = "", clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.issuer = issuer
        self._url = metadata_url or metadata_url_for(issuer)
        self._transport = transport
        self._clock = clock
        self._metadata: dict[str, Any] | None = None
        self._failed_at: float | None = None
        self._lock = threading.Lock()

    def endpoint(self, name: str) -> str:
        url = self._document().get(name)
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            raise IssuerUnreachable(f"the metadata at {self._url} names no {name}")
        return url

    def _document(self) -> dict[str, Any]:
        if self._metadata is not None:
            return self._metadata
        with self._lock:
            if self._metadata is None:
                if self._failed_at is not None and self._clock() - self._failed_at < RETRY_SECONDS:
                    raise IssuerUnreachable(f"the metadata at {self._url} could not be read a moment ago")
                try:
                    self._metadata = self._fetch()
                except IssuerUnreachable as exc:
                    self._failed_at = self._clock()
                    logger.warning("authorization server metadata unavailable: %s", exc)
                    raise
            return self._metadata

    def _fetch(self) -> dict[str, Any]:
        status, document = self._transport.get_json(self._url)
        if status != 200 or not isinstance(document, dict):
            raise IssuerUnreachable(f"GET {self._url}: status {status}")
        if document.get("issuer") != self.issuer:
            raise IssuerUnreachable(
                f"the metadata at {self._url} is for issuer {document.get('issuer')!r}, not {self.issuer!r}"
            )
        return document
