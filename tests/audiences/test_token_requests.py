"""RFC 8707 §2 at the token endpoint: ``resource`` names the audiences wanted, the token's ``aud`` is what was asked.

An application has allowed audiences and may have a default; a request naming none gets the
default, else the realm's own audience. A resource not allowed, not an absolute URI, or with a
fragment is 400 ``invalid_target`` and nothing is issued.
"""

import pytest

from tests.audiences.conftest import BILLING, FILES, HR, aud_of
from tests.conftest import issued_count

pytestmark = pytest.mark.django_db


def test_an_allowed_resource_is_the_tokens_audience(allowed, ask):
    response = ask(allowed, ("resource", BILLING))
    assert aud_of(response) == BILLING  # one audience: a string, as every JOSE library expects
    assert response.json()["token_type"] == "Bearer"


def test_several_resources_give_an_array_in_request_order(allowed, ask):
    assert aud_of(ask(allowed, ("resource", FILES), ("resource", BILLING))) == [FILES, BILLING]


def test_a_resource_repeated_with_the_same_value_counts_once(allowed, ask):
    assert aud_of(ask(allowed, ("resource", BILLING), ("resource", BILLING))) == BILLING


def test_a_resource_not_allowed_is_invalid_target_and_nothing_is_issued(allowed, ask):
    response = ask(allowed, ("resource", BILLING), ("resource", HR))
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_target",
                               "error_description": f"This application may not ask for the resource '{HR}'."}
    assert response["Cache-Control"] == "no-store"
    assert issued_count() == 0


def test_an_application_without_audiences_may_name_none(make_keys, ask):
    response = ask(make_keys(), ("resource", BILLING))
    assert (response.status_code, response.json()["error"]) == (400, "invalid_target")


@pytest.mark.parametrize("resource", [
    "billing.example.com",            # relative: no scheme
    "/api",                           # a path
    "https://billing.example.com#x",  # a fragment (RFC 8707 §2)
    "https://billing.example.com#",
    "https://billing example.com",    # a space
    "https://bïlling.example.com",    # not ASCII: a URI escapes it
    "https://billing.example.com/%zz",
    "1https://billing.example.com",   # a scheme starts with a letter
    "https:",                         # a scheme and nothing
    "https://" + "a" * 300 + ".example",  # longer than any API identifier kept
    "https://[::1",                   # an IPv6 host never closed
    "http://:80",                     # an authority without a host
    "https://a.example.com:99999999", # a port past 65535
])
def test_a_malformed_resource_is_invalid_target_even_if_listed(make_keys, ask, resource):
    response = ask(make_keys(), ("resource", resource))
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_target", "error_description":
                               "Each resource must be an absolute URI without a fragment (RFC 8707)."}
    assert issued_count() == 0


def test_a_malformed_resource_is_refused_before_the_client_is_authenticated(api_client):
    response = api_client.post("/oauth/token", "grant_type=client_credentials&resource=nope",
                               content_type="application/x-www-form-urlencoded")
    assert (response.status_code, response.json()["error"]) == (400, "invalid_target")


def test_the_default_audience_when_none_is_named(make_keys, ask):
    keys = make_keys(audiences=f"{BILLING} {FILES}", default_audience=FILES)
    assert aud_of(ask(keys)) == FILES
    assert aud_of(ask(keys, ("resource", BILLING))) == BILLING  # naming one overrides the default


def test_no_resource_and_no_default_is_the_realms_own_audience(allowed, ask, settings):
    assert aud_of(ask(allowed)) == settings.OAUTH_AUDIENCE


def test_an_explicit_oauth_audience_stays_the_default_realms_own(make_keys, ask, settings):
    settings.OAUTH_AUDIENCE = "https://legacy.example.com/api"
    assert aud_of(ask(make_keys())) == "https://legacy.example.com/api"


def test_an_empty_resource_counts_as_absent(allowed, ask, settings):
    assert aud_of(ask(allowed, ("resource", ""))) == settings.OAUTH_AUDIENCE


def test_a_sandbox_key_pair_gets_the_sandbox_variant_of_each_audience(make_keys, make_application, ask, settings):
    application = make_application(audiences=f"{BILLING} {FILES}", default_audience=BILLING)
    sandbox = make_keys(application, environment="sandbox")
    assert aud_of(ask(sandbox)) == f"{BILLING}/sandbox"
    assert aud_of(ask(sandbox, ("resource", BILLING), ("resource", FILES))) == [f"{BILLING}/sandbox", f"{FILES}/sandbox"]
    production = make_keys(application)
    assert aud_of(ask(production, ("resource", BILLING))) == BILLING  # never the same aud as a sandbox token


def test_the_response_and_other_parameters_are_unchanged(allowed, ask):
    response = ask(allowed, ("resource", BILLING), ("scope", "write"), ("validity_period", "60"))
    assert aud_of(response) == BILLING
    assert (response.json()["scope"], response.json()["expires_in"]) == ("write", 60)
