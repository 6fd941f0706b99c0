"""Fixtures of the audience tests (RFC 8707): an application allowed two APIs, and token requests naming them."""

from urllib.parse import urlencode

import jwt
import pytest

from tests.conftest import basic_auth
from tests.resource.conftest import clock, stub_issuer  # noqa: F401 (fixtures of the jwks-mode tests)

BILLING, FILES, HR = "https://billing.example.com", "https://files.example.com/v1", "https://hr.example.com"


@pytest.fixture
def allowed(make_keys):
    """Production keys of an application allowed BILLING and FILES, with no default audience."""
    return make_keys(audiences=f"{BILLING} {FILES}")


@pytest.fixture
def ask(api_client):
    """POST /oauth/token as keys, with (name, value) pairs after grant_type (``resource`` may repeat)."""

    def post(keys, *pairs: tuple[str, str], path: str = "/oauth/token"):
        body = urlencode([("grant_type", "client_credentials"), *pairs])
        return api_client.post(path, body, content_type="application/x-www-form-urlencoded",
                               HTTP_AUTHORIZATION=basic_auth(keys.client_id, keys.client_secret))

    return post


def aud_of(response) -> str | list[str]:
    """The ``aud`` claim of the JWT a successful token response carries (unverified: the tests read it)."""
    assert response.status_code == 200, response.content
    return jwt.decode(response.json()["access_token"], options={"verify_signature": False})["aud"]
