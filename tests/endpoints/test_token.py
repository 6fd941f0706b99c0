"""RFC 6749 §4.4 and §5: the token endpoint over HTTP, with client authentication (§2.3.1)."""

import json

import jwt
import pytest

from clients.models import Application, KeyPair
from clients.services import regenerate_secret
from tests.conftest import basic_auth, issued_count
from tokens.models import AccessToken
from tokens.protocol.formats import hash_token


def error_of(response) -> str:
    return response.json()["error"]


def test_basic_auth_gets_a_bearer_token_with_default_scope(make_keys, request_token):
    keys = make_keys(scopes="read write", default_scopes="read")
    response = request_token(keys)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600 and isinstance(body["expires_in"], int)
    assert body["scope"] == "read"
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"


def test_body_credentials_work_too(make_keys, api_client):
    keys = make_keys()
    response = api_client.post(
        "/oauth/token",
        {"grant_type": "client_credentials", "client_id": keys.client_id, "client_secret": keys.client_secret},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"


def test_trailing_slash_path_answers_without_redirect(make_keys, request_token):
    response = request_token(make_keys(), path="/oauth/token/")
    assert response.status_code == 200
    assert "access_token" in response.json()


def test_token_is_recorded_by_jti_and_never_in_clear(make_keys, request_token):
    keys = make_keys(token_format="opaque")
    token = request_token(keys).json()["access_token"]
    record = AccessToken.objects.get()
    assert record.client_id == keys.client_id
    assert record.environment == "production"
    assert record.token_hash == hash_token(token)
    assert token not in {getattr(record, field.attname) for field in AccessToken._meta.fields}


def test_jwt_claims_follow_rfc9068(make_keys, request_token, settings):
    keys = make_keys(environment="sandbox")
    token = request_token(keys, scope="write").json()["access_token"]
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == settings.OAUTH_ISSUER
    assert claims["sub"] == claims["client_id"] == keys.client_id
    assert claims["aud"] == settings.OAUTH_AUDIENCE + "/sandbox"  # a sandbox key's tokens have their own audience
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["scope"] == "write"
    assert claims["env"] == "sandbox"
    again = jwt.decode(request_token(keys, scope="write").json()["access_token"], options={"verify_signature": False})
    assert len(claims["jti"]) >= 22 and again["jti"] != claims["jti"]  # 128 random bits each
    assert not AccessToken.objects.exists()  # the signed token is its own record


def test_requested_scopes_are_granted_exactly(make_keys, request_token):
    response = request_token(make_keys(), scope="write read")
    assert response.json()["scope"] == "read write"


def test_unallowed_scope_is_invalid_scope_and_issues_nothing(make_keys, request_token):
    response = request_token(make_keys(), scope="read admin")
    assert response.status_code == 400
    assert error_of(response) == "invalid_scope"
    assert "admin" in response.json()["error_description"]
    assert issued_count() == 0


def test_validity_period_sets_and_is_capped(make_keys, request_token, settings):
    keys = make_keys()
    assert request_token(keys, validity_period="120").json()["expires_in"] == 120
    assert request_token(keys, validity_period="999999").json()["expires_in"] == settings.OAUTH_MAX_ACCESS_TOKEN_LIFETIME


def test_application_lifetime_is_used_when_request_is_silent(make_keys, request_token):
    assert request_token(make_keys(token_lifetime=300)).json()["expires_in"] == 300


def test_server_default_lifetime_comes_from_settings(make_keys, request_token, settings):
    settings.OAUTH_ACCESS_TOKEN_LIFETIME = 45
    assert request_token(make_keys()).json()["expires_in"] == 45


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5"])
def test_bad_validity_period_is_invalid_request(make_keys, request_token, value):
    response = request_token(make_keys(), validity_period=value)
    assert response.status_code == 400
    assert error_of(response) == "invalid_request"
    assert "validity_period" in response.json()["error_description"]


def test_wrong_secret_is_invalid_client_401(make_keys, request_token):
    keys = make_keys()
    response = request_token(type(keys)(keys.client_id, "wrong", keys.environment))
    assert response.status_code == 401
    assert error_of(response) == "invalid_client"
    assert response["WWW-Authenticate"] == 'Basic realm="oauth"'


def test_unknown_client_and_wrong_secret_look_the_same(make_keys, request_token):
    keys = make_keys()
    wrong_secret = request_token(type(keys)(keys.client_id, "wrong", keys.environment))
    unknown = request_token(type(keys)("nobody", "wrong", keys.environment))
    assert wrong_secret.status_code == unknown.status_code == 401
    assert wrong_secret.json() == unknown.json()


def test_no_client_authentication_is_invalid_client(request_token, db):
    response = request_token()
    assert response.status_code == 401
    assert error_of(response) == "invalid_client"
    assert response["WWW-Authenticate"] == 'Basic realm="oauth"'


def test_disabled_application_is_invalid_client(make_keys, request_token):
    keys = make_keys()
    Application.objects.update(is_active=False)
    response = request_token(keys)
    assert response.status_code == 401
    assert error_of(response) == "invalid_client"


def test_regenerated_secret_replaces_the_old_one(make_keys, request_token):
    keys = make_keys()
    new_keys = regenerate_secret(key_pair=KeyPair.objects.get(client_id=keys.client_id))
    assert request_token(keys).status_code == 401
    assert request_token(new_keys).status_code == 200


def test_two_authentication_methods_is_invalid_request(make_keys, api_client):
    keys = make_keys()
    response = api_client.post(
        "/oauth/token",
        f"grant_type=client_credentials&client_secret={keys.client_secret}",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic_auth(keys.client_id, keys.client_secret),
    )
    assert response.status_code == 400
    assert error_of(response) == "invalid_request"


def test_grant_switched_off_for_application_is_unauthorized_client(make_keys, request_token):
    keys = make_keys()
    Application.objects.update(client_credentials_enabled=False)
    response = request_token(keys)
    assert response.status_code == 400
    assert error_of(response) == "unauthorized_client"


def test_grant_switched_off_server_wide_is_unsupported_grant_type(make_keys, request_token, settings):
    settings.OAUTH_CLIENT_CREDENTIALS_ENABLED = False
    response = request_token(make_keys())
    assert response.status_code == 400
    assert error_of(response) == "unsupported_grant_type"


@pytest.mark.parametrize("grant_type", ["password", "authorization_code", "refresh_token"])
def test_other_grants_are_unsupported(make_keys, request_token, grant_type):
    response = request_token(make_keys(), grant_type=grant_type)
    assert response.status_code == 400
    assert error_of(response) == "unsupported_grant_type"


def test_missing_grant_type_is_invalid_request(make_keys, request_token):
    response = request_token(make_keys(), grant_type="")
    assert response.status_code == 400
    assert response.json()["error_description"] == "The grant_type parameter is required."


def test_repeated_parameter_is_invalid_request(make_keys, api_client):
    keys = make_keys()
    response = api_client.post(
        "/oauth/token",
        "grant_type=client_credentials&scope=read&scope=write",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic_auth(keys.client_id, keys.client_secret),
    )
    assert response.status_code == 400
    assert error_of(response) == "invalid_request"
    assert "scope" in response.json()["error_description"]


def test_repeated_key_in_json_body_is_invalid_request(make_keys, api_client):
    keys = make_keys()
    response = api_client.post(
        "/oauth/token",
        '{"grant_type": "client_credentials", "grant_type": "client_credentials"}',
        content_type="application/json",
        HTTP_AUTHORIZATION=basic_auth(keys.client_id, keys.client_secret),
    )
    assert response.status_code == 400
    assert error_of(response) == "invalid_request"


def test_unknown_parameters_are_ignored(make_keys, request_token):
    response = request_token(make_keys(), audience="x", foo="bar")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "body, content_type",
    [
        ("{not json", "application/json"),
        ("[1, 2]", "application/json"),
        ('{"grant_type": ["client_credentials"]}', "application/json"),
        ("grant_type=client_credentials", "text/plain"),
        (b"grant_type=\xff", "application/x-www-form-urlencoded"),
    ],
)
def test_unreadable_bodies_are_invalid_request(make_keys, api_client, body, content_type):
    keys = make_keys()
    response = api_client.post(
        "/oauth/token", body, content_type=content_type, HTTP_AUTHORIZATION=basic_auth(keys.client_id, keys.client_secret)
    )
    assert response.status_code == 400
    assert error_of(response) == "invalid_request"
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_other_methods_are_405_in_oauth_shape(api_client, db, method):
    response = getattr(api_client, method)("/oauth/token")
    assert response.status_code == 405
    assert error_of(response) == "invalid_request"
    assert response["Allow"] == "POST"
    assert response["Cache-Control"] == "no-store"


def test_oversized_body_is_413(make_keys, api_client, settings):
    keys = make_keys()
    body = "grant_type=client_credentials&pad=" + "x" * settings.OAUTH_MAX_REQUEST_BYTES
    response = api_client.post(
        "/oauth/token", body, content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic_auth(keys.client_id, keys.client_secret),
    )
    assert response.status_code == 413
    assert error_of(response) == "invalid_request"


def test_error_description_never_echoes_the_secret(make_keys, request_token):
    keys = make_keys()
    response = request_token(type(keys)(keys.client_id, "hunter2-secret", keys.environment), scope="read")
    assert "hunter2" not in json.dumps(response.json())
