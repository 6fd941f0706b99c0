"""Audiences in a realm other than the default (CONTRACT.md "Realms"): its own audience is its issuer."""

import jwt
import pytest

from tests.audiences.conftest import BILLING
from tests.realms.conftest import hello, introspect_at, issue, issuer, make_realm  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_the_realms_issuer_is_the_audience_when_none_is_asked_for(api_client, make_realm):
    alpha = make_realm("alpha")
    token = issue(api_client, alpha)
    assert claims(token)["aud"] == alpha.issuer == "https://auth.example.com/realms/alpha"
    assert hello(api_client, token).status_code == 200  # /api/hello answers to every realm's own audience
    assert introspect_at(api_client, alpha, alpha.gateway, token).json()["aud"] == alpha.issuer


def test_a_sandbox_key_pair_of_a_realm_gets_its_issuers_sandbox_variant(api_client, make_realm, make_keys):
    alpha = make_realm("alpha")
    from clients.models import Application
    sandbox = make_keys(Application.objects.get(name="alpha-client"), environment="sandbox")
    assert claims(issue(api_client, alpha, sandbox))["aud"] == "https://auth.example.com/realms/alpha/sandbox"


def test_the_default_realm_keeps_oauth_audience(api_client, make_realm, settings):
    settings.OAUTH_AUDIENCE = "https://api.example.com"
    default, alpha = make_realm("default"), make_realm("alpha")
    assert claims(issue(api_client, default))["aud"] == "https://api.example.com"
    assert claims(issue(api_client, alpha))["aud"] == alpha.issuer  # OAUTH_AUDIENCE is the default realm's only


def test_a_realms_application_asks_for_its_own_apis(api_client, make_realm, make_application, make_keys):
    alpha = make_realm("alpha")
    keys = make_keys(make_application("alpha-billing", audiences=BILLING, realm=alpha.realm))
    token = issue(api_client, alpha, keys, resource=BILLING)
    assert claims(token)["aud"] == BILLING
    assert introspect_at(api_client, alpha, alpha.gateway, token).json()["aud"] == BILLING
    assert hello(api_client, token).status_code == 401  # not /api/hello's audience
