"""Client credentials from HTTP Basic, the request body (RFC 6749 §2.3.1) or a client assertion (RFC 7523 §2.2)."""

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote_plus

from .client_assertion import JWT_BEARER, AssertionRejected, read_assertion_client_id
from .errors import InvalidClient, InvalidRequest

# RFC 8414 names of the client authentication methods.
BASIC = "client_secret_basic"
POST = "client_secret_post"
NONE = "none"
PRIVATE_KEY_JWT = "private_key_jwt"


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    client_id: str
    client_secret: str
    method: str  # BASIC, POST or PRIVATE_KEY_JWT
    client_assertion: str = ""  # PRIVATE_KEY_JWT only: the signed JWT, not yet verified

    def __repr__(self) -> str:
        return f"ClientCredentials(client_id={self.client_id!r}, method={self.method!r})"


def parse_basic_authorization(header: str) -> tuple[str, str]:
    """Decode ``Basic base64(urlencode(id):urlencode(secret))`` (§2.3.1, RFC 7617).

    The id and secret are form-urlencoded before base64, so both are decoded after splitting.
    Anything else is ``InvalidClient`` challenged with Basic (§5.2: the client used the header).
    """
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise InvalidClient("The Authorization header is not HTTP Basic credentials.", method=BASIC)
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise InvalidClient("The Basic credentials are not valid base64 of UTF-8 text.", method=BASIC) from None
    client_id, colon, client_secret = decoded.partition(":")
    if not colon:
        raise InvalidClient("The Basic credentials lack the ':' separator.", method=BASIC)
    return unquote_plus(client_id), unquote_plus(client_secret)


def read_client_credentials(
    *, authorization: str | None, params: Mapping[str, str]
) -> ClientCredentials:
    """Take the client's credentials from exactly one place: Basic or the body (§2.3.1).

    Using two methods at once is invalid_request (§2.3); none at all is invalid_client. A body
    ``client_id`` that repeats the Basic one is not a second method (some libraries send both).
    A ``client_id`` alone authenticates nothing: like no credentials, it is challenged (§5.2).
    A ``client_assertion`` is a method of its own (``read_client_assertion``).
    """
    if "client_assertion" in params or "client_assertion_type" in params:
        return read_client_assertion(authorization=authorization, params=params)
    if authorization:
        client_id, client_secret = parse_basic_authorization(authorization)
        if "client_secret" in params or params.get("client_id", client_id) != client_id:
            raise InvalidRequest("Use one client authentication method, not two.")
        method = BASIC
    else:
        client_id = params.get("client_id", "")
        client_secret = params.get("client_secret", "")
        method = POST if client_secret else NONE
    if not client_id or not client_secret:
        raise InvalidClient("Client authentication is required.", method=method)
    return ClientCredentials(client_id, client_secret, method)


def read_client_assertion(*, authorization: str | None, params: Mapping[str, str]) -> ClientCredentials:
    """Take a JWT client assertion from the body (RFC 7521 §4.2, RFC 7523 §2.2), not yet verified.

    A secret besides it (Basic or ``client_secret``) is two methods: invalid_request, as for Basic
    and body together (RFC 6749 §2.3), before either is checked. A ``client_assertion_type`` other
    than JWT bearer, a missing half, an assertion that names no client, or a ``client_id`` that
    differs from the one it names is invalid_client (RFC 7521 §4.2.1).
    """
    if authorization or "client_secret" in params:
        raise InvalidRequest("Use one client authentication method, not two.")
    assertion = params.get("client_assertion", "")
    if params.get("client_assertion_type") != JWT_BEARER or not assertion:
        raise InvalidClient(method=PRIVATE_KEY_JWT)
    try:
        client_id = read_assertion_client_id(assertion)
    except AssertionRejected:
        raise InvalidClient(method=PRIVATE_KEY_JWT) from None
    if params.get("client_id", client_id) != client_id:
        raise InvalidClient(method=PRIVATE_KEY_JWT)
    return ClientCredentials(client_id, "", PRIVATE_KEY_JWT, assertion)
