"""Finding the issuer's endpoints: RFC 8414 §3 metadata, read once a process, through one HTTP client.

§3.1: the well-known path goes before the issuer's own path; §3.3: the document's ``issuer`` must be
the configured issuer exactly, or nothing in it is used. A failure is tried again at most once a
second, and the HTTP client never follows a redirect, never reads more than 1 MiB, and gives up
after ``TIMEOUT``.
"""

import logging

import pytest

from resource_server.config import read_config
from resource_server.discovery import WELL_KNOWN, Discovery, metadata_url_for
from resource_server.transport import MAX_RESPONSE_BYTES, USER_AGENT, IssuerUnreachable, Transport
from tests.resource.stub_issuer import INTROSPECT_PATH, JWKS_PATH, REDIRECT_PATH, StubIssuer, discoveries_of, resource_setting


def discovery_of(stub, clock, **changes) -> Discovery:
    config = read_config(resource_setting(stub, **changes))
    [discovery] = discoveries_of(config, Transport(timeout=config.timeout), clock)
    return discovery


@pytest.mark.parametrize(
    ("issuer", "url"),
    [
        ("https://h/realms/a", "https://h/.well-known/oauth-authorization-server/realms/a"),
        ("https://h", "https://h/.well-known/oauth-authorization-server"),
        ("https://h:8443/", "https://h:8443/.well-known/oauth-authorization-server"),
        ("http://127.0.0.1:8000/t/x/", "http://127.0.0.1:8000/.well-known/oauth-authorization-server/t/x"),
    ],
)
def test_the_well_known_path_goes_before_the_issuers_path(issuer, url):
    assert metadata_url_for(issuer) == url


def test_an_issuer_with_a_path_is_discovered_at_its_well_known_url(clock):
    stub = StubIssuer(issuer_path="/realms/a")
    try:
        discovery = discovery_of(stub, clock)
        assert discovery.endpoint("jwks_uri") == stub.origin + JWKS_PATH
        assert stub.hits == {f"{WELL_KNOWN}/realms/a": 1}
    finally:
        stub.close()


def test_metadata_url_replaces_the_well_known_url(stub_issuer, clock):
    stub_issuer.metadata_path = "/custom/metadata"
    discovery = discovery_of(stub_issuer, clock, METADATA_URL=stub_issuer.origin + "/custom/metadata")
    assert discovery.endpoint("introspection_endpoint") == stub_issuer.origin + INTROSPECT_PATH
    assert stub_issuer.hits == {"/custom/metadata": 1}


def test_a_success_is_kept_for_the_life_of_the_process(stub_issuer, clock):
    discovery = discovery_of(stub_issuer, clock)
    for _ in range(20):
        assert discovery.endpoint("jwks_uri") == stub_issuer.origin + JWKS_PATH
        assert discovery.endpoint("introspection_endpoint") == stub_issuer.origin + INTROSPECT_PATH
        clock.advance(3600)
    assert stub_issuer.hits[stub_issuer.metadata_path] == 1


@pytest.mark.parametrize("issuer", ["https://evil.example", "{origin}/", "{origin}/realms/a", None])
def test_metadata_of_another_issuer_is_refused(stub_issuer, clock, caplog, issuer):
    stub_issuer.metadata["issuer"] = issuer.format(origin=stub_issuer.origin) if issuer else issuer
    if issuer is None:
        del stub_issuer.metadata["issuer"]
    discovery = discovery_of(stub_issuer, clock)
    with pytest.raises(IssuerUnreachable) as error, caplog.at_level(logging.WARNING, "resource_server"):
        discovery.endpoint("jwks_uri")
    assert f"not {stub_issuer.issuer!r}" in str(error.value)
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "authorization server metadata unavailable" in caplog.records[0].getMessage()


@pytest.mark.parametrize("value", [None, "", "file:///etc/passwd", "/oauth/jwks", 42])
def test_an_endpoint_the_metadata_does_not_name_as_an_http_url_is_unreachable(stub_issuer, clock, value):
    stub_issuer.metadata["jwks_uri"] = value
    with pytest.raises(IssuerUnreachable, match="names no jwks_uri"):
        discovery_of(stub_issuer, clock).endpoint("jwks_uri")


def test_a_failure_is_tried_again_at_most_once_a_second(stub_issuer, clock):
    stub_issuer.failures[stub_issuer.metadata_path] = "500"
    discovery = discovery_of(stub_issuer, clock)
    for _ in range(10):
        with pytest.raises(IssuerUnreachable):
            discovery.endpoint("jwks_uri")
    assert stub_issuer.hits[stub_issuer.metadata_path] == 1
    clock.advance(0.9)
    with pytest.raises(IssuerUnreachable, match="could not be read a moment ago"):
        discovery.endpoint("jwks_uri")
    assert stub_issuer.hits[stub_issuer.metadata_path] == 1
    clock.advance(0.1)
    with pytest.raises(IssuerUnreachable, match="status 500"):
        discovery.endpoint("jwks_uri")
    assert stub_issuer.hits[stub_issuer.metadata_path] == 2

    del stub_issuer.failures[stub_issuer.metadata_path]
    clock.advance(1)
    assert discovery.endpoint("jwks_uri") == stub_issuer.origin + JWKS_PATH
    clock.advance(1)
    assert discovery.endpoint("jwks_uri") == stub_issuer.origin + JWKS_PATH
    assert stub_issuer.hits[stub_issuer.metadata_path] == 3


@pytest.mark.parametrize(
    ("failure", "reason"),
    [("500", "status 500"), ("not-json", "not JSON"), ("oversize", f"over {MAX_RESPONSE_BYTES} bytes"),
     ("redirect", "status 302"), ("hang", "")],
)
def test_an_unusable_answer_is_unreachable(stub_issuer, clock, failure, reason):
    stub_issuer.failures[stub_issuer.metadata_path] = failure
    discovery = discovery_of(stub_issuer, clock, TIMEOUT=0.2)
    with pytest.raises(IssuerUnreachable) as error:
        discovery.endpoint("jwks_uri")
    assert reason in str(error.value)
    assert stub_issuer.hits[REDIRECT_PATH] == 0  # a redirect is never followed


def test_a_server_that_refuses_connections_is_unreachable(stub_issuer, clock):
    discovery = discovery_of(stub_issuer, clock)
    stub_issuer.stop()
    with pytest.raises(IssuerUnreachable, match=f"GET {stub_issuer.origin}{WELL_KNOWN}"):
        discovery.endpoint("jwks_uri")


def test_the_transport_posts_a_form_and_says_who_it_is(stub_issuer):
    status, body = Transport(timeout=2).post_form(
        stub_issuer.origin + INTROSPECT_PATH, {"token": "a b+c", "token_type_hint": "access_token"}, authorization="Basic eA=="
    )
    assert (status, body) == (200, {"active": False})
    [request] = stub_issuer.introspection_requests
    assert request["content_type"] == "application/x-www-form-urlencoded"
    assert request["body"] == "token=a+b%2Bc&token_type_hint=access_token"
    assert request["form"] == {"token": "a b+c", "token_type_hint": "access_token"}
    assert request["authorization"] == "Basic eA=="
    assert stub_issuer.headers[INTROSPECT_PATH]["User-Agent"] == USER_AGENT
    assert stub_issuer.headers[INTROSPECT_PATH]["Accept"] == "application/json"


def test_a_get_says_who_it_is_and_what_it_reads(stub_issuer):
    assert Transport(timeout=2).get_json(stub_issuer.origin + JWKS_PATH) == (200, {"keys": []})
    assert stub_issuer.headers[JWKS_PATH]["User-Agent"] == USER_AGENT
    assert stub_issuer.headers[JWKS_PATH]["Accept"] == "application/json"
