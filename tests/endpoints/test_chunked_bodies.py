"""RFC 9112 §7.1: a body sent with ``Transfer-Encoding: chunked`` is read like any other.

The test client cannot send chunked bytes, so these requests reach Django as gunicorn hands them
over (``tests.conftest.chunked``); ``tests/e2e/test_chunked_live.py`` sends real ones to gunicorn.
"""

import json
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest

from tests.conftest import basic_auth, chunked, is_revoked, issued_count

ENDPOINTS = ["/oauth/token", "/oauth/introspect", "/oauth/revoke"]


@pytest.fixture
def send_chunked(api_client, caller):
    def post(path: str, body: bytes, content_type: str = "application/x-www-form-urlencoded", *, auth=True, **options):
        headers = {"HTTP_AUTHORIZATION": basic_auth(caller.client_id, caller.client_secret)} if auth else {}
        return api_client.generic("POST", path, b"", content_type=content_type, **headers, **chunked(body, **options))

    return post


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"grant_type=client_credentials&scope=read"),
        ("application/json", json.dumps({"grant_type": "client_credentials", "scope": "read"}).encode()),
    ],
)
def test_a_chunked_body_gets_a_token(send_chunked, content_type, body):
    response = send_chunked("/oauth/token", body, content_type)
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "Bearer" and response.json()["scope"] == "read"
    assert issued_count() == 1


def test_client_credentials_in_a_chunked_body_authenticate(send_chunked, caller):
    body = urlencode({"grant_type": "client_credentials", "client_id": caller.client_id, "client_secret": caller.client_secret})
    response = send_chunked("/oauth/token", body.encode(), auth=False)
    assert response.status_code == 200, response.content
    assert response.json()["access_token"]


def test_a_chunked_introspection_describes_the_token(send_chunked, caller, token):
    response = send_chunked("/oauth/introspect", urlencode({"token": token}).encode())
    assert response.status_code == 200, response.content
    assert response.json()["active"] is True
    assert response.json()["client_id"] == caller.client_id


def test_a_chunked_revocation_really_revokes(send_chunked, api_client, token):
    response = send_chunked("/oauth/revoke", urlencode({"token": token}).encode())
    assert response.status_code == 200 and response.content == b""
    assert is_revoked(token)
    assert send_chunked("/oauth/introspect", urlencode({"token": token}).encode()).json() == {"active": False}
    assert api_client.get("/api/hello", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_a_chunked_body_as_long_as_the_bound_is_read(send_chunked, settings):
    settings.OAUTH_MAX_REQUEST_BYTES = 256
    body = b"grant_type=client_credentials&pad="
    response = send_chunked("/oauth/token", body + b"x" * (256 - len(body)))
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "Bearer"  # the whole body was read, up to its last byte


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_chunked_body_over_the_bound_is_413_in_the_oauth_shape(send_chunked, settings, token, path):
    settings.OAUTH_MAX_REQUEST_BYTES = 256
    body = urlencode({"token": token, "grant_type": "client_credentials", "pad": "x" * 300}).encode()
    response = send_chunked(path, body)
    assert response.status_code == 413
    assert response.json() == {"error": "invalid_request", "error_description": "The request body is too large."}
    assert response["Cache-Control"] == "no-store"
    assert issued_count() == 1 and not is_revoked(token)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_chunked_body_over_the_bound_is_413_in_the_format_of_the_query(send_chunked, settings, path):
    settings.OAUTH_MAX_REQUEST_BYTES = 256
    response = send_chunked(f"{path}?format=xml", b"grant_type=client_credentials&pad=" + b"x" * 300)
    assert response.status_code == 413
    root = ET.fromstring(response.content)
    assert (root.findtext("error"), root.findtext("error_description")) == ("invalid_request", "The request body is too large.")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_chunked_body_the_server_does_not_end_is_411_not_an_empty_body(send_chunked, token, path):
    # A WSGI server without wsgi.input_terminated (runserver) gives no way to find the body's end.
    response = send_chunked(path, urlencode({"token": token, "grant_type": "client_credentials"}).encode(), terminated=False)
    assert response.status_code == 411
    assert response.json()["error"] == "invalid_request"
    assert "chunked" in response.json()["error_description"]
    assert issued_count() == 1 and not is_revoked(token)


def test_repeated_parameters_in_a_chunked_body_are_invalid_request(send_chunked):
    response = send_chunked("/oauth/token", b"grant_type=client_credentials&scope=read&scope=write")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "scope" in response.json()["error_description"]
    assert issued_count() == 0
