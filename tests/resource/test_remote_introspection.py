"""``introspection`` mode: each token asked of the issuer's RFC 7662 endpoint, the answer remembered.

The request (§2.1) is a form POST of ``token`` and ``token_type_hint`` with the API's own HTTP
Basic credentials (RFC 6749 §2.3.1). An active answer is remembered for ``CACHE_SECONDS`` and never
past ``exp``, an inactive one for ``INACTIVE_CACHE_SECONDS``, at most ``CACHE_SIZE`` of them. When
the server cannot answer usably the token is ``TemporarilyUnavailable`` (RFC 6749 §4.1.2.1's code):
never claims, and the log names no secret and no token.
"""

import logging
import secrets

import pytest

from tokens.protocol.client_auth import parse_basic_authorization
from tokens.protocol.errors import InvalidToken, TemporarilyUnavailable
from tests.resource.stub_issuer import (
    API_CLIENT_ID,
    API_CLIENT_SECRET,
    AUDIENCE,
    CLIENT_ID,
    INTROSPECT_PATH,
    SANDBOX_AUDIENCE,
    introspection_verifier,
)

UNAVAILABLE = {"error": "temporarily_unavailable", "error_description": "The authorization server could not be asked about the token."}


@pytest.fixture
def answers(stub_issuer):
    """What the stub answers for each token; any other token is inactive."""
    known: dict[str, dict] = {}
    stub_issuer.introspection = lambda form: known.get(form.get("token"), {"active": False})
    return known


@pytest.fixture
def verifier(stub_issuer, clock):
    return introspection_verifier(stub_issuer, clock)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def active(stub, clock, **changes) -> dict:
    claims = stub.claims(clock.now, **changes)
    return {"active": True, "token_type": "Bearer", **claims}


def calls(stub) -> int:
    return stub.hits[INTROSPECT_PATH]


def test_an_active_answer_gives_its_claims(stub_issuer, clock, answers, verifier):
    token = new_token()
    answers[token] = active(stub_issuer, clock, scope="read write")
    claims = verifier.verify(token)
    expected = {name: value for name, value in answers[token].items() if name not in ("active", "token_type")}
    assert claims.as_dict() == expected
    assert (claims.client_id, claims.scope, claims.aud) == (CLIENT_ID, "read write", AUDIENCE)


def test_the_request_is_a_form_post_with_the_apis_basic_credentials(stub_issuer, clock, answers, verifier):
    token = new_token()
    answers[token] = active(stub_issuer, clock)
    verifier.verify(token)
    [request] = stub_issuer.introspection_requests
    assert request["content_type"] == "application/x-www-form-urlencoded"
    assert request["form"] == {"token": token, "token_type_hint": "access_token"}
    assert parse_basic_authorization(request["authorization"]) == (API_CLIENT_ID, API_CLIENT_SECRET)
    assert stub_issuer.hits == {stub_issuer.metadata_path: 1, INTROSPECT_PATH: 1}


def test_an_active_answer_is_remembered_for_cache_seconds(stub_issuer, clock, answers):
    verifier = introspection_verifier(stub_issuer, clock, CACHE_SECONDS=60)
    token = new_token()
    answers[token] = active(stub_issuer, clock, exp=int(clock.now) + 300)
    verifier.verify(token)
    clock.advance(59.9)
    for _ in range(10):
        assert verifier.verify(token).client_id == CLIENT_ID
    assert calls(stub_issuer) == 1
    answers[token] = {"active": False}  # revoked meanwhile
    clock.advance(0.1)
    with pytest.raises(InvalidToken):
        verifier.verify(token)
    assert calls(stub_issuer) == 2


def test_an_active_answer_is_never_remembered_past_the_tokens_exp(stub_issuer, clock, answers):
    verifier = introspection_verifier(stub_issuer, clock, CACHE_SECONDS=60)
    token = new_token()
    answers[token] = active(stub_issuer, clock, exp=int(clock.now) + 30)
    verifier.verify(token)
    clock.advance(29)
    verifier.verify(token)
    assert calls(stub_issuer) == 1
    clock.advance(1)
    with pytest.raises(InvalidToken):  # asked again; the same answer now describes an expired token
        verifier.verify(token)
    assert calls(stub_issuer) == 2


def test_an_inactive_answer_is_remembered_for_inactive_cache_seconds(stub_issuer, clock, answers):
    verifier = introspection_verifier(stub_issuer, clock, INACTIVE_CACHE_SECONDS=5)
    token = new_token()
    for _ in range(20):
        with pytest.raises(InvalidToken) as error:
            verifier.verify(token)
    assert error.value.as_dict() == {"error": "invalid_token", "error_description": "The access token is invalid, expired or revoked."}
    clock.advance(4.9)
    with pytest.raises(InvalidToken):
        verifier.verify(token)
    assert calls(stub_issuer) == 1
    answers[token] = active(stub_issuer, clock)
    clock.advance(0.1)
    assert verifier.verify(token).client_id == CLIENT_ID
    assert calls(stub_issuer) == 2


@pytest.mark.parametrize(
    "changes",
    [{"iss": "https://evil.example"}, {"aud": "https://other.example"}, {"aud": ["https://other.example"]},
     {"exp": "past"}, {"active": False}],
    ids=repr,
)
def test_an_answer_not_for_this_api_is_remembered_as_inactive(stub_issuer, clock, answers, verifier, changes):
    token = new_token()
    if changes.get("exp") == "past":
        changes = {"exp": int(clock.now) - 1}
    answers[token] = {**active(stub_issuer, clock), **changes}
    for _ in range(3):
        with pytest.raises(InvalidToken):
            verifier.verify(token)
    assert calls(stub_issuer) == 1


def test_an_audience_list_naming_this_api_is_accepted(stub_issuer, clock, answers, verifier):
    token = new_token()
    answers[token] = active(stub_issuer, clock, aud=["https://other.example", AUDIENCE])
    assert verifier.verify(token).aud == AUDIENCE


def test_the_sandbox_audience_is_accepted_only_when_configured(stub_issuer, clock, answers, verifier):
    token = new_token()
    answers[token] = active(stub_issuer, clock, aud=SANDBOX_AUDIENCE, env="sandbox")
    with pytest.raises(InvalidToken):
        verifier.verify(token)
    sandboxed = introspection_verifier(stub_issuer, clock, SANDBOX_AUDIENCE=SANDBOX_AUDIENCE)
    assert (sandboxed.verify(token).aud, sandboxed.verify(token).env) == (SANDBOX_AUDIENCE, "sandbox")


def test_refused_credentials_are_an_error_log_without_secret_or_token(stub_issuer, clock, answers, verifier, caplog):
    token = new_token()
    answers[token] = {"error": "invalid_client"}
    stub_issuer.introspection_status = 401
    with caplog.at_level(logging.DEBUG), pytest.raises(TemporarilyUnavailable) as error:
        verifier.verify(token)
    assert error.value.as_dict() == UNAVAILABLE and error.value.status_code == 503
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "token introspection failed: the server refused this API's credentials (status 401): check CLIENT_ID and "
        "CLIENT_SECRET, and that the application is registered as a resource server"
    ]
    logged = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    assert API_CLIENT_SECRET not in logged and token not in logged


def test_a_failure_is_not_remembered_but_the_server_is_left_alone_for_a_second(stub_issuer, clock, answers, verifier):
    token, other = new_token(), new_token()
    answers[token] = active(stub_issuer, clock)
    answers[other] = active(stub_issuer, clock)
    stub_issuer.introspection_status = 401
    with pytest.raises(TemporarilyUnavailable):
        verifier.verify(token)
    stub_issuer.introspection_status = 200
    clock.advance(0.9)
    with pytest.raises(TemporarilyUnavailable):  # within RETRY_SECONDS: answered without a call
        verifier.verify(other)
    assert calls(stub_issuer) == 1
    clock.advance(0.1)
    assert verifier.verify(token).client_id == CLIENT_ID
    assert verifier.verify(other).client_id == CLIENT_ID
    assert calls(stub_issuer) == 3


@pytest.mark.parametrize(
    "outage",
    ["500", "not-json", "hang", "trickle", "oversize", "redirect", "reset", "stopped", "metadata", "status 400",
     "active not boolean", "not an object"],
)
def test_an_unusable_answer_is_temporarily_unavailable_never_claims(stub_issuer, clock, answers, caplog, outage):
    verifier = introspection_verifier(stub_issuer, clock, TIMEOUT=0.2)
    token = new_token()
    answers[token] = active(stub_issuer, clock)  # what a usable answer would have said
    if outage == "stopped":
        stub_issuer.stop()
    elif outage == "metadata":
        stub_issuer.failures[stub_issuer.metadata_path] = "500"
    elif outage == "status 400":
        stub_issuer.introspection_status = 400
    elif outage == "active not boolean":
        answers[token] = {**answers[token], "active": "true"}
    elif outage == "not an object":
        stub_issuer.introspection = lambda form: [active(stub_issuer, clock)]
    else:
        stub_issuer.failures[INTROSPECT_PATH] = outage
    with caplog.at_level(logging.WARNING, "resource_server"), pytest.raises(TemporarilyUnavailable) as error:
        verifier.verify(token)
    assert error.value.as_dict() == UNAVAILABLE
    assert caplog.records and token not in caplog.text and API_CLIENT_SECRET not in caplog.text
    assert stub_issuer.hits["/moved"] == 0


@pytest.mark.parametrize("token", ["x" * 4097, "tökén", "token with\nnewline", "tab\there", ""])
def test_a_token_that_cannot_be_ours_costs_no_call(stub_issuer, answers, verifier, token):
    answers[token] = {"active": True}
    with pytest.raises(InvalidToken):
        verifier.verify(token)
    assert stub_issuer.hits == {}


def test_a_token_of_4096_characters_is_asked_about(stub_issuer, clock, answers, verifier):
    token = "x" * 4096
    answers[token] = active(stub_issuer, clock)
    assert verifier.verify(token).client_id == CLIENT_ID


def test_at_most_cache_size_answers_are_remembered(stub_issuer, clock, answers):
    verifier = introspection_verifier(stub_issuer, clock, CACHE_SIZE=2)
    first, second, third = new_token(), new_token(), new_token()
    for token in (first, second, third):
        answers[token] = active(stub_issuer, clock)
    for token in (first, second, third, third, second):
        verifier.verify(token)
    assert calls(stub_issuer) == 3  # the last two were remembered
    verifier.verify(first)  # the least recently used, forgotten to make room for the third
    assert calls(stub_issuer) == 4
    verifier.verify(second)
    assert calls(stub_issuer) == 4


def test_inactive_answers_take_room_too(stub_issuer, clock, answers):
    verifier = introspection_verifier(stub_issuer, clock, CACHE_SIZE=3)
    garbage = [new_token() for _ in range(50)]
    for token in garbage:  # a flood of garbage, each token once: memory up to the bound, no more
        with pytest.raises(InvalidToken):
            verifier.verify(token)
    assert calls(stub_issuer) == 50
    for token in garbage[-3:]:
        with pytest.raises(InvalidToken):
            verifier.verify(token)
    assert calls(stub_issuer) == 50
    with pytest.raises(InvalidToken):
        verifier.verify(garbage[0])
    assert calls(stub_issuer) == 51


def test_a_request_too_large_for_the_server_is_an_inactive_token_not_an_outage(stub_issuer, clock, answers, verifier):
    # 4,096 '/' are a plausible token, but form-encoded ('%2F') over the server's body limit: 413.
    oversized, token = "/" * 4096, new_token()
    answers[token] = active(stub_issuer, clock)
    stub_issuer.introspection = lambda form: (
        setattr(stub_issuer, "introspection_status", 413 if form["token"] == oversized else 200)
        or answers.get(form["token"], {"active": False})
    )
    with pytest.raises(InvalidToken):
        verifier.verify(oversized)
    assert verifier.verify(token).client_id == CLIENT_ID  # no second of 503s for everyone else
    assert calls(stub_issuer) == 2
