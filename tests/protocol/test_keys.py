"""RFC 7517 (JWK Set), RFC 7638 (thumbprints) and RFC 9068 tokens, without a database."""

import jwt
import pytest

from tokens.protocol.errors import InvalidToken
from tokens.protocol.formats import JWTFormat, OpaqueFormat, TokenClaims, decode_jwt, hash_token
from tokens.protocol.keys import (
    SUPPORTED_ALGORITHMS,
    build_jwks,
    generate_private_key_pem,
    load_published_key,
    load_signing_key,
    public_jwk,
    published_algorithms,
    thumbprint,
)

CLAIMS = TokenClaims(
    iss="https://as.example", sub="c1", client_id="c1", aud="https://as.example", iat=1000, exp=2000,
    jti="j1", scope="read", env="sandbox",
)


def load(algorithm: str):
    """The private half (to sign) and the public half (to publish and verify) of a new key."""
    pem = generate_private_key_pem(algorithm)
    jwk = public_jwk(pem, algorithm)
    return (
        load_signing_key(kid=jwk["kid"], algorithm=algorithm, private_pem=pem),
        load_published_key(kid=jwk["kid"], algorithm=algorithm, jwk=jwk),
    )


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
    _, key = load(algorithm)
    jwk = key.public_jwk
    assert jwk["alg"] == algorithm and jwk["use"] == "sig"
    assert jwk["kid"] == thumbprint(jwk)
    assert not {"d", "p", "q", "dp", "dq", "qi"} & jwk.keys()
    assert build_jwks([key]) == {"keys": [jwk]}


def test_an_unknown_algorithm_is_refused_with_the_supported_ones_named():
    with pytest.raises(ValueError, match="RS256, ES256, Ed25519, EdDSA"):
        generate_private_key_pem("HS256")


@pytest.mark.parametrize("algorithm", SUPPORTED_ALGORITHMS)
def test_jwt_is_rfc9068_and_verifies_with_the_published_key(algorithm):
    signing, published = load(algorithm)
    token = JWTFormat(signing).mint(CLAIMS)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": algorithm, "kid": signing.kid, "typ": "at+jwt"}
    claims = jwt.decode(token, published.public_key, algorithms=[algorithm], audience=CLAIMS.aud, options={"verify_exp": False})
    assert claims == CLAIMS.as_dict()


def test_ed25519_is_rfc9864s_name_for_the_same_signature_as_eddsa():
    signing, published = load("Ed25519")
    assert published.public_jwk["kty"] == "OKP" and published.public_jwk["crv"] == "Ed25519"
    assert published.public_jwk["alg"] == "Ed25519"
    token = JWTFormat(signing).mint(CLAIMS)
    verify = dict(find_key={published.kid: published}.get, issuer=CLAIMS.iss, audience=CLAIMS.aud)
    assert decode_jwt(token, now=1500, algorithms=["Ed25519"], **verify).jti == "j1"
    # The setting names the algorithms allowed: an Ed25519 token is not an EdDSA one.
    with pytest.raises(InvalidToken, match="algorithm"):
        decode_jwt(token, now=1500, algorithms=["EdDSA"], **verify)


def test_published_algorithms_follow_the_keys_in_a_fixed_order():
    keys = [load(algorithm)[1] for algorithm in ("EdDSA", "RS256", "EdDSA")]
    assert published_algorithms(keys) == ["RS256", "EdDSA"]
    assert published_algorithms([]) == []


def test_decode_jwt_checks_signature_issuer_audience_and_expiry():
    signing, key = load("ES256")
    token = JWTFormat(signing).mint(CLAIMS)
    verify = dict(find_key={key.kid: key}.get, issuer=CLAIMS.iss, audience=CLAIMS.aud, algorithms=list(SUPPORTED_ALGORITHMS))
    assert decode_jwt(token, now=1500, **verify).jti == "j1"
    with pytest.raises(InvalidToken, match="(?i)expired"):
        decode_jwt(token, now=2000, **verify)
    with pytest.raises(InvalidToken, match="(?i)issuer"):
        decode_jwt(token, now=1500, **{**verify, "issuer": "https://other"})
    with pytest.raises(InvalidToken, match="(?i)audience"):
        decode_jwt(token, now=1500, **{**verify, "audience": "https://other"})
    with pytest.raises(InvalidToken):
        decode_jwt(token[:-4] + "AAAA", now=1500, **verify)
    with pytest.raises(InvalidToken, match="unknown"):
        decode_jwt(token, now=1500, **{**verify, "find_key": {}.get})


def test_opaque_tokens_carry_256_random_bits_and_hash_stably():
    tokens = {OpaqueFormat().mint(CLAIMS) for _ in range(50)}
    assert len(tokens) == 50
    assert all(len(token) == 43 for token in tokens)  # 32 bytes, base64url without padding
    token = tokens.pop()
    assert hash_token(token) == hash_token(token) != hash_token(token + "x")
    assert len(hash_token(token)) == 64
