"""A client's keys at its jwks_uri (RFC 7591 §2 ``jwks_uri``): fetched bounded, cached, followed on rotation.

The client's server here is ``http.server`` in a thread on loopback (http is allowed only there).
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError
from jwt.algorithms import RSAAlgorithm

from clients import client_assertions
from clients.services import generate_keys


class JWKSServer:
    """Serves whatever ``body`` holds at /jwks.json, after ``delay`` seconds; counts the requests."""

    def __init__(self) -> None:
        self.body, self.delay, self.status, self.requests, self.location = b"{}", 0.0, 200, 0, ""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                owner.requests += 1
                time.sleep(owner.delay)
                self.send_response(owner.status)
                if owner.location:
                    self.send_header("Location", owner.location)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(owner.body)))
                self.end_headers()
                try:
                    self.wfile.write(owner.body)
                except OSError:  # the server under test stopped reading: that is the point
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"

    def serve(self, jwks: dict) -> None:
        self.body = json.dumps(jwks).encode()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def jwks_server():
    server = JWKSServer()
    yield server
    server.stop()


def test_keys_are_fetched_once_and_cached(jwks_server, make_signer, register, post_assertion):
    signer = make_signer("PS256")
    jwks_server.serve(signer.jwks)
    client_id = register(jwks_uri=jwks_server.uri)
    for _ in range(3):
        assert post_assertion(signer.assertion(client_id)).status_code == 200
    assert jwks_server.requests == 1


def test_a_rotated_key_is_fetched_on_its_unknown_kid_at_most_every_few_seconds(
    jwks_server, make_signer, register, post_assertion, monkeypatch
):
    old, new = make_signer("ES256"), make_signer("ES256")
    jwks_server.serve(old.jwks)
    client_id = register(jwks_uri=jwks_server.uri)
    assert post_assertion(old.assertion(client_id)).status_code == 200
    jwks_server.serve({"keys": [old.public_jwk, new.public_jwk]})
    monkeypatch.setattr(client_assertions, "JWKS_REFETCH_SECONDS", 0.0)
    assert post_assertion(new.assertion(client_id)).status_code == 200
    assert jwks_server.requests == 2
    monkeypatch.setattr(client_assertions, "JWKS_REFETCH_SECONDS", 60.0)
    stranger = make_signer("ES256")
    for _ in range(5):  # a flood of unknown kids: no fetch within the interval
        assert post_assertion(stranger.assertion(client_id)).status_code == 401
    assert jwks_server.requests == 2


def test_a_slow_jwks_uri_is_given_up_on_within_the_timeout(jwks_server, make_signer, register, post_assertion, monkeypatch):
    monkeypatch.setattr(client_assertions, "JWKS_FETCH_TIMEOUT", 0.5)
    monkeypatch.setattr(client_assertions, "_pool", client_assertions.urllib3.PoolManager(
        timeout=client_assertions.urllib3.Timeout(connect=0.5, read=0.5),
        retries=client_assertions.urllib3.Retry(total=0, redirect=0, raise_on_redirect=False)))
    signer = make_signer()
    jwks_server.serve(signer.jwks)
    jwks_server.delay = 3
    client_id = register(jwks_uri=jwks_server.uri)
    started = time.monotonic()
    response = post_assertion(signer.assertion(client_id))
    assert time.monotonic() - started < 2
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


def test_the_default_timeout_is_three_seconds_and_the_size_limit_64_kib():
    assert (client_assertions.JWKS_FETCH_TIMEOUT, client_assertions.MAX_JWKS_BYTES) == (3.0, 65536)


def test_a_10_mb_answer_is_refused_unread(jwks_server, make_signer, register, post_assertion):
    signer = make_signer()
    padding = "x" * (10 * 1024 * 1024)
    jwks_server.body = json.dumps({"keys": [signer.public_jwk], "padding": padding}).encode()
    client_id = register(jwks_uri=jwks_server.uri)
    response = post_assertion(signer.assertion(client_id))
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
    with pytest.raises(client_assertions.JWKSUnavailable, match="over 65536 bytes"):
        client_assertions.fetch_client_jwks(jwks_server.uri)


def test_a_redirect_is_not_followed(jwks_server, make_signer, register, post_assertion):
    signer = make_signer()
    target = JWKSServer()
    try:
        target.serve(signer.jwks)
        jwks_server.status, jwks_server.location = 302, target.uri
        client_id = register(jwks_uri=jwks_server.uri)
        assert post_assertion(signer.assertion(client_id)).status_code == 401
        assert target.requests == 0
    finally:
        target.stop()


def test_a_jwks_uri_answer_with_a_private_key_is_refused(jwks_server, make_signer, register, post_assertion):
    signer = make_signer("RS256")
    jwks_server.serve({"keys": [{**RSAAlgorithm.to_jwk(signer.private_key, as_dict=True), "kid": signer.kid}]})
    client_id = register(jwks_uri=jwks_server.uri)
    assert post_assertion(signer.assertion(client_id)).status_code == 401


@pytest.mark.parametrize("uri, accepted", [
    ("https://client.example/jwks.json", True),
    ("http://localhost:8080/jwks.json", True),
    ("http://127.0.0.1/jwks.json", True),
    ("http://client.example/jwks.json", False),
    ("ftp://client.example/jwks.json", False),
    ("https://user:pw@client.example/jwks.json", False),
])
def test_a_jwks_uri_is_https_outside_loopback(uri, accepted, make_application):
    application = make_application()
    if accepted:
        generate_keys(application=application, auth_method="private_key_jwt", jwks_uri=uri)
    else:
        with pytest.raises(ValidationError):
            generate_keys(application=application, auth_method="private_key_jwt", jwks_uri=uri)
