"""jwks mode's key set when the issuer's JWKS endpoint fails mid-answer (RFC 7517 §5 fetched over HTTP).

A connection reset while the body is read is an unreachable server like any other: the keys
fetched before stay in use, and a process that has none answers 503, never a 500.
"""

import json
import socket
import struct
import threading
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from resource_server.jwks import KeySet
from resource_server.transport import IssuerUnreachable


class OneAnswerAtATime:
    """A JWKS endpoint on a raw socket: each connection gets the next queued answer, or a reset."""

    def __init__(self) -> None:
        self.answers: list[bytes | None] = []  # None: headers and half a body, then a reset
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/.well-known/jwks.json"
        threading.Thread(target=self._serve, daemon=True).start()

    def endpoint(self, name: str) -> str:  # what KeySet asks of its Discovery
        return self.url

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            with connection:
                connection.recv(65536)
                answer = self.answers.pop(0) if self.answers else None
                if answer is None:
                    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9000\r\n\r\n{\"keys\": [")
                    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with RST
                else:
                    connection.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                        + f"Content-Length: {len(answer)}\r\n\r\n".encode() + answer
                    )

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def endpoint() -> Iterator[OneAnswerAtATime]:
    server = OneAnswerAtATime()
    yield server
    server.close()


def jwks_with(kid: str) -> bytes:
    public_jwk = json.loads(RSAAlgorithm.to_jwk(rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()))
    return json.dumps({"keys": [{**public_jwk, "kid": kid, "alg": "RS256", "use": "sig"}]}).encode()


def key_set(endpoint: OneAnswerAtATime, clock: list[float]) -> KeySet:
    return KeySet(endpoint, algorithms=("RS256",), max_age=300, timeout=2, clock=lambda: clock[0])


def test_a_reset_while_refetching_keeps_the_keys_fetched_before(endpoint):
    clock = [1000.0]
    keys = key_set(endpoint, clock)
    endpoint.answers.append(jwks_with("k1"))
    assert keys.find("k1") is not None

    clock[0] += 10  # past the refetch limit: an unknown kid fetches again, and the endpoint resets
    with pytest.raises(IssuerUnreachable):  # k2 may be a key the server rotated to: not "unknown"
        keys.find("k2")
    assert keys.find("k1") is not None


def test_a_reset_on_the_first_fetch_is_an_unreachable_issuer(endpoint):
    with pytest.raises(IssuerUnreachable):
        key_set(endpoint, [1000.0]).find("k1")
