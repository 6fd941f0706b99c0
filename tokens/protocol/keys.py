"""Signing keys: generate, load and publish them as a JWK Set (RFC 7517, RFC 7638).

A key has two halves with two different users: the private half signs tokens and only issuance
ever loads it; the public half (a JWK) is what the JWKS publishes and what every verifier,
ours included, checks signatures with.
"""

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import Algorithm, ECAlgorithm, OKPAlgorithm, RSAAlgorithm

# RFC 9864 (2025) deprecates the polymorphic "EdDSA" for the fully specified "Ed25519"; verifiers
# that predate it know only "EdDSA" (docs/signing-keys.md says which accepts which). Both
# sign with an Ed25519 key.
SUPPORTED_ALGORITHMS = ("RS256", "ES256", "Ed25519", "EdDSA")
_ALGORITHMS: dict[str, Algorithm] = {
    "RS256": RSAAlgorithm(RSAAlgorithm.SHA256),
    "ES256": ECAlgorithm(ECAlgorithm.SHA256),
    "Ed25519": OKPAlgorithm(),
    "EdDSA": OKPAlgorithm(),
}
# RFC 7638 §3.2: the members that make up the thumbprint, per key type.
_THUMBPRINT_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}

try:  # PyJWT (2.15) does not know RFC 9864's name yet; teach jwt.decode the same algorithm under it.
    jwt.register_algorithm("Ed25519", OKPAlgorithm())
except ValueError:  # a PyJWT that already knows it
    pass


@dataclass(frozen=True, slots=True)
class PublishedKey:
    """The public half of a signing key, as the JWKS publishes it and verifiers use it."""

    kid: str
    algorithm: str
    public_key: Any = field(repr=False, compare=False)
    public_jwk: dict[str, str] = field(compare=False)


@dataclass(frozen=True, slots=True)
class SigningKeyMaterial:
    """The private half of the active key: only issuance ever loads one."""

    kid: str
    algorithm: str
    private_key: Any = field(repr=False, compare=False)

    @property
    def public_key(self) -> Any:
        return self.private_key.public_key()


def signing_algorithm(algorithm: str) -> Algorithm:
    """PyJWT's implementation of a JWS ``alg`` we sign with (RFC 7518 §3.1, RFC 9864 §2.2)."""
    try:
        return _ALGORITHMS[algorithm]
    except KeyError:
        raise ValueError(f"Unsupported signing algorithm {algorithm!r}; use one of {', '.join(SUPPORTED_ALGORITHMS)}.") from None


def generate_private_key_pem(algorithm: str) -> str:
    """Make a new private key for algorithm (RSA 2048, P-256 or Ed25519) as PKCS#8 PEM.

    Raises ``ValueError`` for an algorithm outside ``SUPPORTED_ALGORITHMS``.
    """
    if algorithm == "RS256":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif algorithm == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
    elif algorithm in ("Ed25519", "EdDSA"):
        key = ed25519.Ed25519PrivateKey.generate()
    else:
        signing_algorithm(algorithm)  # raises the ValueError
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def public_jwk(private_pem: str, algorithm: str) -> dict[str, str]:
    """Describe the public half of a key as a JWK with its RFC 7638 thumbprint as ``kid``."""
    key = serialization.load_pem_private_key(private_pem.encode("ascii"), password=None)
    jwk = signing_algorithm(algorithm).to_jwk(key.public_key(), as_dict=True)
    jwk = {name: value for name, value in jwk.items() if name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    return {**jwk, "kid": thumbprint(jwk), "alg": algorithm, "use": "sig"}


def thumbprint(jwk: dict[str, str]) -> str:
    """Compute the RFC 7638 JWK thumbprint (SHA-256, base64url without padding)."""
    members = {name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def load_published_key(*, kid: str, algorithm: str, jwk: dict[str, str]) -> PublishedKey:
    """Load the public half of a stored key from its JWK alone (no private key, no decryption)."""
    public_key = signing_algorithm(algorithm).from_jwk(jwk)
    return PublishedKey(kid=kid, algorithm=algorithm, public_key=public_key, public_jwk=jwk)


def load_signing_key(*, kid: str, algorithm: str, private_pem: str) -> SigningKeyMaterial:
    """Load the private half of the active key once, so that signing never re-parses PEM."""
    private_key = serialization.load_pem_private_key(private_pem.encode("ascii"), password=None)
    return SigningKeyMaterial(kid=kid, algorithm=algorithm, private_key=private_key)


def build_jwks(keys: list[PublishedKey]) -> dict[str, list[dict[str, str]]]:
    """Publish the public halves as a JWK Set (RFC 7517 §5)."""
    return {"keys": [key.public_jwk for key in keys]}


def published_algorithms(keys: list[PublishedKey]) -> list[str]:
    """The ``alg`` values of the published keys, in ``SUPPORTED_ALGORITHMS`` order (RFC 8414 §2)."""
    used = {key.algorithm for key in keys}
    return [algorithm for algorithm in SUPPORTED_ALGORITHMS if algorithm in used]
