"""RFC 9449 §7 at a protected resource: ``Authorization: DPoP`` with a proof, in database mode (/api/hello) and the remote modes."""

import time

import pytest
from rest_framework.test import APIRequestFactory
from requests_oauth2client import DPoPKey

from tests.remote_api.views import Invoices
from tests.resource.stub_issuer import resource_setting

from .conftest import HELLO, proof

ALGS = 'algs="ES256 RS256 PS256 EdDSA Ed25519"'


@pytest.fixture
def bound_token(make_keys, dpop_token, dpop_key):
    def make(token_format: str = "jwt") -> str:
        response = dpop_token(make_keys(token_format=token_format), proof(dpop_key))
        assert response.json()["token_type"] == "DPoP"
        return response.json()["access_token"]

    return make


def call(api_client, token, value=None, scheme="DPoP", method="get", **headers):
    if value is not None:
        headers["HTTP_DPOP"] = value
    return getattr(api_client, method)("/api/hello", HTTP_AUTHORIZATION=f"{scheme} {token}", **headers)


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_a_bound_token_with_its_proof_reaches_hello(api_client, bound_token, dpop_key, token_format):
    token = bound_token(token_format)
    response = call(api_client, token, proof(dpop_key, "GET", HELLO, token))
    assert response.status_code == 200, response.content
    assert response.json()["message"] == "Congrats! You've hit an OAuth protected resource"
    post = call(api_client, token, proof(dpop_key, "POST", HELLO, token), method="post")
    assert post.status_code == 403  # scope read only: DPoP changes nothing of the scope check


def test_a_bound_token_as_bearer_is_401_with_a_dpop_challenge(api_client, bound_token):
    response = call(api_client, bound_token(), scheme="Bearer")
    assert response.status_code == 401
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith('DPoP error="invalid_token"') and challenge.endswith(ALGS)
    assert response.json()["error"] == "invalid_token"


def assert_invalid_proof(response, words: str):
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('DPoP error="invalid_dpop_proof"')
    assert response["WWW-Authenticate"].endswith(ALGS)
    assert response.json()["error"] == "invalid_dpop_proof" and words in response.json()["error_description"]


def test_without_a_proof_is_invalid_dpop_proof(api_client, bound_token):
    assert_invalid_proof(call(api_client, bound_token()), "proof is required")


@pytest.mark.parametrize(
    "htm, htu, words",
    [
        ("POST", HELLO, "htm"),
        ("GET", "http://127.0.0.1:8000/api/other", "htu"),
        ("GET", "http://testserver/api/hello", "htu"),  # the Host header is not what htu is checked against
    ],
)
def test_a_proof_for_another_request_is_refused(api_client, bound_token, dpop_key, htm, htu, words):
    token = bound_token()
    assert_invalid_proof(call(api_client, token, proof(dpop_key, htm, htu, token)), words)


def test_ath_of_another_token_is_refused(api_client, bound_token, dpop_key):
    token = bound_token()
    assert_invalid_proof(call(api_client, token, proof(dpop_key, "GET", HELLO, "another token")), "ath")


def test_a_proof_by_another_key_is_refused(api_client, bound_token):
    token = bound_token()
    thief = DPoPKey.generate(alg="ES256")
    assert_invalid_proof(call(api_client, token, proof(thief, "GET", HELLO, token)), "key the access token is bound to")


def test_a_replayed_proof_is_refused(api_client, bound_token, dpop_key):
    token = bound_token()
    value = proof(dpop_key, "GET", HELLO, token)
    assert call(api_client, token, value).status_code == 200
    assert_invalid_proof(call(api_client, token, value), "used before")


def test_an_unbound_token_sent_as_dpop_is_invalid_token_and_as_bearer_works(api_client, make_keys, dpop_token, dpop_key):
    token = dpop_token(make_keys(), None).json()["access_token"]
    response = call(api_client, token, proof(dpop_key, "GET", HELLO, token))
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith('DPoP error="invalid_token"')
    assert call(api_client, token, scheme="Bearer").status_code == 200


def test_public_url_sets_the_htu_behind_a_proxy(api_client, bound_token, dpop_key, settings):
    settings.OAUTH_RESOURCE_SERVER = {"MODE": "database", "PUBLIC_URL": "https://api.example.com/"}
    token = bound_token()
    assert call(api_client, token, proof(dpop_key, "GET", "https://api.example.com/api/hello", token)).status_code == 200


# Remote modes: the separate API project's view, its issuer a stub that mints tokens bound by cnf.jkt.
factory = APIRequestFactory()


@pytest.fixture
def remote(settings, stub_issuer):
    key = stub_issuer.add_key("RS256")

    def configure(mode: str, dpop_key: DPoPKey, **changes) -> str:
        settings.OAUTH_RESOURCE_SERVER = resource_setting(stub_issuer, mode, **changes)
        token = stub_issuer.mint(key, time.time(), jkt=dpop_key.dpop_jkt)
        answer = {"active": True, **stub_issuer.claims(time.time()), "cnf": {"jkt": dpop_key.dpop_jkt}, "token_type": "DPoP"}
        stub_issuer.introspection = lambda form: answer if form.get("token") == token else {"active": False}
        return token

    return configure


def remote_call(token: str, value: str | None, scheme: str = "DPoP"):
    headers = {"HTTP_AUTHORIZATION": f"{scheme} {token}"}
    if value is not None:
        headers["HTTP_DPOP"] = value
    response = Invoices.as_view()(factory.get("/invoices", **headers))
    response.render()
    return response


@pytest.mark.parametrize("mode", ["jwks", "introspection"])
def test_remote_modes_accept_a_bound_token_with_its_proof_once(remote, dpop_key, mode):
    token = remote(mode, dpop_key)
    value = proof(dpop_key, "GET", "http://testserver/invoices", token)  # request.build_absolute_uri
    assert remote_call(token, value).status_code == 200
    again = remote_call(token, value)
    assert again.status_code == 401 and "used before" in again.data["error_description"]
    bearer = remote_call(token, None, scheme="Bearer")
    assert bearer.status_code == 401 and bearer["WWW-Authenticate"].startswith('DPoP error="invalid_token"')


@pytest.mark.parametrize("mode", ["jwks", "introspection"])
def test_remote_modes_check_htu_against_public_url(remote, dpop_key, mode):
    token = remote(mode, dpop_key, PUBLIC_URL="https://invoices.example")
    assert remote_call(token, proof(dpop_key, "GET", "http://testserver/invoices", token)).status_code == 401
    assert remote_call(token, proof(dpop_key, "GET", "https://invoices.example/invoices", token)).status_code == 200


def test_introspection_with_a_cnf_this_api_cannot_check_is_refused(settings, stub_issuer, dpop_key):
    settings.OAUTH_RESOURCE_SERVER = resource_setting(stub_issuer, "introspection")
    stub_issuer.introspection = {"active": True, **stub_issuer.claims(time.time()), "cnf": {"x5t#S256": "abc"}}
    response = remote_call("opaque-token", None, scheme="Bearer")
    assert response.status_code == 401 and response.data["error"] == "invalid_token"
    stub_issuer.introspection = {"active": True, **stub_issuer.claims(time.time())}  # the same answer without cnf
    assert remote_call("another-opaque-token", None, scheme="Bearer").status_code == 200
