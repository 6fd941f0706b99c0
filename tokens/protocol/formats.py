"""The two access token formats behind one small protocol: opaque and JWT (RFC 9068)."""

import base64
import functools
import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import jwt

from .errors import InvalidToken
from .keys import PublishedKey, SigningKeyMaterial, signing_algorithm

JWT_TYPE = "at+jwt"  # RFC 9068 §2.1
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub", "client_id", "jti")
# How far apart two clocks may be, in seconds: an iat further ahead than this was never issued.
CLOCK_SKEW_SECONDS = 60
# Longest token worth a look, in characters: ours are far shorter; anything longer is garbage.
MAX_TOKEN_LENGTH = 4096


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """The RFC 9068 §2.2 claims of an access token, plus the key's environment.

    ``aud`` is one audience (a string, the common case) or several (a tuple, RFC 8707 §2).
    ``jkt`` is the RFC 7638 thumbprint of the key a DPoP-bound token is bound to (RFC 9449 §6:
    the claim ``cnf: {"jkt": ...}``), "" for a bearer token.
    """

    iss: str
    sub: str
    client_id: str
    aud: str | tuple[str, ...]
    iat: int
    exp: int
    jti: str
    scope: str
    env: str
    jkt: str = ""

    def as_dict(self) -> dict[str, Any]:
        # Spelled out: dataclasses.asdict deep-copies every value, a cost paid on every token.
        claims = {
            "iss": self.iss,
            "sub": self.sub,
            "client_id": self.client_id,
            "aud": self.aud,
            "iat": self.iat,
            "exp": self.exp,
            "jti": self.jti,
            "scope": self.scope,
            "env": self.env,
        }
        if self.jkt:
            claims["cnf"] = {"jkt": self.jkt}
        return claims


class AccessTokenFormat(Protocol):
    name: ClassVar[str]

    def mint(self, claims: TokenClaims) -> str:
        """Turn claims into the string the client receives."""
        ...


class OpaqueFormat:
    """A random reference token: 256 bits from ``secrets``, stored only as its hash."""

    name: ClassVar[str] = "opaque"

    def mint(self, claims: TokenClaims) -> str:
        return secrets.token_urlsafe(32)


class JWTFormat:
    """A self-contained token signed with the active key (RFC 9068).

    The JWS compact serialization (RFC 7515 §7.1) is put together here around PyJWT's signing
    algorithm: the header is the same for every token of a key, so it is encoded once per key,
    which ``jwt.encode`` would redo (with its checks) on every token.
    """

    name: ClassVar[str] = "jwt"

    def __init__(self, key: SigningKeyMaterial) -> None:
        self.key = key

    def mint(self, claims: TokenClaims) -> str:
        key = self.key
        payload = _base64url(json.dumps(claims.as_dict(), separators=(",", ":")).encode())
        signing_input = _jws_header(key.algorithm, key.kid) + b"." + payload
        signature = signing_algorithm(key.algorithm).sign(signing_input, key.private_key)
        return (signing_input + b"." + _base64url(signature)).decode("ascii")


def _base64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


@functools.lru_cache(maxsize=64)
def _jws_header(algorithm: str, kid: str) -> bytes:
    return _base64url(json.dumps({"alg": algorithm, "kid": kid, "typ": JWT_TYPE}, separators=(",", ":")).encode())


def new_jti() -> str:
    """Make a unique token identifier (RFC 7519 §4.1.7)."""
    return secrets.token_urlsafe(16)


def hash_token(token: str) -> str:
    """The one way a token is turned into what the database stores: its SHA-256 hex digest."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def is_plausible_token(token: str) -> bool:
    """Tell whether token is worth verifying or looking up: ours are short, printable ASCII."""
    return 0 < len(token) <= MAX_TOKEN_LENGTH and token.isprintable() and token.isascii()


def looks_like_jwt(token: str) -> bool:
    """Tell a JWS compact serialization (three dot-separated parts) from an opaque token."""
    return token.count(".") == 2


def _unverified_header(token: str) -> dict[str, Any]:
    """The JOSE header, read only to choose the key (RFC 7515 §4).

    ``jwt.decode`` parses and checks every segment strictly afterwards; PyJWT's own
    ``get_unverified_header`` would do all of that work twice on every request.
    """
    return _unverified_object(token.split(".", 1)[0], "JOSE header")


def _unverified_object(segment: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    # binascii.Error and JSONDecodeError are ValueErrors; deep nesting exhausts the parser's stack.
    except (ValueError, TypeError, RecursionError):
        raise jwt.DecodeError(f"invalid {what}") from None
    if not isinstance(value, dict):
        raise jwt.DecodeError(f"invalid {what}")
    return value


def unverified_kid(token: str) -> str:
    """The ``kid`` named in a JWT's header; only for a token that has just been verified."""
    return str(_unverified_header(token).get("kid", ""))


def unverified_issuer(token: str) -> str:
    """The ``iss`` a JWT claims, unverified: only to choose whose keys verify it; "" if it names none.

    The token must then be verified with that issuer's keys alone and ``iss`` checked against it
    (RFC 8725 §3.8: the keys must belong to the issuer the token names).
    """
    segments = token.split(".")
    try:
        issuer = _unverified_object(segments[1], "JWT payload").get("iss") if len(segments) == 3 else None
    except jwt.DecodeError:
        return ""
    return issuer if isinstance(issuer, str) else ""


def decode_jwt(
    token: str,
    *,
    find_key: Callable[[str], PublishedKey | None],
    issuer: str,
    audience: str | list[str] | None,
    algorithms: list[str],
    now: int,
) -> TokenClaims:
    """Verify an RFC 9068 access token and return its claims, or raise ``InvalidToken``.

    The accepted algorithms come from the caller's settings, never from the token (RFC 8725
    §3.1); the header's ``kid`` only chooses among our own published keys. ``aud`` must be the
    audience given, or one of them when a list is given (RFC 7519 §4.1.3); None leaves that check to
the caller, who learns the audiences from the claims (``aud`` is still required: a string, or a
non-empty array of strings, which becomes a tuple). ``scope`` and ``env``
    may be absent (RFC 9068 §2.2.3); the other claims are required. PyJWT's errors, and anything a
    malformed token makes it raise, become ``InvalidToken`` here.
    """
    try:
        claims = _decode(token, find_key, issuer, audience, algorithms, now)
        values = {name: claims.get(name, "") for name in _JWT_CLAIMS}
        if not isinstance(values["aud"], str):
            values["aud"] = tuple(values["aud"])
        return TokenClaims(**values, jkt=confirmed_jkt(claims.get("cnf")))
    except (jwt.InvalidTokenError, ValueError, TypeError) as exc:
        raise InvalidToken(f"The access token is not valid: {exc}.") from None


# The TokenClaims read from a JWT by name; jkt is read from cnf (a top-level "jkt" means nothing).
_JWT_CLAIMS = tuple(name for name in TokenClaims.__slots__ if name != "jkt")


def confirmed_jkt(cnf: Any) -> str:
    """The key thumbprint a token's ``cnf`` claim binds it to (RFC 9449 §6.1), "" when it has no ``cnf``.

    Raises ``ValueError`` for a ``cnf`` that is there but is not ``{"jkt": "<thumbprint>"}``: a
    confirmation this server cannot check must not be read as none.
    """
    if cnf is None:
        return ""
    if not isinstance(cnf, dict) or set(cnf) != {"jkt"} or not isinstance(cnf["jkt"], str) or not cnf["jkt"]:
        raise ValueError("cnf is not a jkt confirmation")
    return cnf["jkt"]


def _decode(token, find_key, issuer, audience, algorithms, now) -> dict[str, Any]:
    header = _unverified_header(token)
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in (JWT_TYPE, f"application/{JWT_TYPE}"):
        raise jwt.InvalidTokenError("not an access token (typ)")
    kid = header.get("kid")
    key = find_key(kid) if isinstance(kid, str) else None
    if key is None:
        raise jwt.InvalidTokenError("unknown signing key")
    if header.get("alg") != key.algorithm or key.algorithm not in algorithms:
        raise jwt.InvalidTokenError("algorithm not allowed")
    claims = jwt.decode(
        token,
        key.public_key,
        algorithms=[key.algorithm],
        issuer=issuer,
        audience=audience,
        options={"require": list(REQUIRED_CLAIMS), "verify_iat": False, "verify_exp": False,
                 "verify_aud": audience is not None},
    )
    if not isinstance(claims["exp"], int) or claims["exp"] <= now:
        raise jwt.ExpiredSignatureError("token has expired")
    if not isinstance(claims["iat"], int):
        raise jwt.InvalidTokenError("iat is not a whole number")
    for name in ("iss", "sub", "client_id", "jti", "scope", "env"):
        if name in claims and not isinstance(claims[name], str):
            raise jwt.InvalidTokenError(f"{name} is not a string")
    aud = claims["aud"]
    if not isinstance(aud, str) and not (
        isinstance(aud, list) and aud and all(isinstance(value, str) for value in aud)
    ):
        raise jwt.InvalidTokenError("aud is neither a string nor an array of strings")
    return claims
