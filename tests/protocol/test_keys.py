"""RFC 7517 (JWK Set), RFC 7638 (thumbprints) and RFC 9068 tokens, without a database."""

import jwt
import pytest

from tokens.protocol.formats import JWTFormat, OpaqueFormat, TokenClaims, decode_jwt, hash_token
from tokens.protocol.keys import SUPPORTED_ALGORITHMS, build_jwks, generate_private_key_pem, load_signing_key, public_jwk, thumbprint

CLAIMS = TokenClaims(
    iss="https://as.example", sub="c1", client_id="c1", aud="https://as.example", iat=1000, exp=2000,
    jti="j1", scope="read", env="sandbox",
)


def load(algorithm: str):
    pem = generate_private_key_pem(algorithm)
    jwk = public_jwk(pem, algorithm)
    return load_signing_key(kid=jwk["kid"], algorithm=algorithm, private_pem=pem, jwk=jwk)


def test_rfc7638_example_thumbprint():
    # RFC 7638 §3.1's worked example.
    jwk = {
        "kty": "RSA",
        "e": "AQAB",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    }
    assert thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize("algorithm", SUPPORTED_ALGORITHMS)
def test_jwk_is_public_only_and_named_by_its_thumbprint(algorithm):
    key = load(algorithm)
    jwk = key.public_jwk
    assert jwk["alg"] == algorithm and jwk["use"] == "sig"
    assert jwk["kid"] == thumbprint(jwk)
    assert not {"d", "p", "q", "dp", "dq", "qi"} & jwk.keys()
    assert build_jwks([key]) == {"keys": [jwk]}


@pytest.mark.parametrize("algorithm", SUPPORTED_ALGORITHMS)
def test_jwt_is_rfc9068_and_verifies_with_the_published_key(algorithm):
    key = load(algorithm)
    token = JWTFormat(key).mint(CLAIMS)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": algorithm, "kid": key.kid, "typ": "at+jwt"}
    public = jwt.PyJWK(key.public_jwk).key
    claims = jwt.decode(token, public, algorithms=[algorithm], audience=CLAIMS.aud, options={"verify_exp": False})
    assert claims == CLAIMS.as_dict()


def test_decode_jwt_checks_signature_issuer_audience_and_expiry():
    key = load("ES256")
    token = JWTFormat(key).mint(CLAIMS)
    verify = dict(find_key={key.kid: key}.get, issuer=CLAIMS.iss, audience=CLAIMS.aud, algorithms=list(SUPPORTED_ALGORITHMS))
    assert decode_jwt(token, now=1500, **verify)["jti"] == "j1"
    with pytest.raises(jwt.ExpiredSignatureError):
        decode_jwt(token, now=2000, **verify)
    with pytest.raises(jwt.InvalidIssuerError):
        decode_jwt(token, now=1500, **{**verify, "issuer": "https://other"})
    with pytest.raises(jwt.InvalidAudienceError):
        decode_jwt(token, now=1500, **{**verify, "audience": "https://other"})
    with pytest.raises(jwt.InvalidTokenError):
        decode_jwt(token[:-4] + "AAAA", now=1500, **verify)
    with pytest.raises(jwt.InvalidTokenError, match="unknown"):
        decode_jwt(token, now=1500, **{**verify, "find_key": {}.get})


def test_opaque_tokens_carry_256_random_bits_and_hash_stably():
    tokens = {OpaqueFormat().mint(CLAIMS) for _ in range(50)}
    assert len(tokens) == 50
    assert all(len(token) == 43 for token in tokens)  # 32 bytes, base64url without padding
    token = tokens.pop()
    assert hash_token(token) == hash_token(token) != hash_token(token + "x")
    assert len(hash_token(token)) == 64
