"""Client credentials from HTTP Basic or the request body (RFC 6749 §2.3.1)."""

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote_plus

from .errors import InvalidClient, InvalidRequest

# RFC 8414 names of the client authentication methods.
BASIC = "client_secret_basic"
POST = "client_secret_post"
NONE = "none"


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    client_id: str
    client_secret: str
    method: str  # BASIC or POST

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
    """
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
