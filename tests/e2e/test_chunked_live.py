"""RFC 9112 §7.1 on the wire: chunked request bodies sent to gunicorn, as ``make run`` serves.

``curl -H 'Transfer-Encoding: chunked'`` and streaming clients send no Content-Length; gunicorn's
sync worker de-chunks the body, and every OAuth endpoint must read it (bounded by
``OAUTH_MAX_REQUEST_BYTES``) rather than take it for empty. The test client and pytest-django's
live server cannot send or de-chunk such a body, hence a real gunicorn here.
"""

import http.client
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from tests.conftest import basic_auth

from .instances import shared_setup

MAX_REQUEST_BYTES = 1024


@pytest.fixture(scope="module")
def server():
    with shared_setup(OAUTH_MAX_REQUEST_BYTES=str(MAX_REQUEST_BYTES)) as setup:
        # One application that is also a resource server: it gets, introspects and revokes its tokens.
        client = setup.create_client("service", "--scopes", "read", "--resource-server")
        yield setup.start(workers=1), client


def pieces(body: bytes, size: int = 7) -> Iterator[bytes]:
    """The body in small chunks, so parameters are cut across chunk boundaries."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def post_chunked(
    url: str, path: str, body: bytes, *, content_type: str = "application/x-www-form-urlencoded", auth=None
) -> tuple[int, dict[str, str], bytes]:
    """POST with ``Transfer-Encoding: chunked`` and no Content-Length; (status, headers, body)."""
    address = urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    headers = {"Content-Type": content_type, "Transfer-Encoding": "chunked"}
    if auth is not None:
        headers["Authorization"] = basic_auth(*auth)
    try:
        connection.request("POST", path, body=pieces(body), headers=headers, encode_chunked=True)
        response = connection.getresponse()
        return response.status, {name.lower(): value for name, value in response.getheaders()}, response.read()
    finally:
        connection.close()


def issue(url: str, client: dict) -> str:
    response = requests.post(
        f"{url}/oauth/token", data={"grant_type": "client_credentials"},
        auth=(client["client_id"], client["client_secret"]), timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def introspect(url: str, client: dict, token: str) -> dict:
    response = requests.post(
        f"{url}/oauth/introspect", data={"token": token}, auth=(client["client_id"], client["client_secret"]), timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()


def credentials(client: dict) -> tuple[str, str]:
    return client["client_id"], client["client_secret"]


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"grant_type=client_credentials&scope=read"),
        ("application/json", json.dumps({"grant_type": "client_credentials", "scope": "read"}).encode()),
    ],
)
def test_a_chunked_token_request_gets_a_token(server, content_type, body):
    instance, client = server
    status, headers, answer = post_chunked(instance.url, "/oauth/token", body, content_type=content_type, auth=credentials(client))
    assert status == 200, answer
    assert json.loads(answer)["token_type"] == "Bearer" and json.loads(answer)["scope"] == "read"
    assert headers["cache-control"] == "no-store"
    token = json.loads(answer)["access_token"]
    assert introspect(instance.url, client, token)["active"] is True


def test_client_credentials_in_a_chunked_body_authenticate(server):
    instance, client = server
    body = urlencode({"grant_type": "client_credentials", **dict(zip(("client_id", "client_secret"), credentials(client)))})
    status, _, answer = post_chunked(instance.url, "/oauth/token", body.encode())
    assert status == 200, answer
    assert json.loads(answer)["access_token"]


def test_a_chunked_introspection_describes_the_token(server):
    instance, client = server
    token = issue(instance.url, client)
    status, _, answer = post_chunked(instance.url, "/oauth/introspect", urlencode({"token": token}).encode(), auth=credentials(client))
    assert status == 200, answer
    assert json.loads(answer)["active"] is True
    assert json.loads(answer)["client_id"] == client["client_id"]


def test_a_chunked_revocation_really_revokes_the_token(server):
    instance, client = server
    token = issue(instance.url, client)
    assert introspect(instance.url, client, token)["active"] is True
    status, _, answer = post_chunked(instance.url, "/oauth/revoke", urlencode({"token": token}).encode(), auth=credentials(client))
    assert (status, answer) == (200, b"")
    assert introspect(instance.url, client, token) == {"active": False}
    hello = requests.get(f"{instance.url}/api/hello", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert hello.status_code == 401


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/introspect", "/oauth/revoke"])
def test_an_oversized_chunked_body_is_413_with_an_oauth_error(server, path):
    instance, client = server
    token = issue(instance.url, client)
    body = urlencode({"grant_type": "client_credentials", "token": token, "pad": "x" * (4 * MAX_REQUEST_BYTES)}).encode()
    status, headers, answer = post_chunked(instance.url, path, body, auth=credentials(client))
    assert status == 413
    assert json.loads(answer) == {"error": "invalid_request", "error_description": "The request body is too large."}
    assert headers["cache-control"] == "no-store"
    assert introspect(instance.url, client, token)["active"] is True  # a refused revocation revoked nothing


def test_an_oversized_chunked_body_is_413_in_the_format_of_the_query(server):
    instance, client = server
    body = b"grant_type=client_credentials&pad=" + b"x" * (2 * MAX_REQUEST_BYTES)
    status, headers, answer = post_chunked(instance.url, "/oauth/token?format=xml", body, auth=credentials(client))
    assert status == 413
    assert headers["content-type"].startswith("application/xml")
    assert ET.fromstring(answer).findtext("error") == "invalid_request"
