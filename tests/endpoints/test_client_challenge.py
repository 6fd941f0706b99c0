"""RFC 6749 §5.2: ``invalid_client`` challenges with Basic only a client that used Basic or nothing.

A client that authenticated in the body (``client_secret_post``) gets 401 ``invalid_client``
without ``WWW-Authenticate``: with the header, oauth4webapi and openid-client report a challenge
instead of the error in the body. Token, introspection and revocation endpoints alike.
"""

import json
from urllib.parse import urlencode

import pytest

from clients.models import Application
from tests.conftest import basic_auth

ENDPOINTS = ["/oauth/token", "/oauth/introspect", "/oauth/revoke"]
CHALLENGE = 'Basic realm="oauth"'
FAILURES = ["wrong_secret", "unknown_client", "disabled_application"]


@pytest.fixture
def failing_credentials(make_keys):
    """The (client_id, client_secret) of one way to fail client authentication."""

    def make(failure: str) -> tuple[str, str]:
        keys = make_keys(is_resource_server=True)
        if failure == "disabled_application":
            Application.objects.update(is_active=False)
            return keys.client_id, keys.client_secret
        if failure == "unknown_client":
            return "nobody", keys.client_secret
        return keys.client_id, "wrong"

    return make


def send(api_client, path: str, method: str, credentials: tuple[str, str] | None = None):
    """POST to path, authenticating with method: ``basic``, ``post`` or ``none``."""
    fields = {"grant_type": "client_credentials", "token": "anything"}
    headers = {}
    if method == "basic":
        headers["HTTP_AUTHORIZATION"] = basic_auth(*credentials)
    elif method == "post":
        fields.update(client_id=credentials[0], client_secret=credentials[1])
    return api_client.post(path, urlencode(fields), content_type="application/x-www-form-urlencoded", **headers)


def assert_invalid_client(response) -> None:
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client", "error_description": "Client authentication failed."}


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("failure", FAILURES)
def test_a_failed_basic_authentication_is_challenged_with_basic(api_client, failing_credentials, path, failure):
    response = send(api_client, path, "basic", failing_credentials(failure))
    assert_invalid_client(response)
    assert response["WWW-Authenticate"] == CHALLENGE


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("failure", FAILURES)
def test_a_failed_body_authentication_is_401_without_a_challenge(api_client, failing_credentials, path, failure):
    response = send(api_client, path, "post", failing_credentials(failure))
    assert_invalid_client(response)
    assert "WWW-Authenticate" not in response


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_failed_json_body_authentication_is_401_without_a_challenge(api_client, failing_credentials, path):
    client_id, client_secret = failing_credentials("wrong_secret")
    body = {"grant_type": "client_credentials", "token": "x", "client_id": client_id, "client_secret": client_secret}
    response = api_client.post(path, json.dumps(body), content_type="application/json")
    assert_invalid_client(response)
    assert "WWW-Authenticate" not in response


@pytest.mark.parametrize("path", ENDPOINTS)
def test_no_client_authentication_at_all_is_challenged_with_basic(api_client, db, path):
    response = send(api_client, path, "none")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response["WWW-Authenticate"] == CHALLENGE


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_client_id_without_a_secret_is_challenged_with_basic(api_client, db, path):
    body = urlencode({"grant_type": "client_credentials", "token": "x", "client_id": "someone"})
    response = api_client.post(path, body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response["WWW-Authenticate"] == CHALLENGE


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("authorization", ["Basic !!!", "Bearer abc", "Basic " + "bm8tY29sb24="])
def test_an_unreadable_authorization_header_is_challenged_with_basic(api_client, db, path, authorization):
    body = urlencode({"grant_type": "client_credentials", "token": "x"})
    headers = {"HTTP_AUTHORIZATION": authorization}
    response = api_client.post(path, body, content_type="application/x-www-form-urlencoded", **headers)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response["WWW-Authenticate"] == CHALLENGE


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("response_format", ["urlencoded", "xml"])
def test_the_challenge_follows_the_method_in_every_response_format(api_client, failing_credentials, path, response_format):
    credentials = failing_credentials("wrong_secret")
    basic = send(api_client, f"{path}?format={response_format}", "basic", credentials)
    body = send(api_client, f"{path}?format={response_format}", "post", credentials)
    assert basic.status_code == body.status_code == 401
    assert basic.content == body.content and b"invalid_client" in body.content
    assert basic["WWW-Authenticate"] == CHALLENGE
    assert "WWW-Authenticate" not in body
