import time

import pytest

from tests.resource.stub_issuer import Clock, StubIssuer


@pytest.fixture
def issue(make_keys, request_token):
    """A fresh access token, as the client receives it, of a new application (scopes read write)."""

    def make(token_format: str = "jwt", *, scope: str = "read", keys=None) -> str:
        keys = keys or make_keys(token_format=token_format)
        response = request_token(keys, scope=scope)
        assert response.status_code == 200, response.content
        return response.json()["access_token"]

    return make


@pytest.fixture
def hello(api_client):
    def call(token: str | None = None, method: str = "get", path: str = "/api/hello", **headers):
        if token is not None:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        return getattr(api_client, method)(path, **headers)

    return call


@pytest.fixture
def stub_issuer():
    """An authorization server on 127.0.0.1 that the test controls (tests/resource/stub_issuer.py)."""
    issuer = StubIssuer()
    yield issuer
    issuer.close()


@pytest.fixture
def clock():
    """A clock the test moves, starting at the present second."""
    return Clock(float(int(time.time())))
