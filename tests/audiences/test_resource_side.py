"""The resource side checks its own audience (RFC 7519 §4.1.3, RFC 8707 §2): a token asked for another API is refused.

``/api/hello`` (database mode, no setting) answers to the realm's own audience; a database-mode
API may name another; ``jwks`` mode needs its ``AUDIENCE`` among the token's, string or array.
"""

import pytest

from clients.realms import default_realm
from resource_server.introspection import claims_from_introspection
from tests.audiences.conftest import BILLING, FILES, HR
from tests.resource.stub_issuer import AUDIENCE, jwks_verifier
from tokens.protocol.errors import InvalidToken
from tokens.services import validate_access_token

INVALID_AUDIENCE = {"error": "invalid_token", "error_description": "The access token is invalid, expired or revoked."}


def hello(api_client, token: str):
    return api_client.get("/api/hello", HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.mark.django_db
@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_api_hello_refuses_a_token_for_another_api(make_keys, ask, api_client, token_format):
    keys = make_keys(audiences=BILLING, token_format=token_format)
    response = hello(api_client, ask(keys, ("resource", BILLING)).json()["access_token"])
    assert response.status_code == 401
    assert response.json() == INVALID_AUDIENCE
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


@pytest.mark.django_db
@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_api_hello_takes_a_token_for_the_realms_own_audience(make_keys, ask, api_client, token_format):
    keys = make_keys(audiences=BILLING, token_format=token_format)
    response = hello(api_client, ask(keys).json()["access_token"])
    assert response.status_code == 200, response.content
    assert response.json()["client_id"] == keys.client_id


@pytest.mark.django_db
def test_api_hello_takes_a_token_whose_audiences_include_its_own(make_keys, ask, api_client, settings):
    settings.OAUTH_AUDIENCE = "https://auth.example.com"  # an audience an application may also list
    keys = make_keys(audiences=f"{BILLING} https://auth.example.com")
    token = ask(keys, ("resource", BILLING), ("resource", "https://auth.example.com")).json()["access_token"]
    assert hello(api_client, token).status_code == 200


@pytest.mark.django_db
def test_a_database_mode_api_answers_to_the_audience_it_names(make_keys, ask, api_client, settings):
    keys = make_keys(audiences=f"{BILLING} {FILES}")
    for_billing = ask(keys, ("resource", BILLING)).json()["access_token"]
    for_both = ask(keys, ("resource", FILES), ("resource", BILLING)).json()["access_token"]
    for_files = ask(keys, ("resource", FILES)).json()["access_token"]
    settings.OAUTH_RESOURCE_SERVER = {"MODE": "database", "AUDIENCE": BILLING}
    assert hello(api_client, for_billing).json()["client_id"] == keys.client_id
    assert hello(api_client, for_both).status_code == 200
    assert hello(api_client, for_files).json() == INVALID_AUDIENCE
    assert hello(api_client, ask(keys).json()["access_token"]).json() == INVALID_AUDIENCE  # the realm's own: not BILLING


@pytest.mark.django_db
def test_validate_access_token_checks_the_audiences_given(make_keys, ask):
    token = ask(make_keys(audiences=BILLING), ("resource", BILLING)).json()["access_token"]
    assert validate_access_token(token, audiences=[HR, BILLING]).aud == BILLING
    with pytest.raises(InvalidToken):
        validate_access_token(token, audiences=[HR])
    with pytest.raises(InvalidToken):
        validate_access_token(token)  # the realm's own audience only
    assert default_realm().is_default


@pytest.mark.parametrize(("aud", "accepted"), [
    (AUDIENCE, True), ([AUDIENCE], True), (["https://other.example", AUDIENCE], True),
    ("https://other.example", False), (["https://other.example", "https://more.example"], False),
])
def test_a_jwks_mode_api_needs_its_audience_among_the_tokens(stub_issuer, clock, aud, accepted):
    key = stub_issuer.add_key("RS256")
    verifier = jwks_verifier(stub_issuer, clock)
    token = stub_issuer.mint(key, clock.now, aud=tuple(aud) if isinstance(aud, list) else aud)
    if accepted:
        assert verifier.verify(token).aud == (tuple(aud) if isinstance(aud, list) else aud)
    else:
        with pytest.raises(InvalidToken) as error:
            verifier.verify(token)
        assert error.value.description == "The access token is not valid: Audience doesn't match."


@pytest.mark.parametrize("aud", [[], [1], {"a": 1}, 7, [AUDIENCE, 2]])
def test_a_jwks_mode_api_refuses_a_malformed_audience(stub_issuer, clock, aud):
    key = stub_issuer.add_key("RS256")
    verifier = jwks_verifier(stub_issuer, clock)
    token = stub_issuer.mint_with_header(key, clock.now, {"typ": "at+jwt", "kid": key.kid}, aud=aud)
    with pytest.raises(InvalidToken):
        verifier.verify(token)


@pytest.mark.parametrize(("aud", "matched"), [([BILLING, FILES], FILES), (FILES, FILES), ([BILLING], None)])
def test_an_introspection_mode_api_needs_its_audience_among_the_answers(aud, matched):
    answer = {"active": True, "exp": 2_000_000_000, "iat": 1_999_999_000, "client_id": "c", "aud": aud,
              "iss": "https://as.example"}
    claims = claims_from_introspection(answer, issuer="https://as.example", audiences=[FILES], now=1_999_999_500)
    assert (claims.aud if claims else None) == matched
