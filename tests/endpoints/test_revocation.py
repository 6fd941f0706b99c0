"""RFC 7009 §2: a client revokes its own tokens, JWT or opaque; unknown tokens are not an error."""

import xml.etree.ElementTree as ET
from dataclasses import replace
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from tests import forged
from tests.conftest import basic_auth, is_revoked
from tokens.models import AccessToken


@pytest.fixture
def revoke(api_client):
    def post(caller, token: str | None, path: str = "/oauth/revoke", **fields):
        if token is not None:
            fields["token"] = token
        headers = {"HTTP_AUTHORIZATION": basic_auth(caller.client_id, caller.client_secret)} if caller else {}
        return api_client.post(path, urlencode(fields), content_type="application/x-www-form-urlencoded", **headers)

    return post


def issue(request_token, keys) -> str:
    response = request_token(keys)
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def hello(api_client, token: str):
    return api_client.get("/api/hello", HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
@pytest.mark.parametrize("hint", [None, "access_token", "refresh_token"])
def test_the_owner_revokes_its_token_with_or_without_a_hint(make_keys, request_token, revoke, api_client, token_format, hint):
    keys = make_keys(token_format=token_format)
    token = issue(request_token, keys)
    assert hello(api_client, token).status_code == 200  # state now cached as live

    response = revoke(keys, token, **({"token_type_hint": hint} if hint else {}))

    assert response.status_code == 200
    assert response.content == b""
    assert response["Cache-Control"] == "no-store"
    assert AccessToken.objects.get().revoked_at is not None
    refused = hello(api_client, token)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused["WWW-Authenticate"]


def test_revocation_is_recorded_in_the_audit_trail_without_the_token(make_keys, request_token, revoke):
    keys = make_keys()
    token = issue(request_token, keys)
    revoke(keys, token)
    event = AuditEvent.objects.get(action=AuditAction.TOKEN_REVOKED)
    assert event.client_id == keys.client_id
    assert event.details == {"jti": AccessToken.objects.get().jti}
    assert token not in str(event.details)


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_another_applications_token_is_left_untouched(make_keys, make_application, request_token, revoke, api_client, token_format):
    owner = make_keys(make_application("owner", token_format=token_format))
    intruder = make_keys(make_application("intruder"))
    token = issue(request_token, owner)

    response = revoke(intruder, token)

    assert response.status_code == 200  # §2.2: nothing tells the intruder whether the token exists
    assert not is_revoked(token)
    assert hello(api_client, token).status_code == 200
    assert not AuditEvent.objects.filter(action=AuditAction.TOKEN_REVOKED).exists()


def test_the_other_environment_of_the_same_application_may_revoke(make_keys, make_application, request_token, revoke):
    application = make_application("billing")
    production, sandbox = make_keys(application), make_keys(application, environment="sandbox")
    token = issue(request_token, production)
    assert revoke(sandbox, token).status_code == 200
    assert AccessToken.objects.get().revoked_at is not None


@pytest.mark.parametrize("token", ["unknown", "a.b.c", "x" * 5000, "tok\u00e9n"])
def test_unknown_or_garbled_tokens_are_200(make_keys, revoke, token):
    response = revoke(make_keys(), token)
    assert response.status_code == 200
    assert response.content == b""


def test_revoking_twice_is_200_and_keeps_the_first_time(make_keys, request_token, revoke):
    keys = make_keys(token_format="opaque")
    token = issue(request_token, keys)
    revoke(keys, token)
    first = AccessToken.objects.get().revoked_at
    assert revoke(keys, token).status_code == 200
    assert AccessToken.objects.get().revoked_at == first


def test_a_forged_jwt_revokes_nothing(make_keys, request_token, revoke):
    keys = make_keys()
    token = issue(request_token, keys)
    assert revoke(keys, forged.resign(token, key=forged.foreign_key())).status_code == 200
    assert not is_revoked(token)


def test_an_expired_token_is_200_and_changes_nothing(make_keys, request_token, revoke):
    keys = make_keys(token_format="opaque")
    token = issue(request_token, keys)
    AccessToken.objects.update(expires_at=timezone.now())
    response = revoke(keys, token)
    assert response.status_code == 200 and response.content == b""
    assert not is_revoked(token)  # an expired token is left as it was: no revocation recorded
    assert not AuditEvent.objects.filter(action=AuditAction.TOKEN_REVOKED).exists()


@pytest.mark.parametrize("credentials", ["none", "wrong-secret"])
def test_an_unauthenticated_caller_is_401_and_revokes_nothing(make_keys, request_token, revoke, credentials):
    keys = make_keys()
    token = issue(request_token, keys)
    caller = None if credentials == "none" else replace(keys, client_secret="wrong")
    response = revoke(caller, token)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response["WWW-Authenticate"] == 'Basic realm="oauth"'
    assert not is_revoked(token)


def test_a_missing_token_is_invalid_request_in_the_negotiated_format(make_keys, revoke):
    response = revoke(make_keys(), None, format="xml")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/xml")
    assert ET.fromstring(response.content).findtext("error") == "invalid_request"


def test_body_credentials_and_json_work(make_keys, request_token, api_client):
    keys = make_keys()
    token = issue(request_token, keys)
    body = {"token": token, "client_id": keys.client_id, "client_secret": keys.client_secret}
    assert api_client.post("/oauth/revoke/", body, format="json").status_code == 200
    assert AccessToken.objects.get().revoked_at is not None


def test_get_is_405(api_client):
    response = api_client.get("/oauth/revoke")
    assert response.status_code == 405
    assert response.json()["error"] == "invalid_request"
