"""An authorization server the remote-mode tests control, served from a thread on 127.0.0.1.

It publishes RFC 8414 metadata, a JWK Set (RFC 7517) of keys the test makes, and an RFC 7662
introspection endpoint whose answers the test sets; it counts requests per path, records what
introspection callers sent, and can be made to fail path by path (500, a body that is not JSON,
a hang past the caller's timeout, a body over 1 MiB, a redirect, a connection reset mid-body) or
stopped outright (connection refused).
"""

import base64
import functools
import hashlib
import hmac
import json
import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization

from resource_server.config import ResourceServerConfig, read_config
from resource_server.discovery import Discovery
from resource_server.introspection import IntrospectionVerifier
from resource_server.jwks import JWKSVerifier
from resource_server.transport import Transport
from tokens.protocol.formats import JWTFormat, TokenClaims, new_jti
from tokens.protocol.keys import SigningKeyMaterial, generate_private_key_pem, load_signing_key, public_jwk

WELL_KNOWN = "/.well-known/oauth-authorization-server"
JWKS_PATH = "/oauth/jwks"
INTROSPECT_PATH = "/oauth/introspect"
REDIRECT_PATH = "/moved"
AUDIENCE = "https://invoices.example"
SANDBOX_AUDIENCE = "https://invoices.example/sandbox"
CLIENT_ID = "billing-7f3a"
API_CLIENT_ID = "invoices-api"  # the API's own resource-server credentials, for introspection
API_CLIENT_SECRET = "s3:cr+t%2F/x"  # ':' '+' '%' '/': all changed by form encoding (RFC 6749 §2.3.1)
OVERSIZE = 1 << 20  # bytes of padding in an "oversize" answer: with the JSON around it, just over the 1 MiB limit


class StubIssuer:
    """An issuer at ``http://127.0.0.1:<port><issuer_path>``; ``stop()`` leaves its port refusing connections."""

    def __init__(self, *, issuer_path: str = "", first_key: int = 0) -> None:
        """first_key: the index of the first key of each algorithm it makes; stubs given indexes apart share no key."""
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.stub = self
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.issuer = self.origin + issuer_path
        self.metadata_path = WELL_KNOWN + issuer_path
        self.metadata: dict[str, Any] = {
            "issuer": self.issuer,
            "jwks_uri": self.origin + JWKS_PATH,
            "introspection_endpoint": self.origin + INTROSPECT_PATH,
        }
        self.keys: list[tuple[SigningKeyMaterial, dict[str, str]]] = []
        self._made: Counter[str] = Counter()  # keys made per algorithm, never two alike
        self._first_key = first_key
        self.extra_jwks: list[Any] = []  # published after the keys' JWKs, as they are
        # The introspection answer: a dict, or a function of the posted form returning one.
        self.introspection: dict[str, Any] | Callable[[dict[str, str]], dict[str, Any]] = {"active": False}
        self.introspection_status = 200
        self.introspection_requests: list[dict[str, Any]] = []
        self.hits: Counter[str] = Counter()
        self.headers: dict[str, dict[str, str]] = {}  # path -> the headers of its latest request
        # path -> "500", "not-json", "hang", "oversize", "redirect", "reset" or "trickle"
        self.failures: dict[str, str] = {}
        self._release = threading.Event()  # ends every hang
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def add_key(self, algorithm: str = "RS256") -> SigningKeyMaterial:
        """Make a key and publish its public half in the JWKS."""
        pem = _private_key_pem(algorithm, self._first_key + self._made[algorithm])
        self._made[algorithm] += 1
        jwk = public_jwk(pem, algorithm)
        key = load_signing_key(kid=jwk["kid"], algorithm=algorithm, private_pem=pem)
        self.keys.append((key, jwk))
        return key

    def remove_key(self, key: SigningKeyMaterial) -> None:
        self.keys = [(k, jwk) for k, jwk in self.keys if k.kid != key.kid]

    def jwks(self) -> dict[str, list[Any]]:
        return {"keys": [jwk for _, jwk in self.keys] + self.extra_jwks}

    def claims(self, now: float, *, drop: tuple[str, ...] = (), **changes: Any) -> dict[str, Any]:
        """RFC 9068 claims of a token this issuer gave CLIENT_ID for AUDIENCE at now, with changes, without drop."""
        claims = {
            "iss": self.issuer, "sub": CLIENT_ID, "client_id": CLIENT_ID, "aud": AUDIENCE, "iat": int(now),
            "exp": int(now) + 300, "jti": new_jti(), "scope": "read", "env": "production", **changes,
        }
        return {name: value for name, value in claims.items() if name not in drop}

    def mint(self, key: SigningKeyMaterial, now: float, **changes: Any) -> str:
        """A JWT access token signed by key, as the server's JWTFormat makes them."""
        return JWTFormat(key).mint(TokenClaims(**self.claims(now, **changes)))

    def mint_with_header(
        self, key: SigningKeyMaterial, now: float, header: dict[str, Any], *, algorithm: str = "", **changes: Any
    ) -> str:
        """Signed by key with PyJWT (with algorithm, the key's by default), under a header the test chooses."""
        return jwt.encode(self.claims(now, **changes), key.private_key, algorithm=algorithm or key.algorithm, headers=header)

    def forge_alg_none(self, key: SigningKeyMaterial, now: float) -> str:
        header = {"alg": "none", "typ": "at+jwt", "kid": key.kid}
        return f"{_b64json(header)}.{_b64json(self.claims(now))}."

    def forge_hs256(self, key: SigningKeyMaterial, now: float) -> str:
        """HMAC-signed with the key's public PEM as the secret: the classic algorithm confusion."""
        secret = key.public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        unsigned = f"{_b64json({'alg': 'HS256', 'typ': 'at+jwt', 'kid': key.kid})}.{_b64json(self.claims(now))}"
        return f"{unsigned}.{_b64(hmac.new(secret, unsigned.encode(), hashlib.sha256).digest())}"

    def release(self) -> None:
        """End every hang: the hanging requests are closed without an answer."""
        self._release.set()

    def stop(self) -> None:
        """Stop serving and close the port: from now on a connection is refused."""
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def close(self) -> None:
        self._release.set()
        if self._server.socket.fileno() != -1:
            self.stop()


def resource_setting(stub: StubIssuer, mode: str = "jwks", **changes: Any) -> dict[str, Any]:
    """``OAUTH_RESOURCE_SERVER`` of an API for AUDIENCE that trusts stub, with changes."""
    value: dict[str, Any] = {"MODE": mode, "ISSUER": stub.issuer, "AUDIENCE": AUDIENCE, "TIMEOUT": 2}
    if mode == "introspection":
        value |= {"CLIENT_ID": API_CLIENT_ID, "CLIENT_SECRET": API_CLIENT_SECRET}
    return {**value, **changes}


def jwks_verifier(stub: StubIssuer, clock: Callable[[], float], *, in_a_thread: bool = False, **changes: Any) -> JWKSVerifier:
    """A jwks-mode verifier of an API that trusts stub (or the ``ISSUER`` list in changes), on clock.

    The clock tells tokens' times and paces the fetches alike. A stale JWKS is fetched again before
    the request goes on, unless in_a_thread (as in production).
    """
    config = read_config(resource_setting(stub, "jwks", **changes))
    extra = {} if in_a_thread else {"in_background": lambda refresh: refresh()}
    return JWKSVerifier(config, discoveries_of(config, Transport(timeout=config.timeout), clock), clock=clock, keys_clock=clock, **extra)


def introspection_verifier(stub: StubIssuer, clock: Callable[[], float], **changes: Any) -> IntrospectionVerifier:
    """An introspection-mode verifier of an API that trusts stub, on clock."""
    config = read_config(resource_setting(stub, "introspection", **changes))
    transport = Transport(timeout=config.timeout)
    [discovery] = discoveries_of(config, transport, clock)
    return IntrospectionVerifier(config, discovery, transport, clock=clock, monotonic=clock)


def discoveries_of(config: ResourceServerConfig, transport: Transport, clock: Callable[[], float]) -> list[Discovery]:
    """One ``Discovery`` per issuer config trusts, as ``resource_server.modes.build_verifier`` makes them, on clock."""
    return [Discovery(issuer, transport, metadata_url=config.metadata_url, clock=clock) for issuer in config.issuers]


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: one request a connection, so a stopped stub has no kept-alive connection left serving.
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        stub: StubIssuer = self.server.stub
        path = urlsplit(self.path).path
        stub.hits[path] += 1
        stub.headers[path] = dict(self.headers)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        failure = stub.failures.get(path)
        if failure == "hang":
            stub._release.wait(30)
            return
        if failure == "500":
            return self._send(500, b'{"error": "server_error"}')
        if failure == "not-json":
            return self._send(200, b"<html><body>Service Unavailable</body></html>", "text/html")
        if failure == "redirect":  # to a copy of the answer elsewhere, which a caller must not follow
            self.send_response(302)
            self.send_header("Location", REDIRECT_PATH)
            self.send_header("Content-Length", "0")
            return self.end_headers()
        if failure == "reset":  # headers and part of the body, then the connection is reset
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b'{"keys": [')
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            return
        if path in (stub.metadata_path, REDIRECT_PATH) and self.command == "GET":
            answer, status = stub.metadata, 200
        elif path == JWKS_PATH and self.command == "GET":
            answer, status = stub.jwks(), 200
        elif path == INTROSPECT_PATH and self.command == "POST":
            form = dict(parse_qsl(body.decode("ascii")))
            stub.introspection_requests.append({
                "authorization": self.headers.get("Authorization"),
                "content_type": self.headers.get("Content-Type"),
                "body": body.decode("ascii"),
                "form": form,
            })
            answer = stub.introspection(form) if callable(stub.introspection) else stub.introspection
            status = stub.introspection_status
        else:
            answer, status = {"error": "not_found"}, 404
        if failure == "oversize":  # a usable answer, but too long to be read
            answer = {**answer, "padding": "x" * OVERSIZE}
        if failure == "trickle":  # a usable answer, a byte every 50 ms: each read is quick, the whole is not
            return self._send(status, json.dumps(answer).encode(), trickle=0.05)
        self._send(status, json.dumps(answer).encode())

    def _send(self, status: int, body: bytes, content_type: str = "application/json", trickle: float = 0) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not trickle:
            return self.wfile.write(body)
        self.wfile.flush()
        for index in range(len(body)):
            if self.server.stub._release.wait(trickle):
                return
            self.wfile.write(body[index:index + 1])
            self.wfile.flush()


class Clock:
    """A clock the test moves: seconds, as ``time.time`` or ``time.monotonic`` would tell them."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@functools.cache
def _private_key_pem(algorithm: str, index: int) -> str:
    """The index-th key of algorithm: made once a test run (an RSA key takes a while), distinct within a stub."""
    return generate_private_key_pem(algorithm)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64json(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value).encode())
