"""The client credentials grant (RFC 6749 §4.4): validate a token request, shape its answer."""

from collections.abc import Mapping
from dataclasses import dataclass

from .audiences import requested_resources
from .errors import InvalidRequest, UnauthorizedClient, UnsupportedGrantType
from .scopes import format_scope, parse_scope, resolve_scope

CLIENT_CREDENTIALS = "client_credentials"
RESPONSE_FORMATS = ("json", "urlencoded", "xml")


@dataclass(frozen=True, slots=True)
class TokenPolicy:
    """Server-wide rules, read from settings by the service layer."""

    default_lifetime: int
    max_lifetime: int
    default_token_format: str
    client_credentials_enabled: bool = True


@dataclass(frozen=True, slots=True)
class RegisteredClient:
    """What the grant needs to know of an authenticated client."""

    client_id: str
    environment: str
    allowed_scopes: frozenset[str]
    default_scopes: frozenset[str]
    client_credentials_enabled: bool
    token_format: str  # "" means the server default
    lifetime: int | None


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """A syntactically valid token request, before the client is known."""

    grant_type: str
    scope: frozenset[str]
    validity_period: int | None
    resources: tuple[str, ...] = ()  # RFC 8707 §2: the audiences asked for, checked, in request order


@dataclass(frozen=True, slots=True)
class Grant:
    """What the client gets: scope, lifetime in seconds and token format."""

    scope: frozenset[str]
    lifetime: int
    token_format: str


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """The successful response of §5.1 (never a refresh token for this grant, §4.4.3)."""

    access_token: str
    expires_in: int
    scope: str
    token_type: str = "Bearer"

    def as_dict(self) -> dict[str, str | int]:
        return {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "scope": self.scope,
        }


def read_token_request(params: Mapping[str, str], policy: TokenPolicy) -> TokenRequest:
    """Check the request's own parameters (§4.4.2) before anyone is authenticated."""
    grant_type = params.get("grant_type")
    if not grant_type:
        raise InvalidRequest("The grant_type parameter is required.")
    if grant_type != CLIENT_CREDENTIALS or not policy.client_credentials_enabled:
        raise UnsupportedGrantType(f"The grant type '{grant_type[:64]}' is not supported.")
    response_format = params.get("format")
    if response_format is not None and response_format not in RESPONSE_FORMATS:
        raise InvalidRequest("The format parameter must be json, urlencoded or xml.")
    return TokenRequest(
        grant_type=grant_type,
        scope=parse_scope(params.get("scope")),
        validity_period=_read_validity_period(params.get("validity_period")),
        resources=requested_resources(params),
    )


def _read_validity_period(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or not value.strip("0"):
        raise InvalidRequest("validity_period must be a whole number of seconds, at least 1.")
    # Longer periods are capped later; don't let a 5,000-digit number reach int().
    return int(value) if len(value) <= 12 else 10**12


def grant_client_credentials(
    request: TokenRequest, client: RegisteredClient, policy: TokenPolicy
) -> Grant:
    """Decide scope, lifetime and format for an authenticated client (§4.4.2, §3.3).

    The lifetime comes from the request, then the client, then the server, and is capped by the
    server's maximum rather than refused.
    """
    if not client.client_credentials_enabled:
        raise UnauthorizedClient("This application may not use the client_credentials grant.")
    scope = resolve_scope(
        request.scope, allowed=client.allowed_scopes, default=client.default_scopes
    )
    lifetime = request.validity_period or client.lifetime or policy.default_lifetime
    return Grant(
        scope=scope,
        lifetime=min(lifetime, policy.max_lifetime),
        token_format=client.token_format or policy.default_token_format,
    )


def build_token_response(access_token: str, grant: Grant) -> TokenResponse:
    """Shape the §5.1 response for a granted token."""
    return TokenResponse(
        access_token=access_token, expires_in=grant.lifetime, scope=format_scope(grant.scope)
    )
