"""DPoP proofs for the tests: made by a real client library (requests-oauth2client's ``DPoPKey``), or by
PyJWT when a test needs a proof no honest client makes."""

import base64
import hashlib
import json
import time
from typing import Any

import jwt
import pytest
from requests_oauth2client import DPoPKey

from clients.models import Application
from tests.resource.stub_issuer import StubIssuer

ISSUER = "http://127.0.0.1:8000"  # OAUTH_ISSUER in the tests
TOKEN_ENDPOINT = ISSUER + "/oauth/token"
HELLO = ISSUER + "/api/hello"


def ath(access_token: str) -> str:
    """RFC 9449 §4.2, computed here independently of the server's code."""
    return base64.urlsafe_b64encode(hashlib.sha256(access_token.encode()).digest()).rstrip(b"=").decode()


def proof(key: DPoPKey, htm: str = "POST", htu: str = TOKEN_ENDPOINT, access_token: str | None = None) -> str:
    """A proof as the client library makes it."""
    return str(key.proof(htm=htm, htu=htu, ath=ath(access_token) if access_token else None))


def forged_proof(key: DPoPKey, *, header: dict[str, Any] | None = None, drop: tuple[str, ...] = (), **claims: Any) -> str:
    """A proof signed with key by PyJWT, with the header members and claims the test chooses."""
    body = {"jti": f"jti-{time.monotonic_ns()}", "htm": "POST", "htu": TOKEN_ENDPOINT, "iat": int(time.time()), **claims}
    body = {name: value for name, value in body.items() if name not in drop}
    head = {"typ": "dpop+jwt", "jwk": dict(key.public_jwk), **(header or {})}
    head = {name: value for name, value in head.items() if value is not None}
    head = {"alg": key.alg, **head}
    # Put together by hand: jwt.encode would refuse some of the headers the tests want sent.
    algorithm = jwt.get_algorithm_by_name(key.alg)
    signing_input = f"{_b64json(head)}.{_b64json(body)}".encode()
    signature = algorithm.sign(signing_input, algorithm.prepare_key(key.private_key.to_pem()))
    return f"{signing_input.decode()}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def _b64json(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def header_of(token: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))


@pytest.fixture
def dpop_key() -> DPoPKey:
    return DPoPKey.generate(alg="ES256")


@pytest.fixture
def dpop_token(make_keys, request_token):
    """POST /oauth/token with a DPoP header (or none); the response."""

    def request(keys, proof_value: str | None, path: str = "/oauth/token", **fields):
        headers = {"HTTP_DPOP": proof_value} if proof_value is not None else {}
        return request_token(keys, path=path, headers=headers, **fields)

    return request


def require_dpop(keys) -> None:
    Application.objects.filter(key_pairs__client_id=keys.client_id).update(require_dpop=True)


@pytest.fixture
def stub_issuer():
    """An authorization server on 127.0.0.1 that the test controls (tests/resource/stub_issuer.py)."""
    issuer = StubIssuer()
    yield issuer
    issuer.close()
