"""RFC 9112 §6 and §7.1 on the wire: bodies that break their framing, sent to gunicorn as bytes.

A bad chunk size, a chunk longer than its size, a body cut off before its last chunk or its
Content-Length: each is the client's fault, so invalid_request with no-store (RFC 6749 §5.2),
never a 500 page. Raw sockets, because no HTTP client library sends such bytes.
"""

import json
import socket
from urllib.parse import urlsplit

import pytest

from tests.conftest import basic_auth

from .test_chunked_live import credentials, introspect, issue, server  # noqa: F401 (the fixture)

ENDPOINTS = ["/oauth/token", "/oauth/introspect", "/oauth/revoke"]


def send_raw(url: str, path: str, head: bytes, body: bytes, *, auth=None) -> tuple[int, dict[str, str], bytes]:
    """POST the given framing headers and body bytes, then close our write side; (status, headers, body)."""
    address = urlsplit(url)
    lines = [f"POST {path} HTTP/1.1", f"Host: {address.netloc}"]
    if auth is not None:
        lines.append(f"Authorization: {basic_auth(*auth)}")
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        try:
            connection.sendall("\r\n".join(lines).encode() + b"\r\n" + head + b"\r\n" + body)
            connection.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server answered and closed before taking it all (a 413): read the answer
        answer = b""
        while part := connection.recv(65536):
            answer += part
    status_and_headers, _, content = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = status_and_headers.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), headers, content[: int(headers.get("content-length", len(content)))]


FORM = b"Content-Type: application/x-www-form-urlencoded\r\n"
CHUNKED = FORM + b"Transfer-Encoding: chunked\r\n"


@pytest.mark.parametrize(
    ("head", "body"),
    [
        pytest.param(CHUNKED, b"zz\r\ngrant\r\n0\r\n\r\n", id="non-hex-chunk-size"),
        pytest.param(CHUNKED, b"5\r\ngrantXX0\r\n\r\n", id="chunk-longer-than-its-size"),
        pytest.param(CHUNKED, b"5\r\ngrant", id="ends-before-the-last-chunk"),
    ],
)
@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_broken_chunked_body_is_invalid_request(server, path, head, body):  # noqa: F811
    instance, client = server
    token = issue(instance.url, client)
    status, headers, answer = send_raw(instance.url, path, head, body, auth=credentials(client))
    assert status == 400, answer
    assert json.loads(answer) == {"error": "invalid_request", "error_description": "The request body could not be read."}
    assert headers["content-type"] == "application/json"
    assert headers["cache-control"] == "no-store"
    assert introspect(instance.url, client, token)["active"] is True


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_body_cut_before_its_content_length_is_invalid_request(server, path):  # noqa: F811
    instance, client = server
    token = issue(instance.url, client)
    body = f"grant_type=client_credentials&token={token}".encode()
    head = FORM + f"Content-Length: {len(body) + 71}\r\n".encode()
    status, headers, answer = send_raw(instance.url, path, head, body, auth=credentials(client))
    assert status == 400, answer
    assert json.loads(answer) == {
        "error": "invalid_request", "error_description": "The request body is shorter than its Content-Length."
    }
    assert headers["cache-control"] == "no-store"
    assert introspect(instance.url, client, token)["active"] is True


NOT_OUR_TYPE = {"error": "invalid_request", "error_description": "The body must be application/x-www-form-urlencoded or application/json."}


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_body_with_no_content_type_is_invalid_request(server, path):  # noqa: F811
    # What ``curl -H 'Content-Type:' --data-binary ...`` sends: it was read as empty before.
    instance, client = server
    token = issue(instance.url, client)
    body = f"grant_type=client_credentials&token={token}".encode()
    status, headers, answer = send_raw(instance.url, path, f"Content-Length: {len(body)}\r\n".encode(), body, auth=credentials(client))
    assert status == 400, answer
    assert json.loads(answer) == NOT_OUR_TYPE
    assert headers["cache-control"] == "no-store"
    assert introspect(instance.url, client, token)["active"] is True


@pytest.mark.parametrize(
    ("head", "body"),
    [
        # Refused unread: no body is sent, so the server's close cannot reset the connection first.
        pytest.param(b"Content-Length: 100000\r\n", b"", id="content-length"),
        pytest.param(b"Transfer-Encoding: chunked\r\n", b"%x\r\n" % 100_000 + b"a" * 100_000 + b"\r\n0\r\n\r\n", id="chunked"),
    ],
)
def test_an_oversized_body_with_no_content_type_is_413(server, head, body):  # noqa: F811
    instance, client = server
    status, headers, answer = send_raw(instance.url, "/oauth/revoke", head, body, auth=credentials(client))
    assert status == 413, answer
    assert json.loads(answer) == {"error": "invalid_request", "error_description": "The request body is too large."}
    assert headers["cache-control"] == "no-store"
