"""The one place where an ``OAuthError`` (or a DRF or database error) becomes a response.

For the OAuth endpoints (``error_response``, in the format they negotiated), for DRF views
(``handle_exception``, DRF's ``EXCEPTION_HANDLER``), and for projects that keep DRF's own
handler (``BearerException`` carries the RFC 6750 answer in the shape that handler renders).

``rest_framework.views`` is imported only when DRF's own handler is called: DRF imports the
authentication and permission classes of ``DEFAULT_*`` settings while that module is being
initialized, and ``resource_server``'s classes import this one, so importing it here would fail in
an API project that imports ``resource_server`` first (``BearerTokenAuthentication`` not yet defined).
"""

import logging
from typing import Any

from django.db import DatabaseError
from django.http import HttpResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from .protocol.errors import (
    BearerError,
    InsufficientScope,
    InvalidRequest,
    InvalidToken,
    MissingToken,
    MethodNotAllowed,
    OAuthError,
    RequestTooLarge,
    TemporarilyUnavailable,
)

logger = logging.getLogger(__name__)


class BearerException(drf.APIException):
    """Carries a protected resource's error through DRF, so any exception handler renders it right.

    An RFC 6750 ``BearerError``, or ``TemporarilyUnavailable`` (503) when the token cannot be
    checked at the moment. Not a subclass of DRF's ``AuthenticationFailed``, whose challenge DRF
    would overwrite with the bare one; the default handler copies ``auth_header`` into
    ``WWW-Authenticate`` as it is.
    """

    def __init__(self, error: BearerError | TemporarilyUnavailable) -> None:
        super().__init__(detail=error.as_dict())
        self.error = error
        self.status_code = error.status_code
        self.auth_header = error.headers.get("WWW-Authenticate")


def as_oauth_error(exc: Exception, allowed_methods: list[str], method: str = "") -> OAuthError | None:
    """Translate what DRF or the database raise into the OAuth error a client should see.

    ``method`` is the request's, for a 405. Descriptions are rebuilt, or confined to RFC 6749
    §5.2's characters by ``OAuthError`` itself, never DRF's text taken as it is.
    """
    if isinstance(exc, OAuthError):
        return exc
    if isinstance(exc, BearerException):
        return exc.error
    # DRF's own refusals on a protected resource take the RFC 6750 §3 shapes too.
    if isinstance(exc, drf.NotAuthenticated):
        return MissingToken()
    if isinstance(exc, drf.AuthenticationFailed):
        return InvalidToken()
    if isinstance(exc, drf.PermissionDenied):
        return InsufficientScope(description=str(exc.detail))
    if isinstance(exc, drf.MethodNotAllowed):
        # DRF's detail quotes the method with '"', which §5.2 forbids: name it ourselves.
        return MethodNotAllowed(method=method, allowed=", ".join(allowed_methods))
    if isinstance(exc, drf.UnsupportedMediaType):
        return InvalidRequest("The body must be application/x-www-form-urlencoded or application/json.")
    if isinstance(exc, drf.ParseError):
        return InvalidRequest("The request body could not be parsed.")
    if isinstance(exc, drf.APIException) and exc.status_code == 413:
        return RequestTooLarge()
    if isinstance(exc, DatabaseError):
        logger.exception("database error while answering an OAuth request")
        return TemporarilyUnavailable()
    return None


def handle_exception(exc: Exception, context: dict) -> Response | None:
    """DRF's exception handler: render OAuth errors in the negotiated format (RFC 6749 §5.2)."""
    view = context.get("view")
    method = getattr(context.get("request"), "method", "")
    error = as_oauth_error(exc, getattr(view, "allowed_methods", ["POST"]), method)
    if error is None:
        from rest_framework import views as drf_views  # not at import: see the module's docstring

        return drf_views.exception_handler(exc, context)  # DRF's own answer rather than a 500
    response = Response(error.as_dict(), status=error.status_code)
    for name, value in error.headers.items():
        response[name] = value
    return response


def error_response(error: OAuthError, renderer) -> HttpResponse:
    """An OAuth endpoint's answer to error (RFC 6749 §5.2), rendered by the negotiated renderer."""
    return oauth_response(renderer, error.as_dict(), error.status_code, error.headers)


def oauth_response(renderer, data: dict[str, Any] | None, status: int, headers: dict[str, str]) -> HttpResponse:
    """What every OAuth endpoint answers, success or error: never cached (RFC 6749 §5.1)."""
    content_type = f"{renderer.media_type}; charset={renderer.charset}" if renderer.charset else renderer.media_type
    response = HttpResponse(renderer().render(data, renderer.media_type), status=status, content_type=content_type)
    response["Allow"] = "POST"
    response["Vary"] = "Accept"
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    for name, value in headers.items():
        response[name] = value
    return response
