"""``jwks`` mode, the keys: when the issuer's JWK Set (RFC 7517 §5) is fetched, and what an outage does.

Fetched on first need, again once older than ``JWKS_MAX_AGE``, and again for an unknown ``kid``
(a rotation, RFC 7517 §4.5) at most once a second whatever the tokens name. A failed fetch keeps
the last good keys (logged); only a process that never had keys answers ``TemporarilyUnavailable``.
Each JWK is loaded alone (a malformed one hides no other), and only for the API's algorithms.
"""

import logging

import pytest

from tokens.protocol.errors import InvalidToken, TemporarilyUnavailable
from tests.e2e.instances import eventually
from tests.resource.stub_issuer import CLIENT_ID, JWKS_PATH, jwks_verifier

OUTAGES = ["500", "not-json", "hang", "reset", "stopped"]


@pytest.fixture
def key(stub_issuer):
    return stub_issuer.add_key("RS256")


def fail(stub, outage: str) -> None:
    if outage == "stopped":
        stub.stop()
    else:
        stub.failures[JWKS_PATH] = outage


def test_a_new_key_fetches_the_jwks_again_and_verifies_that_very_token(stub_issuer, clock, key):
    verifier = jwks_verifier(stub_issuer, clock)
    verifier.verify(stub_issuer.mint(key, clock.now))
    rotated = stub_issuer.add_key("RS256")
    clock.advance(1)
    assert verifier.verify(stub_issuer.mint(rotated, clock.now)).client_id == CLIENT_ID
    assert stub_issuer.hits[JWKS_PATH] == 2
    for _ in range(5):
        verifier.verify(stub_issuer.mint(rotated, clock.now))
        verifier.verify(stub_issuer.mint(key, clock.now))
    assert stub_issuer.hits[JWKS_PATH] == 2


def test_an_unknown_kid_within_a_second_of_a_fetch_fetches_nothing(stub_issuer, clock, key):
    verifier = jwks_verifier(stub_issuer, clock)
    verifier.verify(stub_issuer.mint(key, clock.now))
    rotated = stub_issuer.add_key("RS256")
    clock.advance(0.9)
    with pytest.raises(InvalidToken):
        verifier.verify(stub_issuer.mint(rotated, clock.now))
    assert stub_issuer.hits[JWKS_PATH] == 1


def test_a_flood_of_unknown_kids_fetches_at_most_once_a_second(stub_issuer, clock, key):
    verifier = jwks_verifier(stub_issuer, clock)
    verifier.verify(stub_issuer.mint(key, clock.now))
    clock.advance(1)
    fetches = []
    for step in range(16):  # four seconds in quarters (exact in binary), 25 garbage tokens a quarter
        for n in range(25):
            garbage = stub_issuer.mint_with_header(key, clock.now, {"typ": "at+jwt", "kid": f"kid-{step}-{n}"})
            with pytest.raises(InvalidToken, match="unknown signing key"):
                verifier.verify(garbage)
        fetches.append(stub_issuer.hits[JWKS_PATH])
        clock.advance(0.25)
    # One fetch at the start of each second, none in its other three quarters.
    assert fetches == [2] * 4 + [3] * 4 + [4] * 4 + [5] * 4
    assert verifier.verify(stub_issuer.mint(key, clock.now)).client_id == CLIENT_ID


def test_a_jwks_older_than_its_max_age_is_fetched_again(stub_issuer, clock, key):
    verifier = jwks_verifier(stub_issuer, clock, JWKS_MAX_AGE=60)
    verifier.verify(stub_issuer.mint(key, clock.now))
    clock.advance(59)
    verifier.verify(stub_issuer.mint(key, clock.now))
    assert stub_issuer.hits[JWKS_PATH] == 1
    clock.advance(1)
    verifier.verify(stub_issuer.mint(key, clock.now))
    assert stub_issuer.hits[JWKS_PATH] == 2
    assert stub_issuer.hits[stub_issuer.metadata_path] == 1  # the metadata is read once


@pytest.mark.parametrize("refetch", ["max age", "unknown kid"])
def test_a_key_dropped_from_the_jwks_ends_the_remembered_tokens_it_signed(stub_issuer, clock, key, refetch):
    verifier = jwks_verifier(stub_issuer, clock, JWKS_MAX_AGE=60)
    token = stub_issuer.mint(key, clock.now, exp=int(clock.now) + 3600)
    verifier.verify(token)
    stub_issuer.remove_key(key)
    rotated = stub_issuer.add_key("RS256")
    clock.advance(30)
    assert verifier.verify(token).client_id == CLIENT_ID  # not fetched again yet: the key is still known
    if refetch == "max age":
        clock.advance(30)
    else:
        verifier.verify(stub_issuer.mint(rotated, clock.now))
    with pytest.raises(InvalidToken, match="unknown signing key"):
        verifier.verify(token)
    assert stub_issuer.hits[JWKS_PATH] == 2


@pytest.mark.parametrize("outage", OUTAGES)
def test_after_a_first_fetch_an_outage_keeps_the_known_keys_and_is_logged(stub_issuer, clock, key, caplog, outage):
    verifier = jwks_verifier(stub_issuer, clock, JWKS_MAX_AGE=60, TIMEOUT=0.2)
    verifier.verify(stub_issuer.mint(key, clock.now))
    fail(stub_issuer, outage)
    clock.advance(61)
    with caplog.at_level(logging.WARNING, "resource_server"):
        assert verifier.verify(stub_issuer.mint(key, clock.now)).client_id == CLIENT_ID
    [record] = caplog.records
    assert record.levelname == "WARNING" and record.name == "resource_server.jwks"
    assert record.getMessage().startswith("JWKS refresh failed, still verifying with the keys fetched before: GET ")


def test_a_stale_jwks_is_fetched_beside_the_request_which_a_hanging_server_does_not_hold_up(stub_issuer, clock, key, caplog):
    verifier = jwks_verifier(stub_issuer, clock, in_a_thread=True, JWKS_MAX_AGE=60, TIMEOUT=5)
    verifier.verify(stub_issuer.mint(key, clock.now))
    stub_issuer.failures[JWKS_PATH] = "hang"
    clock.advance(61)
    with caplog.at_level(logging.WARNING, "resource_server"):
        # Answered while the refresh still waits on the server (it would for TIMEOUT, 5 s).
        assert verifier.verify(stub_issuer.mint(key, clock.now)).client_id == CLIENT_ID
        assert eventually(lambda: stub_issuer.hits[JWKS_PATH] == 2, within=5)
        assert not caplog.records  # the refresh has not failed yet: the request did not wait for it
        stub_issuer.release()
        assert eventually(lambda: len(caplog.records) == 1, within=5)
    assert caplog.records[0].getMessage().startswith("JWKS refresh failed, still verifying with the keys fetched before")


def test_an_outage_after_a_first_fetch_is_tried_again_at_most_once_a_second(stub_issuer, clock, key):
    verifier = jwks_verifier(stub_issuer, clock, JWKS_MAX_AGE=60)
    verifier.verify(stub_issuer.mint(key, clock.now))
    stub_issuer.failures[JWKS_PATH] = "500"
    clock.advance(61)
    for _ in range(3):
        for _ in range(20):
            assert verifier.verify(stub_issuer.mint(key, clock.now)).client_id == CLIENT_ID
        clock.advance(1)
    assert stub_issuer.hits[JWKS_PATH] == 1 + 3
    del stub_issuer.failures[JWKS_PATH]
    verifier.verify(stub_issuer.mint(key, clock.now))
    clock.advance(59)
    verifier.verify(stub_issuer.mint(key, clock.now))
    assert stub_issuer.hits[JWKS_PATH] == 5  # fresh again: the next fetch is JWKS_MAX_AGE away


@pytest.mark.parametrize("outage", OUTAGES + ["metadata", "not a JWK Set", "a list"])
def test_a_process_that_never_had_the_keys_is_temporarily_unavailable(stub_issuer, clock, key, outage):
    verifier = jwks_verifier(stub_issuer, clock, TIMEOUT=0.2)
    if outage == "metadata":
        stub_issuer.failures[stub_issuer.metadata_path] = "500"
    elif outage == "not a JWK Set":
        stub_issuer.jwks = lambda: {"keys": {"kid": key.kid}}
    elif outage == "a list":
        stub_issuer.jwks = lambda: [{"kid": key.kid}]
    else:
        fail(stub_issuer, outage)
    with pytest.raises(TemporarilyUnavailable) as error:
        verifier.verify(stub_issuer.mint(key, clock.now))
    assert error.value.as_dict() == {
        "error": "temporarily_unavailable", "error_description": "The authorization server's keys could not be fetched.",
    }
    assert error.value.status_code == 503


@pytest.mark.parametrize("outage", ["500", "not-json", "reset"])
def test_before_a_first_fetch_a_failure_is_tried_again_at_most_once_a_second(stub_issuer, clock, key, outage):
    verifier = jwks_verifier(stub_issuer, clock)
    stub_issuer.failures[JWKS_PATH] = outage
    for _ in range(20):
        with pytest.raises(TemporarilyUnavailable):
            verifier.verify(stub_issuer.mint(key, clock.now))
    assert stub_issuer.hits[JWKS_PATH] == 1
    clock.advance(1)
    del stub_issuer.failures[JWKS_PATH]
    assert verifier.verify(stub_issuer.mint(key, clock.now)).client_id == CLIENT_ID
    assert stub_issuer.hits[JWKS_PATH] == 2


def test_a_malformed_jwk_hides_none_of_the_others(stub_issuer, clock, key, caplog):
    stub_issuer.extra_jwks = [
        {"kty": "RSA", "kid": "broken", "alg": "RS256", "use": "sig", "n": "!!not base64!!", "e": "AQAB"},
        {"kty": "EC", "kid": "wrong-type", "alg": "RS256", "crv": "P-256", "x": "AA", "y": "AA"},
        "not an object",
        {"kty": "RSA", "alg": "RS256", "n": "AQAB", "e": "AQAB"},  # no kid
        {"kty": "RSA", "kid": 7, "alg": "RS256", "n": "AQAB", "e": "AQAB"},
        {"kty": "RSA", "kid": "no-alg", "n": "AQAB", "e": "AQAB"},
    ]
    other = stub_issuer.add_key("RS256")  # published after the broken ones
    verifier = jwks_verifier(stub_issuer, clock)
    with caplog.at_level(logging.WARNING, "resource_server"):
        assert verifier.verify(stub_issuer.mint(key, clock.now)).client_id == CLIENT_ID
        assert verifier.verify(stub_issuer.mint(other, clock.now)).client_id == CLIENT_ID
    assert sorted(r.getMessage() for r in caplog.records) == [
        "JWKS: ignoring key 'broken', which could not be loaded",
        "JWKS: ignoring key 'wrong-type', which could not be loaded",
    ]


def test_a_key_for_encryption_is_never_used_to_verify(stub_issuer, clock, key):
    stub_issuer.keys = [(k, {**jwk, "use": "enc"}) for k, jwk in stub_issuer.keys]
    with pytest.raises(InvalidToken, match="unknown signing key"):
        jwks_verifier(stub_issuer, clock).verify(stub_issuer.mint(key, clock.now))


def test_a_jwks_without_a_key_for_the_allowed_algorithms_is_logged(stub_issuer, clock, caplog):
    es256 = stub_issuer.add_key("ES256")
    verifier = jwks_verifier(stub_issuer, clock, ALGORITHMS=["RS256", "Ed25519"])
    with caplog.at_level(logging.WARNING, "resource_server"), pytest.raises(InvalidToken):
        verifier.verify(stub_issuer.mint(es256, clock.now))
    assert [r.getMessage() for r in caplog.records] == [
        f"the JWKS at {stub_issuer.origin}{JWKS_PATH} has no key for the algorithms this API allows (RS256, Ed25519)"
    ]


def test_a_redirect_is_not_followed(stub_issuer, clock, key):
    stub_issuer.failures[JWKS_PATH] = "redirect"
    with pytest.raises(TemporarilyUnavailable):
        jwks_verifier(stub_issuer, clock).verify(stub_issuer.mint(key, clock.now))
    assert stub_issuer.hits["/moved"] == 0


def test_a_new_kid_while_the_server_fails_is_temporarily_unavailable_not_invalid(stub_issuer, clock, key):
    verifier = jwks_verifier(stub_issuer, clock)
    verifier.verify(stub_issuer.mint(key, clock.now))
    rotated = stub_issuer.add_key("RS256")
    stub_issuer.failures[JWKS_PATH] = "500"
    clock.advance(1)
    with pytest.raises(TemporarilyUnavailable):  # perhaps the key the server rotated to: "try again"
        verifier.verify(stub_issuer.mint(rotated, clock.now))
    assert verifier.verify(stub_issuer.mint(key, clock.now)).client_id == CLIENT_ID  # the known keys still serve
    del stub_issuer.failures[JWKS_PATH]
    clock.advance(1)
    assert verifier.verify(stub_issuer.mint(rotated, clock.now)).client_id == CLIENT_ID
