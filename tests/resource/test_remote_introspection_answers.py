"""``introspection`` mode, pure rules: what an RFC 7662 §2.2 answer must say, and the API's credentials.

An answer is a live token for this API only if ``active`` is ``true``, ``exp`` is ahead, ``iss``
(when named) is the issuer, and ``aud`` (a string or a list, RFC 7519 §4.1.3) names this API. The
API authenticates with HTTP Basic of its form-encoded id and secret (RFC 6749 §2.3.1).
"""

import base64

import pytest

from resource_server.introspection import basic_authorization, claims_from_introspection
from tokens.protocol.client_auth import parse_basic_authorization
from tokens.protocol.formats import TokenClaims

ISSUER = "https://auth.example.com"
AUDIENCE = "https://invoices.example"
SANDBOX = "https://invoices.example/sandbox"
NOW = 1_700_000_000


def answer(**changes) -> dict:
    return {
        "active": True, "scope": "read write", "client_id": "billing-7f3a", "token_type": "Bearer", "exp": NOW + 300,
        "iat": NOW - 10, "sub": "billing-7f3a", "aud": AUDIENCE, "iss": ISSUER, "jti": "j-1", "env": "production", **changes,
    }


def claims_of(value: dict, audiences=(AUDIENCE,)) -> TokenClaims | None:
    return claims_from_introspection(value, issuer=ISSUER, audiences=list(audiences), now=NOW)


def test_an_active_answer_gives_its_claims():
    assert claims_of(answer()) == TokenClaims(
        iss=ISSUER, sub="billing-7f3a", client_id="billing-7f3a", aud=AUDIENCE, iat=NOW - 10, exp=NOW + 300, jti="j-1",
        scope="read write", env="production",
    )


def test_an_answer_without_iss_is_taken_as_the_issuers():
    value = answer()
    del value["iss"]
    assert claims_of(value).iss == ISSUER


@pytest.mark.parametrize("aud", [[AUDIENCE], ["https://other.example", AUDIENCE], [SANDBOX, AUDIENCE]])
def test_an_audience_list_naming_this_api_is_accepted_as_this_api(aud):
    assert claims_of(answer(aud=aud)).aud == AUDIENCE


def test_the_sandbox_audience_counts_only_when_the_api_has_one():
    assert claims_of(answer(aud=SANDBOX)) is None
    assert claims_of(answer(aud=SANDBOX), audiences=(AUDIENCE, SANDBOX)).aud == SANDBOX
    assert claims_of(answer(aud=["x", SANDBOX]), audiences=(AUDIENCE, SANDBOX)).aud == SANDBOX


@pytest.mark.parametrize(
    "changes",
    [
        {"active": False}, {"active": "true"}, {"active": 1}, {"active": None},
        {"iss": "https://evil.example"}, {"iss": ISSUER + "/"}, {"iss": None},
        {"aud": "https://other.example"}, {"aud": ["https://other.example"]}, {"aud": []}, {"aud": None}, {"aud": 5},
        {"aud": {AUDIENCE: True}},
        {"exp": NOW}, {"exp": NOW - 1}, {"exp": None}, {"exp": str(NOW + 300)}, {"exp": float(NOW + 300)}, {"exp": True},
    ],
    ids=repr,
)
def test_an_answer_that_is_not_a_live_token_for_this_api_gives_nothing(changes):
    assert claims_of(answer(**changes)) is None


def test_an_answer_missing_exp_or_aud_gives_nothing():
    for name in ("exp", "aud", "active"):
        value = answer()
        del value[name]
        assert claims_of(value) is None, name


def test_values_of_the_wrong_type_are_read_as_empty():
    claims = claims_of(answer(scope=["read"], sub=None, jti={"x": 1}, env=True, iat="yesterday"))
    assert (claims.scope, claims.sub, claims.jti, claims.env, claims.iat) == ("", "", "", "", 0)
    assert claims_of(answer(iat=True)).iat == 0


@pytest.mark.parametrize("client_id", [7, None, "", ["a"]], ids=repr)
def test_an_answer_without_a_client_id_gives_nothing(client_id):
    # Optional in RFC 7662 §2.2, but request.user is the client; jwks mode requires it too (RFC 9068 §2.2).
    assert claims_of(answer(client_id=client_id)) is None
    value = answer()
    del value["client_id"]
    assert claims_of(value) is None


@pytest.mark.parametrize(
    ("client_id", "client_secret"),
    [
        ("invoices-api", "s3:cr+t%2F/x"),
        ("id with space", "pa ss"),
        ("ümlaut-id", "sécret:é+%"),
        ("a:b", "::"),
        ("plain", ""),
    ],
)
def test_credentials_are_form_encoded_before_base64_and_the_server_reads_them_back(client_id, client_secret):
    header = basic_authorization(client_id, client_secret)
    assert header.startswith("Basic ")
    pair = base64.b64decode(header.removeprefix("Basic ")).decode("ascii")  # encoded: nothing outside ASCII is left
    assert pair.count(":") == 1  # a ':' in the id or secret is escaped, so the separator is the only one
    assert parse_basic_authorization(header) == (client_id, client_secret)


def test_the_reserved_characters_are_percent_encoded():
    header = basic_authorization("invoices-api", "s3:cr+t%2F/x")
    assert base64.b64decode(header.removeprefix("Basic ")) == b"invoices-api:s3%3Acr%2Bt%252F%2Fx"
