"""Fixtures of the endpoint tests: a caller that may use the token, introspection and revocation endpoints."""

import pytest


@pytest.fixture
def caller(make_keys, make_application):
    """A resource server that also owns tokens: it may call all three endpoints."""
    return make_keys(make_application("gateway", is_resource_server=True))


@pytest.fixture
def token(caller, request_token) -> str:
    response = request_token(caller)
    assert response.status_code == 200, response.content
    return response.json()["access_token"]
