"""RFC 6749 §5.2: a body that cannot be read, or is not what its headers say, is invalid_request.

So is a body with no media type (``curl -H 'Content-Type:'``): read as empty, it gave the
misleading "grant_type parameter is required", and the size bound (413) comes before that.

The test client sends only well-formed bodies, so these requests reach Django as gunicorn hands
broken ones over: a ``wsgi.input`` that raises what gunicorn raises on a bad chunk or a connection
that ends early, or that ends before its Content-Length. ``tests/e2e/test_broken_bodies_live.py``
sends the same bytes to a real gunicorn.
"""

import io
import xml.etree.ElementTree as ET

import pytest
from gunicorn.http.errors import ChunkMissingTerminator, InvalidChunkSize, NoMoreData

from tests.conftest import basic_auth, chunked, is_revoked, issued_count

ENDPOINTS = ["/oauth/token", "/oauth/introspect", "/oauth/revoke"]


class BreakingStream:
    """A ``wsgi.input`` that gives its first bytes, then raises what a server raises mid-body."""

    def __init__(self, first: bytes, error: Exception) -> None:
        self.first, self.error = first, error

    def read(self, size: int = -1) -> bytes:
        if self.first:
            part, self.first = self.first[:size] if size > 0 else self.first, b""
            return part
        raise self.error

    readline = read


@pytest.fixture
def send(api_client, caller):
    def post(path: str, environ: dict, *, content_type: str | None = "application/x-www-form-urlencoded", query: str = ""):
        """POST with the given WSGI body entries; ``content_type=None`` sends no Content-Type at all."""
        return api_client.generic(
            "POST", path + query, b"", content_type=content_type,
            HTTP_AUTHORIZATION=basic_auth(caller.client_id, caller.client_secret), **environ,
        )

    return post


SERVER_ERRORS = [
    pytest.param(InvalidChunkSize(b"zz"), id="non-hex-chunk-size"),
    pytest.param(ChunkMissingTerminator(b"XX"), id="chunk-longer-than-its-size"),
    pytest.param(NoMoreData(b""), id="connection-ends-mid-chunk"),
    pytest.param(ConnectionResetError(104, "reset"), id="connection-reset"),
]


@pytest.mark.parametrize("error", SERVER_ERRORS)
@pytest.mark.parametrize("path", ENDPOINTS)
def test_an_unreadable_chunked_body_is_invalid_request(send, token, path, error):
    environ = {**chunked(b""), "wsgi.input": BreakingStream(b"grant_type=client_credentials&token=", error)}
    response = send(path, environ)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": "The request body could not be read."}
    assert response["Cache-Control"] == "no-store"
    assert issued_count() == 1 and not is_revoked(token)


@pytest.mark.parametrize("error", [NoMoreData(b""), ConnectionResetError(104, "reset")])
@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_body_whose_connection_breaks_before_its_content_length_is_invalid_request(send, token, path, error):
    body = b"grant_type=client_credentials"
    response = send(path, {"CONTENT_LENGTH": "100", "wsgi.input": BreakingStream(body, error)})
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": "The request body could not be read."}
    assert response["Cache-Control"] == "no-store"


def test_an_unreadable_body_is_answered_in_the_format_asked_for(send):
    environ = {**chunked(b""), "wsgi.input": BreakingStream(b"gr", InvalidChunkSize(b"zz"))}
    response = send("/oauth/token", environ, query="?format=xml")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/xml")
    assert ET.fromstring(response.content).findtext("error") == "invalid_request"
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_body_shorter_than_its_content_length_is_invalid_request(send, token, path):
    # gunicorn's sync worker hands over what arrived and then an empty read when the client
    # closes its side before the declared length: a short read, no exception.
    body = f"grant_type=client_credentials&token={token}".encode()
    response = send(path, {"CONTENT_LENGTH": str(len(body) + 70), "wsgi.input": io.BytesIO(body)})
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request", "error_description": "The request body is shorter than its Content-Length."
    }
    assert response["Cache-Control"] == "no-store"
    assert issued_count() == 1 and not is_revoked(token)


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "application/json"])
def test_a_body_exactly_its_content_length_is_read(send, content_type):
    body = b"grant_type=client_credentials" if content_type.endswith("urlencoded") else b'{"grant_type": "client_credentials"}'
    response = send("/oauth/token", {"CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}, content_type=content_type)
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "Bearer"


NOT_OUR_TYPE = {"error": "invalid_request", "error_description": "The body must be application/x-www-form-urlencoded or application/json."}


def framed(body: bytes, framing: str) -> dict:
    if framing == "chunked":
        return chunked(body)
    return {"CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_body_with_no_content_type_is_invalid_request(send, token, path, framing):
    body = f"grant_type=client_credentials&token={token}".encode()
    response = send(path, framed(body, framing), content_type=None)
    assert response.status_code == 400
    assert response.json() == NOT_OUR_TYPE
    assert response["Cache-Control"] == "no-store"
    assert issued_count() == 1 and not is_revoked(token)


@pytest.mark.parametrize("content_type", [None, "text/plain", "multipart/form-data; boundary=X"])
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize("path", ENDPOINTS)
def test_an_oversized_body_is_413_whatever_its_media_type(send, settings, path, framing, content_type):
    settings.OAUTH_MAX_REQUEST_BYTES = 8192
    response = send(path, framed(b"a" * 100_000, framing), content_type=content_type)
    assert response.status_code == 413
    assert response.json() == {"error": "invalid_request", "error_description": "The request body is too large."}
    assert response["Cache-Control"] == "no-store"


def test_an_empty_chunked_body_with_no_content_type_is_no_body(send):
    response = send("/oauth/token", chunked(b""), content_type=None)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": "The grant_type parameter is required."}
