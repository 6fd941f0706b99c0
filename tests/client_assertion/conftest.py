"""Fixtures of the private_key_jwt tests (RFC 7523): client key pairs made here, assertions signed with them.

``make_signer("ES256")`` makes a key of that algorithm's type; ``register(signer)`` registers an
application whose key pair authenticates with private_key_jwt and holds the signer's public JWK;
``signer.assertion(client_id, ...)`` signs an assertion with sensible defaults, any claim or
header overridable (``None`` leaves a claim out).
"""

import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from clients.client_assertions import forget_client_key_sets
from clients.services import generate_keys
from tokens.protocol.client_assertion import JWT_BEARER

ISSUER = "http://testserver"
TOKEN_ENDPOINT = f"{ISSUER}/oauth/token"


@dataclass
class Signer:
    """A client's private key, its public JWK (with a kid) and the algorithm it signs with."""

    algorithm: str
    private_key: Any = field(repr=False)
    kid: str

    @property
    def public_jwk(self) -> dict[str, Any]:
        public = self.private_key.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        elif isinstance(public, ec.EllipticCurvePublicKey):
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig"}

    @property
    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk]}

    def assertion(self, client_id: str, *, audience: Any = TOKEN_ENDPOINT, now: int | None = None,
                  headers: dict | None = None, **claims: Any) -> str:
        now = int(time.time()) if now is None else now
        payload = {"iss": client_id, "sub": client_id, "aud": audience, "iat": now, "exp": now + 60,
                   "jti": str(uuid.uuid4()), **claims}
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(payload, self.private_key, algorithm=self.algorithm,
                          headers={"kid": self.kid, **(headers or {})})


def new_private_key(algorithm: str):
    if algorithm in ("RS256", "PS256"):
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return ed25519.Ed25519PrivateKey.generate()


@pytest.fixture
def make_signer():
    def make(algorithm: str = "ES256", kid: str | None = None) -> Signer:
        return Signer(algorithm, new_private_key(algorithm), kid or f"key-{uuid.uuid4().hex[:8]}")

    return make


@pytest.fixture
def register(make_application):
    """Register an application whose production key pair uses private_key_jwt; return its client id."""

    def make(signer: Signer | None = None, *, jwks_uri: str = "", name: str = "signed", **fields) -> str:
        application = make_application(name, **fields)
        keys = generate_keys(application=application, auth_method="private_key_jwt",
                             jwks=signer.jwks if signer and not jwks_uri else None, jwks_uri=jwks_uri)
        assert keys.client_secret == ""  # no secret exists for such a client
        return keys.client_id

    return make


def assertion_fields(assertion: str, **fields: str) -> dict[str, str]:
    return {"client_assertion_type": JWT_BEARER, "client_assertion": assertion, **fields}


@pytest.fixture
def post_assertion(api_client):
    """POST path with a client assertion and form fields (grant_type defaults to client_credentials at the token endpoint)."""

    def post(assertion: str, path: str = "/oauth/token", headers: dict | None = None, **fields: str):
        if path.endswith("/oauth/token"):
            fields.setdefault("grant_type", "client_credentials")
        body = urlencode(assertion_fields(assertion, **fields))
        return api_client.post(path, body, content_type="application/x-www-form-urlencoded", **(headers or {}))

    return post


@pytest.fixture(autouse=True)
def _issuer_and_fresh_key_sets(settings):
    settings.OAUTH_ISSUER = ISSUER
    forget_client_key_sets()
    yield
    forget_client_key_sets()
