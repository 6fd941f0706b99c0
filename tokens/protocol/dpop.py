"""DPoP proofs (RFC 9449): read and check a ``DPoP`` header, and name the key it proves (``cnf.jkt``).

A proof is a JWT the client signs with a key of its own, made for one request: ``htm`` and ``htu``
name that request's method and URL, ``iat`` says when, ``jti`` makes it single-use, and at a
protected resource ``ath`` names the access token it goes with (§4.2). Checking follows §4.3;
whether a ``jti`` was seen before is the caller's store's answer (``replay_key`` names the entry),
as this module keeps no state. Errors at the token endpoint are 400 ``invalid_dpop_proof`` (§5);
a protected resource answers with the ``DPoP`` challenges of §7.1 (``DPoPInvalidToken``,
``DPoPInvalidProof``).
"""

import base64
import hashlib
import json
import math
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import jwt
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm, RSAPSSAlgorithm

from .errors import OAuthError, sanitize_error_text
from .keys import thumbprint

PROOF_TYPE = "dpop+jwt"  # §4.2
TOKEN_TYPE = "DPoP"  # §5: the token_type of a token bound to a proof's key
# Asymmetric algorithms only (§4.3 point 5: never "none", never a MAC). "Ed25519" is RFC 9864's name for EdDSA.
DPOP_ALGORITHMS = ("ES256", "RS256", "PS256", "EdDSA", "Ed25519")
_ALGORITHMS = {
    "ES256": ECAlgorithm(ECAlgorithm.SHA256),
    "RS256": RSAAlgorithm(RSAAlgorithm.SHA256),
    "PS256": RSAPSSAlgorithm(RSAPSSAlgorithm.SHA256),
    "EdDSA": OKPAlgorithm(),
    "Ed25519": OKPAlgorithm(),
}
# What each key type may carry: the public members (RFC 7518 §6, RFC 8037 §2). Anything private
# (d, p, q, dp, dq, qi, oth, k) makes the proof invalid (§4.3 point 7).
_PUBLIC_MEMBERS = {
    "RSA": {"kty", "n", "e"},
    "EC": {"kty", "crv", "x", "y"},
    "OKP": {"kty", "crv", "x"},
}
_KEY_TYPES = {"ES256": "EC", "RS256": "RSA", "PS256": "RSA", "EdDSA": "OKP", "Ed25519": "OKP"}
_IGNORED_JWK_MEMBERS = {"alg", "use", "kid", "key_ops", "ext"}
MAX_PROOF_LENGTH = 4096  # characters: an RSA-4096 proof is about 1.6 k; anything longer is garbage
MAX_JTI_LENGTH = 256
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class ProofPolicy:
    """How old and how far ahead a proof's ``iat`` may be, in seconds (§4.3 point 11, §11.1)."""

    max_age: int = 60
    max_ahead: int = 5
    algorithms: tuple[str, ...] = DPOP_ALGORITHMS


DEFAULT_POLICY = ProofPolicy()


@dataclass(frozen=True, slots=True)
class DPoPProof:
    """A proof that passed every check but the ``jti`` replay check: its key's RFC 7638 thumbprint and ids."""

    jkt: str
    jti: str
    iat: int
    htm: str
    htu: str

    @property
    def replay_key(self) -> str:
        """The name under which this proof's use is remembered: SHA-256 of key and ``jti`` (hex, 64 characters)."""
        return hashlib.sha256(f"{self.jkt} {self.jti}".encode("utf-8", "surrogatepass")).hexdigest()


class InvalidDPoPProof(OAuthError):
    """§5 (token endpoint) and §7.1 (resource): the ``DPoP`` header is missing where needed, malformed or wrong."""

    error = "invalid_dpop_proof"
    status_code = 400
    default_description = "The DPoP proof is invalid."


class DPoPChallenge(OAuthError):
    """A protected resource's 401 for a DPoP request (§7.1): ``WWW-Authenticate: DPoP error=..., algs="..."``."""

    status_code: ClassVar[int] = 401
    algorithms: ClassVar[tuple[str, ...]] = DPOP_ALGORITHMS

    @property
    def headers(self) -> dict[str, str]:
        # No '"' or '\\' can be in a description: the quoted-string needs no escaping.
        return {
            "WWW-Authenticate": f'DPoP error="{self.error}", error_description="{self.description}", '
            f'algs="{" ".join(self.algorithms)}"'
        }


class DPoPInvalidToken(DPoPChallenge):
    """The access token is not valid for DPoP: unknown, expired, not bound, or bound to another key (§7.1)."""

    error = "invalid_token"
    default_description = "The access token is invalid, expired, revoked or not bound to the proof's key."


class DPoPInvalidProof(DPoPChallenge):
    """The ``DPoP`` proof of a request to a protected resource is invalid (§7.1)."""

    error = "invalid_dpop_proof"
    default_description = "The DPoP proof is invalid."


def read_proof_header(value: str | None) -> str | None:
    """The one ``DPoP`` header's value, None when there is none; ``InvalidDPoPProof`` for several or an empty one.

    §4.3 point 1 allows exactly one. A WSGI server joins repeated headers with commas, which no
    JWS compact serialization contains, so a comma means there were several.
    """
    if value is None:
        return None
    value = value.strip()
    if not value or "," in value:
        raise InvalidDPoPProof("Send exactly one DPoP header holding one proof.")
    return value


def normalize_url(url: str) -> str | None:
    """url as §4.3 point 9 compares it: scheme and host lowercased, default port dropped, no query or fragment.

    RFC 3986 §6.2.2 and §6.2.3 (case, default port, an empty path is ``/``). None when url is not
    an absolute http(s) URL.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or parts.username is not None or parts.password is not None:
        return None
    host = parts.hostname  # lowercased by urlsplit; an IPv6 literal loses its brackets
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or port == DEFAULT_PORTS[scheme] else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", "", ""))


def access_token_hash(access_token: str) -> str:
    """The ``ath`` of an access token (§4.2): base64url SHA-256 of its ASCII, without padding."""
    digest = hashlib.sha256(access_token.encode("ascii", "surrogateescape")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def check_proof(
    proof: str,
    *,
    method: str,
    urls: Collection[str],
    now: int,
    access_token: str | None = None,
    policy: ProofPolicy = DEFAULT_POLICY,
) -> DPoPProof:
    """Check a DPoP proof for a request (§4.3, all but the replay check); ``InvalidDPoPProof`` on any failure.

    ``method`` is the request's, ``urls`` the URLs it may have been sent to (already normalized,
    see ``normalize_url``), ``now`` seconds since the epoch. ``access_token`` is given at a
    protected resource, which then requires ``ath`` to match it (§4.3 point 12); the token endpoint
    gives none, and an ``ath`` there is ignored. The caller then checks ``jti`` against its store
    of used proofs under ``DPoPProof.replay_key`` for ``policy.max_age + policy.max_ahead`` seconds.
    """
    try:
        return _check(proof, method, urls, now, access_token, policy)
    except InvalidDPoPProof:
        raise
    except (jwt.InvalidTokenError, ValueError, TypeError, KeyError, RecursionError, OverflowError) as exc:
        raise InvalidDPoPProof(f"The DPoP proof is invalid: {sanitize_error_text(str(exc))[:120]}.") from None


def _check(proof, method, urls, now, access_token, policy) -> DPoPProof:
    if not 0 < len(proof) <= MAX_PROOF_LENGTH or not proof.isascii() or proof.count(".") != 2:
        raise InvalidDPoPProof("The DPoP proof is not a signed JWT.")
    header = _segment(proof.split(".", 1)[0])
    if header.get("typ") != PROOF_TYPE:
        raise InvalidDPoPProof("The DPoP proof's typ must be dpop+jwt.")
    algorithm = header.get("alg")
    if algorithm not in policy.algorithms:
        raise InvalidDPoPProof(f"The DPoP proof's alg must be one of {', '.join(policy.algorithms)}.")
    jwk = header.get("jwk")
    public_key = _public_key(jwk, algorithm)
    claims = jwt.decode(
        proof, public_key, algorithms=[algorithm],
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False, "verify_aud": False, "verify_iss": False},
    )
    jti, htm, htu, iat = claims.get("jti"), claims.get("htm"), claims.get("htu"), claims.get("iat")
    if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
        raise InvalidDPoPProof("The DPoP proof needs a jti.")
    if not isinstance(htm, str) or htm != method:
        raise InvalidDPoPProof("The DPoP proof's htm is not this request's method.")
    if not isinstance(htu, str) or normalize_url(htu) not in urls:
        raise InvalidDPoPProof("The DPoP proof's htu is not this request's URL.")
    # A NumericDate (RFC 7519 §2): seconds, possibly with a fraction.
    if not isinstance(iat, (int, float)) or isinstance(iat, bool) or not math.isfinite(iat):
        raise InvalidDPoPProof("The DPoP proof needs iat, a number of seconds since the epoch.")
    iat = int(iat)
    if iat < now - policy.max_age or iat > now + policy.max_ahead:
        raise InvalidDPoPProof("The DPoP proof's iat is too old or ahead of this server's clock.")
    if access_token is not None:
        ath = claims.get("ath")
        if not isinstance(ath, str) or ath != access_token_hash(access_token):
            raise InvalidDPoPProof("The DPoP proof's ath does not match the access token.")
    return DPoPProof(jkt=thumbprint(jwk), jti=jti, iat=iat, htm=htm, htu=htu)


def _segment(segment: str) -> dict[str, Any]:
    try:
        value = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, TypeError, RecursionError):
        raise InvalidDPoPProof("The DPoP proof's header is not a JSON object.") from None
    if not isinstance(value, dict):
        raise InvalidDPoPProof("The DPoP proof's header is not a JSON object.")
    return value


def _public_key(jwk: Any, algorithm: str) -> Any:
    """The public key the header's ``jwk`` holds, if it is public and fits algorithm (§4.3 points 6 and 7)."""
    if not isinstance(jwk, dict) or not all(isinstance(value, str) for value in jwk.values()):
        raise InvalidDPoPProof("The DPoP proof's header needs jwk, a public key.")
    kty = jwk.get("kty")
    if kty != _KEY_TYPES[algorithm]:
        raise InvalidDPoPProof("The DPoP proof's jwk does not fit its alg.")
    if set(jwk) - _PUBLIC_MEMBERS[kty] - _IGNORED_JWK_MEMBERS:
        raise InvalidDPoPProof("The DPoP proof's jwk must hold a public key only.")
    if not _PUBLIC_MEMBERS[kty] <= set(jwk):
        raise InvalidDPoPProof("The DPoP proof's jwk lacks members of its key type.")
    if algorithm == "ES256" and jwk["crv"] != "P-256" or kty == "OKP" and jwk["crv"] != "Ed25519":
        raise InvalidDPoPProof("The DPoP proof's jwk curve does not fit its alg.")
    try:
        key = _ALGORITHMS[algorithm].from_jwk(jwk)
    except Exception:  # PyJWT raises several types (InvalidKeyError, ValueError, binascii.Error) for a bad JWK
        raise InvalidDPoPProof("The DPoP proof's jwk is not a valid key.") from None
    if kty == "RSA" and key.key_size < 2048:
        raise InvalidDPoPProof("The DPoP proof's RSA key must have at least 2048 bits.")
    return key
