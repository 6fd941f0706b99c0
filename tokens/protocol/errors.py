"""OAuth errors that know their RFC shape: code, HTTP status and the headers they need.

RFC 6749 §5.2 (token endpoint), RFC 6750 §3.1 (protected resources). Protocol code raises them;
``tokens.exceptions`` is the only place they become responses.
"""

from typing import ClassVar


class OAuthError(Exception):
    """Base of every error the OAuth endpoints answer with (RFC 6749 §5.2)."""

    error: ClassVar[str] = "invalid_request"
    status_code: ClassVar[int] = 400
    default_description: ClassVar[str] = "The request is invalid."

    def __init__(self, description: str | None = None) -> None:
        self.description = description or self.default_description
        super().__init__(self.description)

    @property
    def headers(self) -> dict[str, str]:
        return {}

    def as_dict(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    """Client authentication failed; §5.2 asks for 401 and a challenge for the scheme used."""

    error = "invalid_client"
    status_code = 401
    default_description = "Client authentication failed."

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Basic realm="oauth"'}


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"
    default_description = "This client may not use this grant type."


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"
    default_description = "The grant type is not supported."


class InvalidScope(OAuthError):
    error = "invalid_scope"
    default_description = "The requested scope is invalid, unknown or malformed."


class AccessDenied(OAuthError):
    """An authenticated client asked for something it is not allowed (e.g. introspection)."""

    error = "access_denied"
    status_code = 403
    default_description = "This client is not allowed to use this endpoint."


class MethodNotAllowed(OAuthError):
    status_code = 405
    default_description = "Method not allowed."

    def __init__(self, description: str | None = None, *, allowed: str = "POST") -> None:
        super().__init__(description)
        self.allowed = allowed

    @property
    def headers(self) -> dict[str, str]:
        return {"Allow": self.allowed}


class RequestTooLarge(OAuthError):
    status_code = 413
    default_description = "The request body is too large."


class LengthRequired(OAuthError):
    """A chunked body (RFC 9112 §7.1) that the WSGI server does not hand over whole: 411.

    RFC 9110 §15.5.12. Under gunicorn, which de-chunks, it never happens; a server that does not
    (``manage.py runserver``) would otherwise make the body look empty.
    """

    status_code = 411
    default_description = "This server cannot read a chunked body; send it with a Content-Length."


class TemporarilyUnavailable(OAuthError):
    error = "temporarily_unavailable"
    status_code = 503
    default_description = "The server is temporarily unable to handle the request."


class TooManyRequests(OAuthError):
    """Too many failed authentications or tokens: 429 (RFC 6585 §4) with ``Retry-After``.

    RFC 6749 defines no rate-limit code for the token endpoint; ``temporarily_unavailable`` is
    the registered code (§4.1.2.1) that every client already reads as "try again later", while
    ``slow_down`` (RFC 8628 §3.5) means "poll the device endpoint more slowly" and would mislead.
    """

    error = "temporarily_unavailable"
    status_code = 429
    default_description = "Too many requests; try again later."

    def __init__(self, description: str | None = None, *, retry_after: int) -> None:
        super().__init__(description)
        self.retry_after = max(1, retry_after)

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class BearerError(OAuthError):
    """RFC 6750 §3: errors of a protected resource, challenged with the Bearer scheme."""

    realm: ClassVar[str] = "api"

    @property
    def headers(self) -> dict[str, str]:
        parts = [f'Bearer realm="{self.realm}"']
        if self.error:
            parts.append(f'error="{self.error}"')
            parts.append(f'error_description="{_quotable(self.description)}"')
        return {"WWW-Authenticate": ", ".join(parts)}


class MissingToken(BearerError):
    """§3.1: a request with no authentication carries no error code, only the challenge."""

    error = ""
    status_code = 401
    default_description = "An access token is required."

    def as_dict(self) -> dict[str, str]:
        return {"error": "invalid_request", "error_description": self.description}


class InvalidToken(BearerError):
    error = "invalid_token"
    status_code = 401
    default_description = "The access token is invalid, expired or revoked."


class InsufficientScope(BearerError):
    error = "insufficient_scope"
    status_code = 403
    default_description = "The access token does not carry the scope this request needs."

    def __init__(self, scope: str | None = None, description: str | None = None) -> None:
        super().__init__(description)
        self.scope = scope  # None when the refusal is not about scope (a view's own permission)

    @property
    def headers(self) -> dict[str, str]:
        challenge = super().headers["WWW-Authenticate"]
        if self.scope is None:
            return {"WWW-Authenticate": challenge}
        return {"WWW-Authenticate": f'{challenge}, scope="{self.scope}"'}

    def as_dict(self) -> dict[str, str]:
        if self.scope is None:
            return super().as_dict()
        return {**super().as_dict(), "scope": self.scope}


def _quotable(text: str) -> str:
    """Fit text into a quoted-string of a challenge: printable ASCII without quotes or backslashes."""
    return "".join(char for char in text if " " <= char <= "~" and char not in '"\\')
