"""The DRF classes in a remote mode, configured by ``OAUTH_RESOURCE_SERVER`` (RFC 6750 §3, RFC 6749 §4.1.2.1).

A view of an API project protected by ``BearerTokenAuthentication`` and ``RequiredScopes``, its
issuer a stub: a valid token is 200; no token the bare ``Bearer realm="api"`` challenge; a bad one
401 ``invalid_token``; a missing scope 403 ``insufficient_scope``; a token that cannot be checked
because the issuer is down 503 ``temporarily_unavailable``, never a 500 and never accepted.
Sandbox tokens pass only views that opt in.
"""

import base64
import sys
import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.views.debug import ExceptionReporter
from rest_framework.test import APIRequestFactory

from tests.remote_api.views import Invoices, SandboxInvoices  # the separate API project's own views
from tests.resource.stub_issuer import (
    AUDIENCE,
    CLIENT_ID,
    INTROSPECT_PATH,
    JWKS_PATH,
    SANDBOX_AUDIENCE,
    StubIssuer,
    resource_setting,
)

factory = APIRequestFactory()
MODES = ["jwks", "introspection"]


def call(view, token: str | None = None, method: str = "get", authorization: str | None = None):
    if token is not None:
        authorization = f"Bearer {token}"
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    response = view.as_view()(getattr(factory, method)("/invoices", **headers))
    response.render()
    return response


@pytest.fixture
def key(stub_issuer):
    return stub_issuer.add_key("RS256")


@pytest.fixture
def protect(settings, stub_issuer, key):
    """Configure the API for mode; return a function that makes a token the issuer vouches for."""

    def configure(mode: str, **changes):
        settings.OAUTH_RESOURCE_SERVER = resource_setting(stub_issuer, mode, **changes)
        answers: dict[str, dict] = {}
        stub_issuer.introspection = lambda form: answers.get(form.get("token"), {"active": False})

        def token(**claims) -> str:  # the verifiers built from the setting use the real clocks
            minted = stub_issuer.mint(key, time.time(), **claims)
            answers[minted] = {"active": True, **stub_issuer.claims(time.time(), **claims)}
            return minted

        return token

    return configure


@pytest.mark.parametrize("mode", MODES)
def test_a_valid_token_reaches_the_view(protect, stub_issuer, mode):
    token = protect(mode)(scope="read write")
    response = call(Invoices, token)
    assert response.status_code == 200
    assert response.data == {"client_id": CLIENT_ID, "scope": "read write", "iss": stub_issuer.issuer, "env": "production"}
    assert call(Invoices, token, method="post").status_code == 201


@pytest.mark.parametrize("mode", MODES)
def test_no_token_is_the_bare_challenge(protect, stub_issuer, mode):
    protect(mode)
    response = call(Invoices)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.data == {"error": "invalid_request", "error_description": "An access token is required."}
    assert stub_issuer.hits == {}


@pytest.mark.parametrize("mode", MODES)
def test_a_token_the_issuer_does_not_vouch_for_is_invalid_token(protect, stub_issuer, key, mode):
    protect(mode)
    response = call(Invoices, stub_issuer.mint(key, 1_700_000_000))  # long expired, never introspected as active
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('Bearer realm="api", error="invalid_token", error_description="')
    assert response.data["error"] == "invalid_token"


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_gives_a_refused_token_the_same_description_never_the_tokens_text(protect, stub_issuer, key, mode):
    protect(mode)
    header = '{"alg":"RS256","typ":"at+jwt","kid":"%s","crit":["x , error=evil"]}' % key.kid
    payload = '{"sub":"x"}'
    crafted = ".".join(base64.urlsafe_b64encode(part.encode()).decode().rstrip("=") for part in (header, payload, "sig"))
    for token in (crafted, stub_issuer.forge_alg_none(key, time.time())):
        response = call(Invoices, token)
        assert response.data == {"error": "invalid_token", "error_description": "The access token is invalid, expired or revoked."}
        assert "evil" not in response["WWW-Authenticate"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("authorization", ["Bearer a b", "Bearer tök.én.x"])
def test_a_malformed_authorization_header_is_invalid_token_and_costs_no_call(protect, stub_issuer, mode, authorization):
    protect(mode)
    response = call(Invoices, authorization=authorization.encode().decode("latin-1"))
    assert response.status_code == 401
    assert response.data["error"] == "invalid_token"
    assert stub_issuer.hits == {}


@pytest.mark.parametrize("mode", MODES)
def test_a_missing_scope_is_403_insufficient_scope(protect, mode):
    token = protect(mode)(scope="read")
    response = call(Invoices, token, method="post")
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", error="insufficient_scope", '
        'error_description="The access token does not carry the scope this request needs.", scope="write"'
    )
    assert response.data == {
        "error": "insufficient_scope", "error_description": "The access token does not carry the scope this request needs.",
        "scope": "write",
    }


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("outage", ["stopped", "500", "hang"])
@pytest.mark.parametrize("handler", ["resource_server.handle_exception", "rest_framework.views.exception_handler"])
def test_an_issuer_that_cannot_be_asked_is_503_never_500_never_200(protect, settings, stub_issuer, mode, outage, handler):
    token = protect(mode, TIMEOUT=0.2)()
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "EXCEPTION_HANDLER": handler}
    if outage == "stopped":
        stub_issuer.stop()
    else:
        stub_issuer.failures[JWKS_PATH if mode == "jwks" else INTROSPECT_PATH] = outage
    response = call(Invoices, token)
    assert response.status_code == 503
    assert response.data["error"] == "temporarily_unavailable"
    assert response.data["error_description"] in (
        "The authorization server's keys could not be fetched.",
        "The authorization server could not be asked about the token.",
    )
    assert "client_id" not in response.data


@pytest.mark.parametrize("mode", MODES)
def test_sandbox_tokens_pass_only_views_that_opt_in(protect, mode):
    token = protect(mode, SANDBOX_AUDIENCE=SANDBOX_AUDIENCE)(aud=SANDBOX_AUDIENCE, env="sandbox")
    refused = call(Invoices, token)
    assert refused.status_code == 401
    assert refused.data == {"error": "invalid_token", "error_description": "Sandbox tokens are not accepted by this resource."}
    accepted = call(SandboxInvoices, token)
    assert accepted.status_code == 200
    assert accepted.data["env"] == "sandbox"


@pytest.mark.parametrize("mode", MODES)
def test_a_sandbox_env_claim_alone_makes_a_sandbox_token(protect, mode):
    token = protect(mode)(env="sandbox")
    assert call(Invoices, token).data["error_description"] == "Sandbox tokens are not accepted by this resource."
    assert call(SandboxInvoices, token).status_code == 200


@pytest.mark.parametrize("mode", MODES)
def test_the_sandbox_audience_of_an_api_without_one_is_refused_even_where_sandbox_is_accepted(protect, mode):
    token = protect(mode)(aud=SANDBOX_AUDIENCE, env="sandbox")
    response = call(SandboxInvoices, token)
    assert response.status_code == 401
    assert response.data["error"] == "invalid_token"
    assert response.data["error_description"] != "Sandbox tokens are not accepted by this resource."


def test_a_changed_setting_takes_effect_at_the_next_request(protect, settings, stub_issuer):
    token = protect("jwks")()
    assert call(Invoices, token).status_code == 200
    other = StubIssuer()
    try:
        other_key = other.add_key("RS256")
        settings.OAUTH_RESOURCE_SERVER = resource_setting(other)
        assert call(Invoices, other.mint(other_key, time.time())).status_code == 200
        assert call(Invoices, token).status_code == 401  # the first issuer is no longer trusted
    finally:
        other.close()


def test_a_mistake_in_the_setting_is_raised_at_the_first_request(settings, stub_issuer):
    settings.OAUTH_RESOURCE_SERVER = {"MODE": "jwks", "ISSUER": stub_issuer.issuer, "AUDIENCE": AUDIENCE, "ALGORITHMS": "RS256"}
    with pytest.raises(ImproperlyConfigured, match=r"\['ALGORITHMS'\]"):
        call(Invoices, "some-token")


@pytest.mark.parametrize("mode", MODES)
def test_a_token_whose_scope_is_malformed_is_invalid_token_not_a_bad_request(protect, mode):
    token = protect(mode)(scope='read "quoted"')  # '"' is outside RFC 6749 §3.3's scope-token characters
    response = call(Invoices, token)
    assert response.status_code == 401
    assert response.data == {"error": "invalid_token", "error_description": "The access token's scope is malformed."}


class LowerCaseMethods(Invoices):
    required_scopes_by_method = {"post": ["write"]}


class ScopesAsAString(Invoices):
    required_scopes = "read"


def test_a_method_named_in_lower_case_still_needs_its_scopes(protect):
    token = protect("jwks")(scope="read")
    response = call(LowerCaseMethods, token, method="post")
    assert response.status_code == 403
    assert 'scope="write"' in response["WWW-Authenticate"]


def test_scopes_given_as_a_string_are_a_configuration_error_never_its_characters(protect):
    token = protect("jwks")(scope="r e a d")
    with pytest.raises(ImproperlyConfigured, match=r"ScopesAsAString.required_scopes must list scope names"):
        call(ScopesAsAString, token)


class ScopesByMethodAsAList(Invoices):
    required_scopes_by_method = [("POST", ["write"])]


class NoScopesAtAll(Invoices):
    required_scopes = None


class AnEmptyScopeName(Invoices):
    required_scopes = [""]


@pytest.mark.parametrize(
    ("view", "message"),
    [
        (ScopesByMethodAsAList, "ScopesByMethodAsAList.required_scopes_by_method must map methods to scopes"),
        (NoScopesAtAll, "NoScopesAtAll.required_scopes must list scope names"),
        (AnEmptyScopeName, "AnEmptyScopeName.required_scopes must list scope names"),
    ],
)
def test_other_malformed_scope_declarations_are_configuration_errors(protect, view, message):
    token = protect("jwks")(scope="read write")
    with pytest.raises(ImproperlyConfigured, match=message):
        call(view, token, method="post" if view is ScopesByMethodAsAList else "get")


def test_the_token_stays_out_of_error_reports(settings, protect):
    token = protect("jwks")()
    settings.DEBUG = False  # what error e-mails and error trackers get
    settings.OAUTH_RESOURCE_SERVER = {**settings.OAUTH_RESOURCE_SERVER, "TYPO": 1}  # fails inside authenticate
    try:
        call(Invoices, token)
    except ImproperlyConfigured:
        frames = ExceptionReporter(None, *sys.exc_info()).get_traceback_data()["frames"]
    [frame] = [frame for frame in frames if frame["function"] == "authenticate"]
    variables = dict(frame["vars"])
    assert "parts" in variables and token not in str(variables)
