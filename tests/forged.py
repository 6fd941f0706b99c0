"""Tokens an attacker could present, made from a genuine one (RFC 8725 §2)."""

import base64
import hashlib
import hmac
import json

import jwt
from cryptography.hazmat.primitives import serialization

from tokens.keystore import key_store
from tokens.protocol.keys import generate_private_key_pem, load_signing_key, public_jwk


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def foreign_key(algorithm: str = "RS256"):
    pem = generate_private_key_pem(algorithm)
    return load_signing_key(kid=public_jwk(pem, algorithm)["kid"], algorithm=algorithm, private_pem=pem)


def resign(token: str, *, key=None, kid: str | None = None, **changes) -> str:
    """The token's claims with changes, signed by key (ours by default) under kid (the key's)."""
    key = key or key_store.active_key()
    payload = {**claims_of(token), **changes}
    return jwt.encode(payload, key.private_key, algorithm=key.algorithm, headers={"typ": "at+jwt", "kid": kid or key.kid})


def tampered(token: str) -> str:
    """The same header and signature over claims with one more scope."""
    header, _, signature = token.split(".")
    payload = {**claims_of(token), "scope": "read write admin"}
    return f"{header}.{b64(json.dumps(payload).encode())}.{signature}"


def alg_none(token: str) -> str:
    header = {"alg": "none", "typ": "at+jwt", "kid": jwt.get_unverified_header(token)["kid"]}
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims_of(token)).encode())}."


def hs256_with_public_key(token: str) -> str:
    """HMAC-signed with our public key as the secret: the classic algorithm confusion."""
    key = key_store.find(jwt.get_unverified_header(token)["kid"])
    public_pem = key.public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "typ": "at+jwt", "kid": key.kid}
    unsigned = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims_of(token)).encode())}"
    return f"{unsigned}.{b64(hmac.new(public_pem, unsigned.encode(), hashlib.sha256).digest())}"


def nested_header(token: str) -> str:
    """A header of 2,500 nested arrays: past the JSON parser's recursion limit, under our length bound."""
    _, payload, signature = token.split(".")
    return f"{b64(b'[' * 2500)}.{payload}.{signature}"


def _our_kid(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


# Every forgery both the introspection endpoint and the resource side must refuse, by name.
FORGERIES = {
    "tampered": tampered,
    "alg-none": alg_none,
    "hs256-public-key": hs256_with_public_key,
    "unknown-kid": lambda token: resign(token, kid="no-such-kid"),
    "foreign-key": lambda token: resign(token, key=foreign_key()),
    "foreign-key-our-kid": lambda token: resign(token, key=foreign_key(), kid=_our_kid(token)),
    "other-issuer": lambda token: resign(token, iss="https://evil.example"),
    "other-audience": lambda token: resign(token, aud="https://other.example"),
    # Signed with our key, but not what this server issues: no such client, a subject that is not
    # the client, or a lifetime longer than any this server grants.
    "unknown-client": lambda token: resign(token, sub="nobody", client_id="nobody"),
    "subject-not-the-client": lambda token: resign(token, sub="someone-else"),
    "lifetime-too-long": lambda token: resign(token, exp=claims_of(token)["iat"] + 10 * 86400),
    "nested-header": nested_header,
}
