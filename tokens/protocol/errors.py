"""OAuth errors that know their RFC shape: code, HTTP status and the headers they need.

RFC 6749 §5.2 (token endpoint), RFC 6750 §3.1 (protected resources). Protocol code raises them;
``tokens.exceptions`` is the only place they become responses.
"""

import re
from typing import ClassVar

# RFC 6749 §5.2 error_description and RFC 6750 §3 scope: %x20-21 / %x23-5B / %x5D-7E.
_OUTSIDE_ERROR_CHARSET = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")

# RFC 8414 names of the methods whose failure is challenged with Basic (RFC 6749 §5.2): the client
# used the Authorization header, or sent no credentials and should learn which scheme to use.
CHALLENGED_METHODS = frozenset({"client_secret_basic", "none"})


def sanitize_error_text(text: str) -> str:
    """Confine text to the characters of RFC 6749 §5.2 ``error_description`` (and RFC 6750 ``scope``).

    Printable ASCII except ``"`` and ``\\``: each other character (a quote, a backslash, a control
    character, a line separator, any non-ASCII letter, a lone surrogate) becomes one ``?``, so
    echoed input stays readable and in place, and the result fits a quoted-string unescaped.
    """
    return _OUTSIDE_ERROR_CHARSET.sub("?", text)


class OAuthError(Exception):
    """Base of every error the OAuth endpoints answer with (RFC 6749 §5.2).

    ``description`` always holds only the characters §5.2 allows, whatever it was given or set
    to (see ``sanitize_error_text``), so input echoed into it is safe in every response format
    and in a ``WWW-Authenticate`` challenge.
    """

    error: ClassVar[str] = "invalid_request"
    status_code: ClassVar[int] = 400
    default_description: ClassVar[str] = "The request is invalid."

    def __init__(self, description: str | None = None) -> None:
        self.description = description or self.default_description
        super().__init__(self.description)

    @property
    def description(self) -> str:
        return self._description

    @description.setter
    def description(self, text: str) -> None:
        self._description = sanitize_error_text(text)

    @property
    def headers(self) -> dict[str, str]:
        return {}

    def as_dict(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    """Client authentication failed: 401, challenged with Basic only when that is what the client used.

    RFC 6749 §5.2: a client that tried the ``Authorization`` header gets a challenge for that
    scheme. ``method`` names what the client did (RFC 8414 names): ``client_secret_basic`` and
    ``none`` (no credentials at all) are challenged; a client that authenticated in the body
    (``client_secret_post``) gets none, because clients such as oauth4webapi and openid-client read
    a challenge on a 401 instead of the ``invalid_client`` body. (RFC 9110 §15.5.2 wants a
    challenge on every 401; RFC 6749 only requires it after the ``Authorization`` header.)
    """

    error = "invalid_client"
    status_code = 401
    default_description = "Client authentication failed."

    def __init__(self, description: str | None = None, *, method: str = "none") -> None:
        super().__init__(description)
        self.method = method

    @property
    def headers(self) -> dict[str, str]:
        if self.method not in CHALLENGED_METHODS:
            return {}
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


class InvalidTarget(OAuthError):
    """A ``resource`` that is not an absolute URI without a fragment, or not one the client may ask for (RFC 8707 §2)."""

    error = "invalid_target"
    default_description = "The requested resource is invalid, unknown or not allowed."


class AccessDenied(OAuthError):
    """An authenticated client asked for something it is not allowed (e.g. introspection)."""

    error = "access_denied"
    status_code = 403
    default_description = "This client is not allowed to use this endpoint."


class MethodNotAllowed(OAuthError):
    """405 (RFC 9110 §15.5.6) with ``Allow``; ``method`` is the refused one, named in the description."""

    status_code = 405
    default_description = "Method not allowed."

    def __init__(self, description: str | None = None, *, allowed: str = "POST", method: str = "") -> None:
        super().__init__(description or (f"Method '{method}' not allowed." if method else None))
        self.allowed = allowed

    @property
    def headers(self) -> dict[str, str]:
        return {"Allow": self.allowed}


class UnknownRealm(OAuthError):
    """404: no enabled realm of that name serves here (CONTRACT.md "Realms"); unknown and disabled look alike."""

    status_code = 404
    default_description = "No such realm."


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
            # No '"' or '\\' can be in a description: the quoted-string needs no escaping.
            parts.append(f'error_description="{self.description}"')
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
    """§3.1: the token lacks a scope; ``scope`` (space-delimited) names every scope needed.

    §3 allows only scope-token characters and spaces in the ``scope`` attribute, the set
    ``sanitize_error_text`` keeps, so a scope a view names with other characters shows with ``?``.
    """

    error = "insufficient_scope"
    status_code = 403
    default_description = "The access token does not carry the scope this request needs."

    def __init__(self, scope: str | None = None, description: str | None = None) -> None:
        super().__init__(description)
        self.scope = scope  # None when the refusal is not about scope (a view's own permission)

    @property
    def scope(self) -> str | None:
        return self._scope

    @scope.setter
    def scope(self, value: str | None) -> None:
        self._scope = None if value is None else sanitize_error_text(value)

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
