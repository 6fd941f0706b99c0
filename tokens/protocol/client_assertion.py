"""Client authentication with a signed JWT: ``private_key_jwt`` (RFC 7523 §2.2 and §3, RFC 7521 §4.2).

The client signs a short-lived JWT with a private key whose public half it registered (a JWK Set,
inline or at a ``jwks_uri``); the server checks the signature, that ``iss`` and ``sub`` are the
client id, that ``aud`` names this server, that ``exp`` is near, and that the ``jti`` is new.
This module does the checks that need no database: reading a registered JWK Set (public keys
only) and verifying an assertion against it at a given time. Whether a ``jti`` was seen before is
the services' concern (``clients.client_assertions``).

The accepted algorithms are fixed here, never taken from the assertion (RFC 8725 §3.1): each
registered key allows only the algorithms of its type, so ``none``, ``HS256`` (with the public
key as the secret) and any algorithm confusion are refused before a signature is computed.
"""

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm, RSAPSSAlgorithm

from . import keys as _keys  # noqa: F401  (registers RFC 9864's "Ed25519" with PyJWT)

# RFC 7523 §2.2: the client_assertion_type of a JWT client assertion.
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# What a client may sign with, in the order the metadata lists them (RFC 8414 §2).
ASSERTION_ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA", "Ed25519")
# An assertion is for one request: its exp may be at most this far ahead (seconds).
MAX_ASSERTION_LIFETIME = 300
# Clocks differ: iat and nbf may be this far in the future, exp this far in the past (seconds).
CLOCK_SKEW = 30
# Larger assertions are refused unread (bytes); a signed JWT with a few claims is under 2 KiB.
MAX_ASSERTION_LENGTH = 8192
# A registered JWK Set holds at most this many keys (rotation needs two or three).
MAX_KEYS = 20
MIN_RSA_BITS = 2048

# Members that only a private or symmetric JWK has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_VERIFIERS = {
    "RS256": RSAAlgorithm(RSAAlgorithm.SHA256),
    "PS256": RSAPSSAlgorithm(RSAPSSAlgorithm.SHA256),
    "ES256": ECAlgorithm(ECAlgorithm.SHA256),
    "EdDSA": OKPAlgorithm(),
    "Ed25519": OKPAlgorithm(),
}


class AssertionRejected(Exception):
    """The assertion does not authenticate the client; ``reason`` says why (for the audit, never the caller)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnknownKey(AssertionRejected):
    """The assertion names a ``kid`` the registered set lacks: a ``jwks_uri`` may have a newer set."""

    def __init__(self) -> None:
        super().__init__("unknown_key")


@dataclass(frozen=True, slots=True)
class ClientKey:
    """One public key a client registered, with the algorithms its type allows."""

    kid: str | None
    algorithms: frozenset[str]
    public_key: Any = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class ClientKeySet:
    """The public keys of one client, as read from its JWK Set (RFC 7517 §5)."""

    keys: tuple[ClientKey, ...]

    def candidates(self, *, kid: str | None, algorithm: str) -> list[ClientKey]:
        """The keys that may have signed with algorithm: the one named kid, else every key without a clash.

        Raises ``UnknownKey`` when kid names no key here.
        """
        if kid is not None:
            named = [key for key in self.keys if key.kid == kid]
            if not named:
                raise UnknownKey()
            return [key for key in named if algorithm in key.algorithms]
        return [key for key in self.keys if algorithm in key.algorithms]


@dataclass(frozen=True, slots=True)
class VerifiedAssertion:
    """What the server keeps of a valid assertion: its ``jti``, to be used once, until ``exp`` (epoch seconds)."""

    client_id: str
    jti: str
    exp: int


def read_client_jwks(document: Any) -> ClientKeySet:
    """Read a client's JWK Set of public keys (RFC 7517 §5); raise ``ValueError`` saying what is wrong.

    Accepted: RSA keys of at least 2048 bits (RS256, PS256), EC P-256 (ES256) and OKP Ed25519
    (EdDSA, Ed25519); a key's ``alg`` narrows it to that one, and a key whose ``use`` is not
    ``sig`` is left out. Refused: a private key (``d``, ``p``, ...), a symmetric ``oct`` key, more
    than ``MAX_KEYS`` keys, two keys with one ``kid``, and a set with no usable key.
    """
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError('A JWK Set is a JSON object with a "keys" array.')
    entries = document["keys"]
    if len(entries) > MAX_KEYS:
        raise ValueError(f"A JWK Set here holds at most {MAX_KEYS} keys.")
    keys, kids = [], set()
    for number, jwk in enumerate(entries, 1):
        key = _read_jwk(jwk, number)
        if key is None:
            continue
        if key.kid is not None and key.kid in kids:
            raise ValueError(f"Key {number}: another key has the kid {key.kid!r}.")
        kids.add(key.kid)
        keys.append(key)
    if not keys:
        raise ValueError("The JWK Set has no signing key of a supported type (RSA, EC P-256, OKP Ed25519).")
    return ClientKeySet(tuple(keys))


def _read_jwk(jwk: Any, number: int) -> ClientKey | None:
    if not isinstance(jwk, dict):
        raise ValueError(f"Key {number} is not a JSON object.")
    if _PRIVATE_MEMBERS & jwk.keys():
        raise ValueError(f"Key {number} holds private or symmetric key material: register public keys only.")
    kty = jwk.get("kty")
    if kty == "oct":
        raise ValueError(f"Key {number} is a symmetric (oct) key: register public keys only.")
    if jwk.get("use", "sig") != "sig":
        return None
    kid = jwk.get("kid")
    if kid is not None and (not isinstance(kid, str) or not kid or len(kid) > 200):
        raise ValueError(f"Key {number}: kid must be a non-empty string.")
    by_type = {"RSA": ("RS256", "PS256"), "EC": ("ES256",), "OKP": ("EdDSA", "Ed25519")}
    if kty not in by_type:
        raise ValueError(f"Key {number}: key type {kty!r} is not supported (RSA, EC, OKP).")
    algorithms = frozenset(by_type[kty])
    if "alg" in jwk:
        if jwk["alg"] not in algorithms:
            raise ValueError(f"Key {number}: alg {jwk['alg']!r} is not one of {', '.join(sorted(algorithms))}.")
        algorithms = frozenset({jwk["alg"]})
    try:
        public_key = _VERIFIERS[sorted(algorithms)[0]].from_jwk(jwk)
    except (jwt.InvalidKeyError, ValueError, TypeError, KeyError):
        raise ValueError(f"Key {number} is not a valid {kty} public key.") from None
    if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size < MIN_RSA_BITS:
        raise ValueError(f"Key {number}: RSA keys must have at least {MIN_RSA_BITS} bits.")
    if isinstance(public_key, ec.EllipticCurvePublicKey) and not isinstance(public_key.curve, ec.SECP256R1):
        raise ValueError(f"Key {number}: EC keys must be on P-256 (ES256).")
    if kty == "OKP" and not isinstance(public_key, ed25519.Ed25519PublicKey):
        raise ValueError(f"Key {number}: OKP keys must be Ed25519.")
    if not isinstance(public_key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey)):
        raise ValueError(f"Key {number} is not a public key.")
    return ClientKey(kid=kid, algorithms=algorithms, public_key=public_key)


def read_assertion_client_id(assertion: str) -> str:
    """The client id an assertion claims (its ``sub``, which must equal ``iss``), unverified: only to find the client.

    RFC 7523 §3: ``iss`` and ``sub`` are both the client id. Raises ``AssertionRejected`` for
    anything that is not a JWS compact serialization with string ``iss`` and ``sub`` that agree.
    """
    payload = _unverified_segment(assertion, 1)
    issuer, subject = payload.get("iss"), payload.get("sub")
    if not isinstance(subject, str) or not subject:
        raise AssertionRejected("malformed")
    if issuer != subject:
        raise AssertionRejected("iss_not_sub")
    return subject


def verify_client_assertion(
    assertion: str, *, client_id: str, keys: ClientKeySet, audiences: Iterable[str], now: int
) -> VerifiedAssertion:
    """Verify an assertion of client_id against its registered keys at ``now`` (epoch seconds) (RFC 7523 §3).

    ``aud`` must name one of audiences (a string, or an array holding one); ``exp`` is required,
    not past and at most ``MAX_ASSERTION_LIFETIME`` ahead; ``iat`` and ``nbf``, when present, not
    in the future; ``jti`` is a required non-empty string. Raises ``AssertionRejected`` with the
    reason, or ``UnknownKey`` when the header's ``kid`` names no registered key.
    """
    header = _unverified_segment(assertion, 0)
    algorithm, kid = header.get("alg"), header.get("kid")
    if algorithm not in ASSERTION_ALGORITHMS:
        raise AssertionRejected("algorithm_not_allowed")
    if kid is not None and not isinstance(kid, str):
        raise AssertionRejected("malformed")
    candidates = keys.candidates(kid=kid, algorithm=algorithm)
    if not candidates:
        raise AssertionRejected("no_key_for_algorithm")
    claims = None
    for key in candidates:
        try:
            claims = jwt.decode(
                assertion, key.public_key, algorithms=[algorithm],
                options={"verify_aud": False, "verify_iss": False, "verify_exp": False, "verify_iat": False,
                         "verify_nbf": False, "verify_sub": False, "verify_jti": False},
            )
            break
        except jwt.InvalidSignatureError:
            continue
        except (jwt.InvalidTokenError, ValueError, TypeError):
            raise AssertionRejected("malformed") from None
    if claims is None:
        raise AssertionRejected("bad_signature")
    return _check_claims(claims, client_id=client_id, audiences=set(audiences), now=now)


def _check_claims(claims: dict[str, Any], *, client_id: str, audiences: set[str], now: int) -> VerifiedAssertion:
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise AssertionRejected("iss_or_sub_not_client_id")
    aud = claims.get("aud")
    named = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if not any(isinstance(value, str) and value in audiences for value in named):
        raise AssertionRejected("wrong_audience")
    exp = claims.get("exp")
    if not _is_time(exp):
        raise AssertionRejected("missing_exp")
    if exp <= now - CLOCK_SKEW:
        raise AssertionRejected("expired")
    if exp > now + MAX_ASSERTION_LIFETIME + CLOCK_SKEW:
        raise AssertionRejected("exp_too_far_ahead")
    for name in ("iat", "nbf"):
        if name in claims and (not _is_time(claims[name]) or claims[name] > now + CLOCK_SKEW):
            raise AssertionRejected(f"{name}_in_future")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 256:
        raise AssertionRejected("missing_jti")
    return VerifiedAssertion(client_id=client_id, jti=jti, exp=int(exp))


def _is_time(value: Any) -> bool:
    # RFC 7519 §2 NumericDate; bool is an int in Python, and not a time.
    return isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) < 1e11


def _unverified_segment(assertion: str, index: int) -> dict[str, Any]:
    """Header (0) or payload (1) of a compact JWS, read before its signature is checked."""
    if not isinstance(assertion, str) or len(assertion) > MAX_ASSERTION_LENGTH or assertion.count(".") != 2:
        raise AssertionRejected("malformed")
    segment = assertion.split(".")[index]
    try:
        value = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, TypeError, RecursionError):
        raise AssertionRejected("malformed") from None
    if not isinstance(value, dict):
        raise AssertionRejected("malformed")
    return value
