"""Signing keys: generate, load and publish them as a JWK Set (RFC 7517, RFC 7638)."""

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

SUPPORTED_ALGORITHMS = ("RS256", "ES256", "EdDSA")
_JWK_WRITERS = {"RS256": RSAAlgorithm, "ES256": ECAlgorithm, "EdDSA": OKPAlgorithm}
# RFC 7638 §3.2: the members that make up the thumbprint, per key type.
_THUMBPRINT_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}


@dataclass(frozen=True, slots=True)
class SigningKeyMaterial:
    """A loaded key pair: the private half signs, ``public_jwk`` goes into the JWKS."""

    kid: str
    algorithm: str
    private_key: Any = field(repr=False)
    public_jwk: dict[str, str] = field(compare=False)

    @property
    def public_key(self) -> Any:
        return self.private_key.public_key()


def generate_private_key_pem(algorithm: str) -> str:
    """Make a new private key for algorithm (RSA 2048, P-256 or Ed25519) as PKCS#8 PEM."""
    if algorithm == "RS256":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif algorithm == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
    elif algorithm == "EdDSA":
        key = ed25519.Ed25519PrivateKey.generate()
    else:
        raise ValueError(f"Unsupported signing algorithm {algorithm!r}; use one of {SUPPORTED_ALGORITHMS}.")
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def public_jwk(private_pem: str, algorithm: str) -> dict[str, str]:
    """Describe the public half of a key as a JWK with its RFC 7638 thumbprint as ``kid``."""
    key = serialization.load_pem_private_key(private_pem.encode("ascii"), password=None)
    jwk = _JWK_WRITERS[algorithm].to_jwk(key.public_key(), as_dict=True)
    jwk = {name: value for name, value in jwk.items() if name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    return {**jwk, "kid": thumbprint(jwk), "alg": algorithm, "use": "sig"}


def thumbprint(jwk: dict[str, str]) -> str:
    """Compute the RFC 7638 JWK thumbprint (SHA-256, base64url without padding)."""
    members = {name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def load_signing_key(*, kid: str, algorithm: str, private_pem: str, jwk: dict[str, str]) -> SigningKeyMaterial:
    """Load a stored key once, so that signing never re-parses PEM."""
    private_key = serialization.load_pem_private_key(private_pem.encode("ascii"), password=None)
    return SigningKeyMaterial(kid=kid, algorithm=algorithm, private_key=private_key, public_jwk=jwk)


def build_jwks(keys: list[SigningKeyMaterial]) -> dict[str, list[dict[str, str]]]:
    """Publish the public halves as a JWK Set (RFC 7517 §5)."""
    return {"keys": [key.public_jwk for key in keys]}
