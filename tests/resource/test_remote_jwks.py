"""``jwks`` mode, the token's rules: an RFC 9068 access token verified against the issuer's JWKS.

RFC 9068 §4: ``typ`` ``at+jwt``, ``iss`` the issuer exactly, ``aud`` this API, ``exp`` ahead, the
signature by a published key; RFC 8725 §3.1: the algorithm is the API's choice and the key's own,
never the token's (no ``none``, no HMAC with a public key). A verified token is remembered until
its ``exp``, in at most ``CACHE_SIZE`` entries.
"""

import jwt
import pytest

from resource_server import jwks as jwks_mode
from tokens.protocol.errors import InvalidToken
from tokens.protocol.formats import TokenClaims
from tests.resource.stub_issuer import AUDIENCE, CLIENT_ID, JWKS_PATH, SANDBOX_AUDIENCE, jwks_verifier


@pytest.fixture
def key(stub_issuer):
    return stub_issuer.add_key("RS256")


@pytest.fixture
def verifier(stub_issuer, clock):
    return jwks_verifier(stub_issuer, clock)


def refused(verifier, token: str) -> str:
    with pytest.raises(InvalidToken) as error:
        verifier.verify(token)
    return error.value.description


def test_a_valid_token_gives_its_claims(stub_issuer, clock, key, verifier):
    token = stub_issuer.mint(key, clock.now, scope="read write", env="sandbox")
    claims = verifier.verify(token)
    assert isinstance(claims, TokenClaims)
    assert claims.as_dict() == jwt.decode(token, options={"verify_signature": False})
    assert (claims.iss, claims.aud, claims.client_id, claims.scope) == (stub_issuer.issuer, AUDIENCE, CLIENT_ID, "read write")
    assert stub_issuer.hits == {stub_issuer.metadata_path: 1, JWKS_PATH: 1}


def test_the_keys_are_fetched_on_first_need_not_before(stub_issuer, clock, key):
    jwks_verifier(stub_issuer, clock)
    assert stub_issuer.hits == {}


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "Ed25519", "EdDSA"])
def test_every_algorithm_the_server_signs_with_verifies_when_allowed(stub_issuer, clock, algorithm):
    key = stub_issuer.add_key(algorithm)
    verifier = jwks_verifier(stub_issuer, clock, ALGORITHMS=[algorithm])
    assert verifier.verify(stub_issuer.mint(key, clock.now)).client_id == CLIENT_ID


@pytest.mark.parametrize("typ", ["at+JWT", "application/at+jwt"])
def test_the_access_token_type_is_read_without_case(stub_issuer, clock, key, verifier, typ):
    token = stub_issuer.mint_with_header(key, clock.now, {"typ": typ, "kid": key.kid})
    assert verifier.verify(token).client_id == CLIENT_ID


@pytest.mark.parametrize("typ", ["JWT", "application/jwt", "dpop+jwt", None, 1])
def test_a_jwt_that_is_not_an_access_token_is_refused(stub_issuer, clock, key, verifier, typ):
    token = stub_issuer.mint_with_header(key, clock.now, {"kid": key.kid, "typ": typ})  # PyJWT leaves out a None typ
    assert refused(verifier, token) == "The access token is not valid: not an access token (typ)."


@pytest.mark.parametrize("iss", ["https://evil.example", "{issuer}/", "{issuer}/realms/a", ""])
def test_another_issuer_is_refused(stub_issuer, clock, key, verifier, iss):
    token = stub_issuer.mint(key, clock.now, iss=iss.format(issuer=stub_issuer.issuer))
    assert "Invalid issuer" in refused(verifier, token)


@pytest.mark.parametrize("aud", ["https://other.example", AUDIENCE + "/", ["https://other.example"]])
def test_another_audience_is_refused(stub_issuer, clock, key, verifier, aud):
    token = stub_issuer.mint_with_header(key, clock.now, {"typ": "at+jwt", "kid": key.kid}, aud=aud)
    assert refused(verifier, token) == "The access token is not valid: Audience doesn't match."


def test_the_sandbox_audience_is_accepted_only_when_configured(stub_issuer, clock, key, verifier):
    token = stub_issuer.mint(key, clock.now, aud=SANDBOX_AUDIENCE, env="sandbox")
    assert refused(verifier, token) == "The access token is not valid: Audience doesn't match."
    sandboxed = jwks_verifier(stub_issuer, clock, SANDBOX_AUDIENCE=SANDBOX_AUDIENCE)
    claims = sandboxed.verify(token)
    assert (claims.aud, claims.env) == (SANDBOX_AUDIENCE, "sandbox")
    assert sandboxed.verify(stub_issuer.mint(key, clock.now)).aud == AUDIENCE


@pytest.mark.parametrize("seconds_ago", [0, 1, 3600])
def test_an_expired_token_is_refused(stub_issuer, clock, key, verifier, seconds_ago):
    token = stub_issuer.mint(key, clock.now - 600, exp=int(clock.now) - seconds_ago)
    assert refused(verifier, token) == "The access token is not valid: token has expired."


def test_a_remembered_token_ends_at_its_exp(stub_issuer, clock, key, verifier):
    token = stub_issuer.mint(key, clock.now, exp=int(clock.now) + 30)
    assert verifier.verify(token).client_id == CLIENT_ID
    clock.advance(29)
    assert verifier.verify(token).client_id == CLIENT_ID
    clock.advance(1)
    assert refused(verifier, token) == "The access token is not valid: token has expired."


def test_an_iat_more_than_a_minute_ahead_is_refused(stub_issuer, clock, key, verifier):
    assert verifier.verify(stub_issuer.mint(key, clock.now, iat=int(clock.now) + 60)).client_id == CLIENT_ID
    token = stub_issuer.mint(key, clock.now, iat=int(clock.now) + 61)
    assert refused(verifier, token) == "The access token is not valid: it was issued in the future."


@pytest.mark.parametrize("claim", ["sub", "client_id", "jti", "iat", "exp"])
def test_a_missing_claim_is_refused(stub_issuer, clock, key, verifier, claim):
    token = stub_issuer.mint_with_header(key, clock.now, {"typ": "at+jwt", "kid": key.kid}, drop=(claim,))
    assert refused(verifier, token) == f"The access token is not valid: Token is missing the ?{claim}? claim."


def test_alg_none_is_refused(stub_issuer, clock, key, verifier):
    assert refused(verifier, stub_issuer.forge_alg_none(key, clock.now)) == "The access token is not valid: algorithm not allowed."


def test_hmac_with_the_public_key_as_secret_is_refused(stub_issuer, clock, key, verifier):
    assert refused(verifier, stub_issuer.forge_hs256(key, clock.now)) == "The access token is not valid: algorithm not allowed."


def test_an_algorithm_other_than_the_keys_own_is_refused(stub_issuer, clock, key, verifier):
    token = stub_issuer.mint_with_header(key, clock.now, {"typ": "at+jwt", "kid": key.kid}, algorithm="RS384")
    assert refused(verifier, token) == "The access token is not valid: algorithm not allowed."


def test_a_published_key_of_an_algorithm_the_api_does_not_allow_is_never_used(stub_issuer, clock, key):
    es256 = stub_issuer.add_key("ES256")
    token = stub_issuer.mint(es256, clock.now)
    assert refused(jwks_verifier(stub_issuer, clock), token) == "The access token is not valid: unknown signing key."
    assert jwks_verifier(stub_issuer, clock, ALGORITHMS=["RS256", "ES256"]).verify(token).client_id == CLIENT_ID


def test_a_token_signed_by_another_key_under_a_published_kid_is_refused(stub_issuer, clock, key, verifier):
    impostor = stub_issuer.add_key("RS256")
    stub_issuer.remove_key(impostor)
    token = stub_issuer.mint_with_header(impostor, clock.now, {"typ": "at+jwt", "kid": key.kid})
    assert refused(verifier, token) == "The access token is not valid: Signature verification failed."


def test_a_tampered_payload_is_refused(stub_issuer, clock, key, verifier):
    header, _, signature = stub_issuer.mint(key, clock.now).split(".")
    forged = jwt.encode(stub_issuer.claims(clock.now, scope="read admin"), "x" * 32, algorithm="HS256").split(".")[1]
    assert refused(verifier, f"{header}.{forged}.{signature}") == "The access token is not valid: Signature verification failed."


@pytest.mark.parametrize("token", ["", "opaque-token-of-43-characters-like-ours-abc", "a.b", "x" * 4097 + ".a.b", "é.a.b", "a.b.c\n"])
def test_what_cannot_be_our_jwt_costs_no_fetch(stub_issuer, key, verifier, token):
    with pytest.raises(InvalidToken):
        verifier.verify(token)
    assert stub_issuer.hits == {}


def test_a_remembered_token_is_not_verified_again(stub_issuer, clock, key, verifier, monkeypatch):
    decoded = count_decodes(monkeypatch)
    token = stub_issuer.mint(key, clock.now)
    for _ in range(10):
        assert verifier.verify(token).client_id == CLIENT_ID
    assert decoded == [token]
    assert stub_issuer.hits[JWKS_PATH] == 1


def test_at_most_cache_size_tokens_are_remembered(stub_issuer, clock, key, monkeypatch):
    verifier = jwks_verifier(stub_issuer, clock, CACHE_SIZE=2)
    decoded = count_decodes(monkeypatch)
    first, second, third = (stub_issuer.mint(key, clock.now) for _ in range(3))
    for token in (first, second, third, third, second):
        verifier.verify(token)
    assert decoded == [first, second, third]  # the last two were remembered
    verifier.verify(first)  # the least recently used, forgotten to make room for the third
    assert decoded == [first, second, third, first]


def count_decodes(monkeypatch) -> list[str]:
    decoded = []
    real = jwks_mode.decode_jwt

    def counting(token, **kwargs):
        decoded.append(token)
        return real(token, **kwargs)

    monkeypatch.setattr(jwks_mode, "decode_jwt", counting)
    return decoded
