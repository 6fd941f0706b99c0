"""A realm's own scopes and token rules (CONTRACT.md "Realms"); the default realm keeps the server's.

One scope name may mean two things in two realms, one public (advertised in RFC 8414 §2
``scopes_supported``, self-service in the portal) and one restricted. A realm may override the
access token lifetime, the maximum lifetime, the default token format, the JWT algorithm and the
client credentials switch; each override is honoured at that realm's endpoints, and the default
realm, asked at the same moment, answers by the server's settings.
"""

import jwt
import pytest

from clients.models import Realm, Scope, ScopeVisibility
from clients.services import create_application
from tokens.protocol.formats import looks_like_jwt
from tokens.services import validate_access_token

from .conftest import JWKS, METADATA, TOKEN, hello, introspect_at, issue, post_form


def test_one_scope_name_in_two_realms_with_different_visibility(api_client, make_realm):
    default, alpha = make_realm("default"), make_realm("alpha")
    Scope.objects.create(realm=alpha.realm, name="reports", visibility=ScopeVisibility.PUBLIC, description="Alpha's")
    Scope.objects.create(realm=default.realm, name="reports", visibility=ScopeVisibility.RESTRICTED, description="Ours")

    assert "reports" in api_client.get(alpha.url(METADATA)).json()["scopes_supported"]
    assert "reports" not in api_client.get(METADATA).json()["scopes_supported"]  # restricted: not advertised

    # A developer asking for it in the portal gets it in alpha, and waits for an operator in default.
    Realm.objects.filter(name="alpha").update(open_to_portal=True)  # a developer registers only where it is open
    alpha.realm.refresh_from_db()
    in_alpha = create_application(name="a", scopes="reports", self_service=True, realm=alpha.realm)
    in_default = create_application(name="d", scopes="reports", self_service=True, realm=default.realm)
    assert (in_alpha.scopes, in_alpha.pending_scopes) == ("reports", "")
    assert (in_default.scopes, in_default.pending_scopes) == ("", "reports")

    # Each realm grants its own "reports" to its own clients only.
    reporter = make_realm("beta", client_scopes="reports")
    token = issue(api_client, reporter, scope="reports")
    assert validate_access_token(token).scope == "reports"
    refused = post_form(api_client, reporter.url(TOKEN), default.client, grant_type="client_credentials", scope="reports")
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_client")


def expires_in(api_client, member, **fields) -> int:
    response = post_form(api_client, member.url(TOKEN), member.client, grant_type="client_credentials", **fields)
    assert response.status_code == 200, response.content
    answer = response.json()
    if looks_like_jwt(answer["access_token"]):
        claims = jwt.decode(answer["access_token"], options={"verify_signature": False})
        assert claims["exp"] - claims["iat"] == answer["expires_in"]
    return answer["expires_in"]


def test_a_realms_lifetime_applies_there_only(api_client, make_realm, settings):
    settings.OAUTH_ACCESS_TOKEN_LIFETIME = 3600
    alpha, default = make_realm("alpha", access_token_lifetime=120), make_realm("default")
    assert expires_in(api_client, alpha) == 120
    assert expires_in(api_client, default) == 3600
    assert validate_access_token(issue(api_client, alpha)).iss == alpha.issuer  # within its own maximum


def test_a_realms_maximum_lifetime_caps_there_only(api_client, make_realm, settings):
    settings.OAUTH_MAX_ACCESS_TOKEN_LIFETIME = 86400
    alpha, default = make_realm("alpha", max_access_token_lifetime=300), make_realm("default")
    assert expires_in(api_client, alpha, validity_period="100000") == 300
    assert expires_in(api_client, alpha) == 300  # the server's 3600 capped by the realm's maximum
    assert expires_in(api_client, default, validity_period="100000") == 86400


def test_a_maximum_above_the_servers_lets_that_realms_long_tokens_verify(api_client, make_realm, settings):
    settings.OAUTH_MAX_ACCESS_TOKEN_LIFETIME = 600
    alpha = make_realm("alpha", max_access_token_lifetime=7200, token_format="jwt")
    token = issue(api_client, alpha, validity_period="7200")
    assert hello(api_client, token).status_code == 200
    assert introspect_at(api_client, alpha, alpha.gateway, token).json()["exp"] - validate_access_token(token).iat == 7200


def test_a_realms_default_format_applies_there_only(api_client, make_realm, settings):
    settings.OAUTH_DEFAULT_TOKEN_FORMAT = "jwt"
    alpha, default = make_realm("alpha", default_token_format="opaque"), make_realm("default")
    opaque = issue(api_client, alpha)
    assert not looks_like_jwt(opaque)
    assert introspect_at(api_client, alpha, alpha.gateway, opaque).json()["iss"] == alpha.issuer
    assert looks_like_jwt(issue(api_client, default))
    # An application's own choice still wins over its realm's.
    jwt_client = make_realm("beta", default_token_format="opaque", token_format="jwt")
    assert looks_like_jwt(issue(api_client, jwt_client))


@pytest.mark.parametrize("algorithm, key_type", [("ES256", "EC"), ("EdDSA", "OKP")])
def test_a_realms_algorithm_signs_and_publishes_there_only(api_client, make_realm, settings, algorithm, key_type):
    settings.OAUTH_JWT_ALGORITHM = "RS256"
    alpha, default = make_realm("alpha", jwt_algorithm=algorithm), make_realm("default")
    token = issue(api_client, alpha)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == algorithm
    jwks = api_client.get(alpha.url(JWKS)).json()
    assert {key["kty"] for key in jwks["keys"]} == {key_type}
    claims = jwt.decode(token, jwt.PyJWKSet.from_dict(jwks)[header["kid"]].key, algorithms=[algorithm],
                        options={"verify_aud": False})
    assert claims["iss"] == alpha.issuer
    assert api_client.get(alpha.url(METADATA)).json()["access_token_signing_alg_values_supported"] == [algorithm]
    assert hello(api_client, token).status_code == 200
    assert introspect_at(api_client, alpha, alpha.gateway, token).json()["active"] is True

    assert jwt.get_unverified_header(issue(api_client, default))["alg"] == "RS256"
    assert {key["kty"] for key in api_client.get(JWKS).json()["keys"]} == {"RSA"}
    assert api_client.get(METADATA).json()["access_token_signing_alg_values_supported"] == ["RS256"]


def test_a_realm_with_the_grant_switched_off_refuses_it_and_the_default_realm_grants(api_client, make_realm, settings):
    settings.OAUTH_CLIENT_CREDENTIALS_ENABLED = True
    alpha, default = make_realm("alpha", client_credentials_enabled=False), make_realm("default")
    response = post_form(api_client, alpha.url(TOKEN), alpha.client, grant_type="client_credentials")
    assert response.status_code == 400
    assert response.json() == {
        "error": "unsupported_grant_type", "error_description": "The grant type 'client_credentials' is not supported.",
    }
    assert "access_token" not in response.content.decode()
    assert looks_like_jwt(issue(api_client, default))


def test_a_realm_switched_on_grants_while_the_server_has_it_off(api_client, make_realm, settings):
    settings.OAUTH_CLIENT_CREDENTIALS_ENABLED = False
    alpha, default = make_realm("alpha", client_credentials_enabled=True), make_realm("default")
    assert validate_access_token(issue(api_client, alpha)).iss == alpha.issuer
    refused = post_form(api_client, default.url(TOKEN), default.client, grant_type="client_credentials")
    assert (refused.status_code, refused.json()["error"]) == (400, "unsupported_grant_type")


def test_a_realm_without_overrides_follows_the_servers_settings_as_they_change(api_client, make_realm, settings):
    alpha = make_realm("alpha")
    settings.OAUTH_ACCESS_TOKEN_LIFETIME = 900
    assert expires_in(api_client, alpha) == 900
    settings.OAUTH_ACCESS_TOKEN_LIFETIME = 1800
    settings.OAUTH_DEFAULT_TOKEN_FORMAT = "opaque"
    assert expires_in(api_client, alpha) == 1800
    assert not looks_like_jwt(issue(api_client, alpha))
