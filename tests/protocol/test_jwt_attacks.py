"""Attacks on JWT verification (RFC 8725 §2, §3.1; RFC 9068 §4): every forged token is refused.

The unverified ``iss`` that picks whose keys verify a token (RFC 8725 §3.8) never raises."""

import base64
import hashlib
import hmac
import json

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from tokens.protocol.errors import InvalidToken
from tokens.protocol.formats import decode_jwt, unverified_issuer
from tokens.protocol.keys import generate_private_key_pem, load_signing_key, public_jwk

ISSUER, AUDIENCE, NOW = "https://as.example", "https://api.example", 1_700_000_000


def make_key(algorithm="RS256"):
    pem = generate_private_key_pem(algorithm)
    jwk = public_jwk(pem, algorithm)
    return load_signing_key(kid=jwk["kid"], algorithm=algorithm, private_pem=pem)


KEY = make_key()


def claims(**changes):
    base = {"iss": ISSUER, "sub": "c1", "client_id": "c1", "aud": AUDIENCE, "iat": NOW, "exp": NOW + 600, "jti": "j1"}
    base.update(changes)
    return {name: value for name, value in base.items() if value is not None}


def sign(payload, key=KEY, headers=None):
    header = {"typ": "at+jwt", "kid": key.kid, **(headers or {})}
    return jwt.encode(payload, key.private_key, algorithm=key.algorithm, headers=header)


def verify(token, keys=(KEY,), algorithms=("RS256",)):
    by_kid = {key.kid: key for key in keys}
    return decode_jwt(
        token, find_key=by_kid.get, issuer=ISSUER, audience=AUDIENCE, algorithms=list(algorithms), now=NOW
    )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signing_input(header: dict, payload: dict) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"


def test_a_genuine_token_verifies():
    assert verify(sign(claims())).client_id == "c1"


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_is_refused(alg):
    token = signing_input({"alg": alg, "typ": "at+jwt", "kid": KEY.kid}, claims()) + "."
    with pytest.raises(InvalidToken):
        verify(token)


def test_hs256_signed_with_the_public_key_is_refused():
    public_pem = KEY.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    unsigned = signing_input({"alg": "HS256", "typ": "at+jwt", "kid": KEY.kid}, claims())
    signature = hmac.new(public_pem, unsigned.encode(), hashlib.sha256).digest()
    with pytest.raises(InvalidToken, match="algorithm"):
        verify(f"{unsigned}.{b64(signature)}", algorithms=("RS256", "HS256"))


def test_a_token_signed_by_a_foreign_key_with_our_kid_is_refused():
    token = sign(claims(), key=make_key(), headers={"kid": KEY.kid})
    with pytest.raises(InvalidToken, match="Signature verification failed"):
        verify(token)


def test_an_algorithm_outside_the_allowed_list_is_refused_even_for_our_own_key():
    es_key = make_key("ES256")
    with pytest.raises(InvalidToken, match="algorithm"):
        verify(sign(claims(), key=es_key), keys=(es_key,), algorithms=("RS256",))


@pytest.mark.parametrize("missing", ["exp", "iat", "iss", "aud", "sub", "client_id", "jti"])
def test_a_missing_required_claim_is_refused(missing):
    with pytest.raises(InvalidToken, match=f"missing the .{missing}. claim"):
        verify(sign(claims(**{missing: None})))


@pytest.mark.parametrize(("name", "value"), [("iss", "https://evil.example"), ("aud", "https://other-api.example")])
def test_a_wrong_issuer_or_audience_is_refused(name, value):
    with pytest.raises(InvalidToken, match="Invalid issuer|Audience doesn't match"):
        verify(sign(claims(**{name: value})))


@pytest.mark.parametrize("exp", [NOW, NOW - 1, "9999999999", True])
def test_an_expired_or_oddly_typed_exp_is_refused(exp):
    with pytest.raises(InvalidToken):
        verify(sign(claims(exp=exp)))


@pytest.mark.parametrize("typ", [None, "JWT", 7, ["at+jwt"]])
def test_a_token_not_typed_as_an_access_token_is_refused(typ):
    # PyJWT leaves typ out when given None.
    header = {"kid": KEY.kid, "typ": typ}
    token = jwt.api_jws.encode(json.dumps(claims()).encode(), KEY.private_key, algorithm="RS256", headers=header)
    with pytest.raises(InvalidToken):
        verify(token)


@pytest.mark.parametrize("kid", [None, 42, ["x"]])
def test_a_malformed_kid_is_refused(kid):
    assert verify(signed_by_hand({"alg": "RS256", "typ": "at+jwt", "kid": KEY.kid})).jti == "j1"  # the method works
    with pytest.raises(InvalidToken, match="unknown signing key"):
        verify(signed_by_hand({"alg": "RS256", "typ": "at+jwt", "kid": kid}))


def signed_by_hand(header: dict) -> str:
    """Signed without PyJWT's checks: it refuses to write a malformed header, an attacker does not."""
    unsigned = signing_input(header, claims())
    rs256 = jwt.algorithms.RSAAlgorithm(jwt.algorithms.RSAAlgorithm.SHA256)
    return f"{unsigned}.{b64(rs256.sign(unsigned.encode(), KEY.private_key))}"


def test_an_unknown_kid_is_refused():
    with pytest.raises(InvalidToken, match="unknown signing key"):
        verify(sign(claims(), headers={"kid": "no-such-kid"}))


@pytest.mark.parametrize("garbage", ["", "a.b.c", "e30.e30.", "eyJhbGciOiJSUzI1NiJ9..", "....", "\x00.\x00.\x00"])
def test_garbage_is_an_invalid_token_error_not_a_crash(garbage):
    with pytest.raises(InvalidToken):
        verify(garbage)


def test_the_unverified_issuer_is_the_iss_a_token_claims():
    assert unverified_issuer(sign(claims())) == ISSUER
    assert unverified_issuer(sign(claims(iss="https://as.example/realms/alpha"))) == "https://as.example/realms/alpha"


@pytest.mark.parametrize(
    "payload",
    [b64(b"{}"), b64(b'{"iss": 1}'), b64(b'{"iss": ["https://as.example"]}'), b64(b'{"iss": null}'), b64(b"[1]"),
     b64(b"not json"), b64(b"[" * 100_000), "%%%", ""],
)
def test_a_payload_naming_no_issuer_gives_an_empty_issuer_never_an_error(payload):
    assert unverified_issuer(f"{b64(b'{}')}.{payload}.sig") == ""


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a.b.c.d", f"{b64(b'{}')}.{b64(json.dumps({'iss': ISSUER}).encode())}"])
def test_what_is_not_three_segments_names_no_issuer(token):
    assert unverified_issuer(token) == ""
