"""What a developer needs to use freshly issued keys: the Basic header and a ready curl command."""

import base64
import shlex
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote_plus

from clients.services import IssuedKeys


@dataclass(frozen=True, slots=True)
class ShownCredentials:
    """Issued keys as the portal shows them, once, right after Generate Keys or Regenerate."""

    client_id: str
    client_secret: str
    environment: str
    authorization: str
    curl: str
    secret_label: str = ""
    previous_secret_expires_at: datetime | None = None

    def __repr__(self) -> str:
        return f"ShownCredentials(client_id={self.client_id!r}, environment={self.environment!r})"


def basic_authorization(client_id: str, client_secret: str) -> str:
    """The ``Authorization`` value of RFC 6749 §2.3.1: form-urlencode id and secret, then base64."""
    raw = f"{quote_plus(client_id)}:{quote_plus(client_secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def show_credentials(issued: IssuedKeys, *, token_endpoint: str) -> ShownCredentials:
    """Build the one-time display of issued keys, with a curl command for token_endpoint (their realm's)."""
    authorization = basic_authorization(issued.client_id, issued.client_secret)
    curl = " \\\n  ".join(
        [
            f"curl -X POST {shlex.quote(token_endpoint)}",
            f"-H {shlex.quote('Authorization: ' + authorization)}",
            "-d grant_type=client_credentials",
        ]
    )
    return ShownCredentials(issued.client_id, issued.client_secret, issued.environment, authorization, curl,
                            issued.secret_label, issued.previous_secret_expires_at)
