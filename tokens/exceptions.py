"""The one place where an ``OAuthError`` (or a DRF error on an OAuth view) becomes a response."""

import logging

from django.db import DatabaseError
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import exception_handler

from .authentication import BearerException
from .protocol.errors import (
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
        return exception_handler(exc, context)  # DRF's own answer rather than a 500
    response = Response(error.as_dict(), status=error.status_code)
    for name, value in error.headers.items():
        response[name] = value
    return response
