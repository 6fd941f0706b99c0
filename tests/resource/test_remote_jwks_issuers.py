"""``jwks`` mode trusting several issuers (realms): each its own metadata, JWKS and keys.

RFC 8414 §3.1: each issuer's metadata is found from its own identifier (the well-known path before
the realm's path). RFC 8725 §3.8: the keys that verify a token must belong to the issuer it names,
so a token goes to the keys of its unverified ``iss`` alone and ``iss`` must then be that issuer:
realm A's token under a ``kid`` of realm B is refused, and an ``iss`` the API does not trust costs
no HTTP call. One issuer that fails leaves the others' tokens alone.
"""

import base64
import json
import time

import pytest
from rest_framework.test import APIRequestFactory

from resource_server.config import read_config
from resource_server.discovery import WELL_KNOWN
from resource_server.modes import build_verifier
from tests.remote_api.views import Invoices
from tests.resource.stub_issuer import CLIENT_ID, JWKS_PATH, StubIssuer, jwks_verifier, resource_setting
from tokens.protocol.errors import InvalidToken, TemporarilyUnavailable
from tokens.protocol.formats import unverified_issuer

UNTRUSTED = "The access token is not valid: its issuer is not one this API trusts."


@pytest.fixture
def alpha():
    stub = StubIssuer(issuer_path="/realms/alpha")
    yield stub
    stub.close()


@pytest.fixture
def beta():
    stub = StubIssuer(issuer_path="/realms/beta", first_key=10)  # keys of its own
    yield stub
    stub.close()


@pytest.fixture
def keys(alpha, beta):
    return alpha.add_key("RS256"), beta.add_key("RS256")


@pytest.fixture
def verifier(alpha, beta, clock):
    return jwks_verifier(alpha, clock, ISSUER=[alpha.issuer, beta.issuer])


def refused(verifier, token: str) -> str:
    with pytest.raises(InvalidToken) as error:
        verifier.verify(token)
    return error.value.description


def test_the_two_stubs_share_no_key(keys):
    key_a, key_b = keys
    assert key_a.kid != key_b.kid


def test_tokens_of_each_issuer_are_accepted_with_their_own_iss(alpha, beta, keys, clock, verifier):
    key_a, key_b = keys
    claims_a = verifier.verify(alpha.mint(key_a, clock.now, scope="read"))
    claims_b = verifier.verify(beta.mint(key_b, clock.now, scope="write"))
    assert (claims_a.iss, claims_a.scope, claims_a.client_id) == (alpha.issuer, "read", CLIENT_ID)
    assert (claims_b.iss, claims_b.scope, claims_b.client_id) == (beta.issuer, "write", CLIENT_ID)
    # Each issuer's metadata at its RFC 8414 §3.1 URL, each JWKS once.
    assert alpha.hits == {f"{WELL_KNOWN}/realms/alpha": 1, JWKS_PATH: 1}
    assert beta.hits == {f"{WELL_KNOWN}/realms/beta": 1, JWKS_PATH: 1}


def test_an_issuers_keys_are_fetched_only_when_one_of_its_tokens_comes(alpha, beta, keys, clock, verifier):
    for _ in range(3):
        assert verifier.verify(alpha.mint(keys[0], clock.now)).iss == alpha.issuer
    assert alpha.hits[JWKS_PATH] == 1
    assert beta.hits == {}


def test_a_token_of_one_issuer_under_a_kid_of_the_other_is_refused(alpha, beta, keys, clock, verifier):
    key_a, key_b = keys
    assert verifier.verify(beta.mint(key_b, clock.now)).iss == beta.issuer  # beta's keys are known to the process
    forged = alpha.mint(key_b, clock.now)  # iss alpha, signed by beta's key, beta's kid
    assert unverified_issuer(forged) == alpha.issuer
    assert refused(verifier, forged) == "The access token is not valid: unknown signing key."
    clock.advance(1)  # past the refetch pace: alpha's JWKS is read again for the kid, and still lacks it
    assert refused(verifier, forged) == "The access token is not valid: unknown signing key."
    assert alpha.hits[JWKS_PATH] == 2 and beta.hits[JWKS_PATH] == 1


def test_a_token_signed_by_the_other_issuers_key_under_its_own_kid_is_refused(alpha, beta, keys, clock, verifier):
    key_a, key_b = keys
    token = beta.mint_with_header(key_a, clock.now, {"typ": "at+jwt", "kid": key_b.kid})  # iss beta, beta's kid, alpha's key
    assert refused(verifier, token) == "The access token is not valid: Signature verification failed."


def test_a_token_naming_one_issuer_cannot_pass_as_the_other(alpha, beta, keys, clock, verifier):
    key_a, _ = keys
    # Signed by alpha with alpha's kid, but claiming beta: it goes to beta's keys, which lack alpha's kid.
    assert refused(verifier, alpha.mint(key_a, clock.now, iss=beta.issuer)) == "The access token is not valid: unknown signing key."
    assert alpha.hits == {}


@pytest.mark.parametrize("iss", ["https://evil.example", "{alpha}/", "{alpha}/realms/x", "{origin}", "", "{beta}x"])
def test_an_issuer_the_api_does_not_trust_is_refused_without_any_call(alpha, beta, keys, clock, verifier, iss):
    token = alpha.mint(keys[0], clock.now, iss=iss.format(alpha=alpha.issuer, beta=beta.issuer, origin=alpha.origin))
    assert refused(verifier, token) == UNTRUSTED
    assert alpha.hits == {} and beta.hits == {}


@pytest.mark.parametrize("iss", [None, 42, ["{alpha}"], {"{alpha}": 1}])
def test_an_iss_that_is_not_a_string_is_refused_without_any_call(alpha, beta, keys, clock, verifier, iss):
    iss = json.loads(json.dumps(iss).replace("{alpha}", alpha.issuer))
    header = {"alg": "RS256", "typ": "at+jwt", "kid": keys[0].kid}
    token = ".".join((encoded(header), encoded(alpha.claims(clock.now, iss=iss)), "c2ln"))  # PyJWT signs no such iss
    assert refused(verifier, token) == UNTRUSTED
    assert alpha.hits == {} and beta.hits == {}


def encoded(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def test_a_token_without_iss_is_refused_without_any_call(alpha, beta, keys, clock, verifier):
    token = alpha.mint_with_header(keys[0], clock.now, {"typ": "at+jwt", "kid": keys[0].kid}, drop=("iss",))
    assert refused(verifier, token) == UNTRUSTED
    assert alpha.hits == {} and beta.hits == {}


@pytest.mark.parametrize("payload", ["e30", "bm90IGpzb24", "WzFd", "!!!", ""])  # {}, "not json", [1], not base64, empty
def test_a_payload_that_names_no_issuer_is_refused_without_any_call(alpha, beta, keys, verifier, payload):
    assert refused(verifier, f"eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln") == UNTRUSTED
    assert alpha.hits == {} and beta.hits == {}


def test_an_issuer_that_is_down_leaves_the_other_alone(alpha, beta, keys, clock, verifier):
    key_a, key_b = keys
    beta.stop()
    with pytest.raises(TemporarilyUnavailable):
        verifier.verify(beta.mint(key_b, clock.now))
    for _ in range(3):
        assert verifier.verify(alpha.mint(key_a, clock.now)).iss == alpha.issuer
    assert alpha.hits == {f"{WELL_KNOWN}/realms/alpha": 1, JWKS_PATH: 1}


def test_an_issuer_whose_jwks_fails_leaves_the_other_alone(alpha, beta, keys, clock, verifier):
    key_a, key_b = keys
    alpha.failures[JWKS_PATH] = "500"
    with pytest.raises(TemporarilyUnavailable):
        verifier.verify(alpha.mint(key_a, clock.now))
    assert verifier.verify(beta.mint(key_b, clock.now)).iss == beta.issuer
    del alpha.failures[JWKS_PATH]
    clock.advance(1)
    assert verifier.verify(alpha.mint(key_a, clock.now)).iss == alpha.issuer


def test_a_rotation_in_one_issuer_fetches_only_its_jwks(alpha, beta, keys, clock, verifier):
    key_a, key_b = keys
    verifier.verify(alpha.mint(key_a, clock.now))
    verifier.verify(beta.mint(key_b, clock.now))
    rotated = beta.add_key("RS256")
    clock.advance(1)
    assert verifier.verify(beta.mint(rotated, clock.now)).iss == beta.issuer
    assert (alpha.hits[JWKS_PATH], beta.hits[JWKS_PATH]) == (1, 2)


def test_a_remembered_token_ends_when_its_own_issuer_drops_its_key(alpha, beta, keys, clock):
    verifier = jwks_verifier(alpha, clock, ISSUER=[alpha.issuer, beta.issuer], JWKS_MAX_AGE=60)
    key_a, key_b = keys
    token_a, token_b = alpha.mint(key_a, clock.now), beta.mint(key_b, clock.now)
    assert verifier.verify(token_a).iss == alpha.issuer and verifier.verify(token_b).iss == beta.issuer
    alpha.remove_key(key_a)
    clock.advance(60)  # JWKS_MAX_AGE: each set is fetched again when one of its tokens comes (at once, in these tests)
    assert refused(verifier, token_a) == "The access token is not valid: unknown signing key."
    assert verifier.verify(token_b).iss == beta.issuer


def test_the_setting_builds_one_discovery_per_issuer_from_its_own_url(alpha, beta, keys):
    verifier = build_verifier(read_config(resource_setting(alpha, ISSUER=[alpha.issuer, beta.issuer])))
    assert verifier.verify(beta.mint(keys[1], time.time())).iss == beta.issuer
    assert alpha.hits == {} and beta.hits == {f"{WELL_KNOWN}/realms/beta": 1, JWKS_PATH: 1}


def test_the_drf_classes_accept_each_trusted_issuer_and_show_its_iss(alpha, beta, keys, settings):
    settings.OAUTH_RESOURCE_SERVER = resource_setting(alpha, ISSUER=[alpha.issuer, beta.issuer])
    factory = APIRequestFactory()
    for stub, key in zip((alpha, beta), keys, strict=True):
        request = factory.get("/invoices", HTTP_AUTHORIZATION=f"Bearer {stub.mint(key, time.time())}")
        response = Invoices.as_view()(request)
        assert response.status_code == 200
        assert response.data == {"client_id": CLIENT_ID, "scope": "read", "iss": stub.issuer, "env": "production"}
    other = StubIssuer(first_key=20)
    try:
        token = other.mint(other.add_key("RS256"), time.time())
        response = Invoices.as_view()(factory.get("/invoices", HTTP_AUTHORIZATION=f"Bearer {token}"))
        response.render()
        assert response.status_code == 401
        assert response.data == {"error": "invalid_token", "error_description": "The access token is invalid, expired or revoked."}
        assert other.hits == {}
    finally:
        other.close()
