"""RFC 6749 §4.4 against a live server with independent client libraries.

requests-oauthlib's BackendApplicationClient gets the token; PyJWT's PyJWKClient fetches our
JWKS over HTTP and verifies the JWT, as a resource server in another stack would.
"""

import jwt
import pytest
from oauthlib.oauth2 import BackendApplicationClient
from oauthlib.oauth2.rfc6749.errors import InvalidScopeError
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from clients.services import create_application, generate_keys


@pytest.fixture
def live_keys(transactional_db, monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the live server speaks plain HTTP
    application = create_application(name="live", scopes="read write", default_scopes="read", create_missing_scopes=True)
    return generate_keys(application=application)


def test_requests_oauthlib_gets_a_jwt_that_pyjwkclient_verifies(live_server, live_keys, settings):
    settings.OAUTH_ISSUER = live_server.url
    settings.OAUTH_AUDIENCE = live_server.url
    session = OAuth2Session(client=BackendApplicationClient(client_id=live_keys.client_id))
    token = session.fetch_token(
        f"{live_server.url}/oauth/token",
        auth=HTTPBasicAuth(live_keys.client_id, live_keys.client_secret),
        scope=["read", "write"],
    )
    assert token["token_type"] == "Bearer"
    assert sorted(token["scope"]) == ["read", "write"]

    jwks_client = jwt.PyJWKClient(f"{live_server.url}/.well-known/jwks.json")
    signing_key = jwks_client.get_signing_key_from_jwt(token["access_token"])
    claims = jwt.decode(
        token["access_token"], signing_key.key, algorithms=["RS256"],
        audience=live_server.url, issuer=live_server.url,
    )
    assert claims["client_id"] == live_keys.client_id
    assert claims["scope"] == "read write"
    assert claims["exp"] - claims["iat"] == token["expires_in"]


def test_requests_oauthlib_with_body_credentials_and_error(live_server, live_keys):
    session = OAuth2Session(client=BackendApplicationClient(client_id=live_keys.client_id))
    token = session.fetch_token(
        f"{live_server.url}/oauth/token", client_id=live_keys.client_id,
        client_secret=live_keys.client_secret, include_client_id=True,
    )
    assert token["scope"] == ["read"]
    with pytest.raises(InvalidScopeError):
        session.fetch_token(
            f"{live_server.url}/oauth/token", auth=HTTPBasicAuth(live_keys.client_id, live_keys.client_secret),
            scope=["admin"],
        )
