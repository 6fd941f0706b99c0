"""RFC 7662 §2: token introspection for resource servers, JWT and opaque tokens alike."""

import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import timedelta
from urllib.parse import urlencode

import jwt
import pytest
from django.conf import settings
from django.utils import timezone

from clients.models import Application
from tests import forged
from tests.conftest import basic_auth, revoke_directly
from cluster.announcements import tokens_revoked
from tokens.keystore import key_store, rotate_signing_key
from tokens.models import AccessToken, SigningKey

ACTIVE_FIELDS = {"active", "scope", "client_id", "token_type", "exp", "iat", "sub", "aud", "iss", "jti", "env"}


@pytest.fixture
def gateway(make_keys, make_application):
    """The keys of an application marked as a resource server."""
    return make_keys(make_application("gateway", is_resource_server=True))


@pytest.fixture
def introspect(api_client):
    def post(caller, token: str | None, path: str = "/oauth/introspect", **fields):
        if token is not None:
            fields["token"] = token
        headers = {"HTTP_AUTHORIZATION": basic_auth(caller.client_id, caller.client_secret)} if caller else {}
        headers.update(fields.pop("headers", {}))
        return api_client.post(path, urlencode(fields), content_type="application/x-www-form-urlencoded", **headers)

    return post


@pytest.fixture
def issue(make_keys, request_token):
    """A fresh token of a new application 'billing' (scopes read write), in the format asked."""

    def make(token_format: str = "jwt", *, keys=None, **fields) -> str:
        keys = keys or make_keys(token_format=token_format)
        response = request_token(keys, **fields)
        assert response.status_code == 200, response.content
        return response.json()["access_token"]

    return make


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_an_active_token_is_described_with_every_field(gateway, introspect, make_keys, request_token, token_format):
    keys = make_keys(token_format=token_format, environment="sandbox")
    token = request_token(keys, scope="read write").json()["access_token"]
    if token_format == "jwt":
        issued = forged.claims_of(token)
        iat, exp, jti = issued["iat"], issued["exp"], issued["jti"]
    else:
        row = AccessToken.objects.get(client_id=keys.client_id)
        iat, exp, jti = int(row.issued_at.timestamp()), int(row.expires_at.timestamp()), row.jti

    response = introspect(gateway, token)

    assert response.status_code == 200
    assert response.json() == {
        "active": True,
        "scope": "read write",
        "client_id": keys.client_id,
        "token_type": "Bearer",
        "exp": exp,
        "iat": iat,
        "sub": keys.client_id,
        "aud": settings.OAUTH_AUDIENCE + "/sandbox",
        "iss": settings.OAUTH_ISSUER,
        "jti": jti,
        "env": "sandbox",
    }
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"


def test_a_jwt_introspection_agrees_with_the_token_claims(gateway, introspect, issue):
    token = issue("jwt")
    answer = introspect(gateway, token).json()
    claims = forged.claims_of(token)
    assert set(answer) == ACTIVE_FIELDS
    assert {name: answer[name] for name in claims} == claims


def test_a_resource_server_may_introspect_tokens_of_any_application(gateway, introspect, issue):
    token = issue("opaque")
    answer = introspect(gateway, token).json()
    assert answer["active"] is True
    assert answer["client_id"] != gateway.client_id


def test_a_resource_server_may_send_its_credentials_in_the_body(gateway, api_client, issue):
    body = {"token": issue(), "client_id": gateway.client_id, "client_secret": gateway.client_secret}
    response = api_client.post("/oauth/introspect", body, format="json")
    assert response.json()["active"] is True


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_an_expired_token_is_exactly_inactive(gateway, introspect, issue, token_format):
    token = issue(token_format)
    if token_format == "opaque":
        AccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    else:
        token = forged.resign(token, exp=int(timezone.now().timestamp()) - 1)
    response = introspect(gateway, token)
    assert response.status_code == 200
    assert response.json() == {"active": False}


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_a_revoked_token_is_exactly_inactive(gateway, introspect, issue, token_format):
    token = issue(token_format)
    assert introspect(gateway, token).json()["active"] is True
    revoke_directly(token)  # as another process of this host would...
    tokens_revoked.announce()  # ...telling every process after its commit
    assert introspect(gateway, token).json() == {"active": False}


@pytest.mark.parametrize(
    "token",
    ["garbage", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30.", "x" * 5000, "tok\u00e9n", "   ", "\x01\x02"],
)
def test_unknown_or_garbled_tokens_are_exactly_inactive(gateway, introspect, token):
    response = introspect(gateway, token)
    assert response.status_code == 200
    assert response.json() == {"active": False}


@pytest.mark.parametrize("forge", forged.FORGERIES.values(), ids=forged.FORGERIES.keys())
def test_forged_jwts_are_exactly_inactive(gateway, introspect, issue, forge):
    response = introspect(gateway, forge(issue()))
    assert response.json() == {"active": False}


def test_a_token_signed_by_a_retired_but_published_key_stays_active(gateway, introspect, issue):
    token = issue()
    rotate_signing_key()
    assert jwt.get_unverified_header(token)["kid"] != key_store.active_key().kid
    assert introspect(gateway, token).json()["active"] is True


def test_a_token_signed_by_a_removed_key_is_inactive(gateway, introspect, issue):
    token = issue()
    kid = jwt.get_unverified_header(token)["kid"]
    rotate_signing_key()
    SigningKey.objects.filter(kid=kid).delete()
    key_store.invalidate()
    assert introspect(gateway, token).json() == {"active": False}


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
@pytest.mark.parametrize("hint", ["access_token", "refresh_token", "something_else"])
def test_any_token_type_hint_still_finds_the_token(gateway, introspect, issue, token_format, hint):
    response = introspect(gateway, issue(token_format), token_type_hint=hint)
    assert response.json()["active"] is True


def test_a_caller_that_is_not_a_resource_server_is_403_and_learns_nothing(introspect, make_keys, issue):
    keys = make_keys()
    token = issue(keys=keys)
    response = introspect(keys, token)  # even its own token
    assert response.status_code == 403
    assert response.json()["error"] == "access_denied"
    assert set(response.json()) == {"error", "error_description"}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("credentials", ["none", "wrong-secret", "unknown-client"])
def test_an_unauthenticated_caller_is_401_invalid_client(gateway, introspect, issue, credentials):
    caller = {
        "none": None,
        "wrong-secret": replace(gateway, client_secret="wrong"),
        "unknown-client": replace(gateway, client_id="nobody"),
    }[credentials]
    response = introspect(caller, issue())
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response["WWW-Authenticate"] == 'Basic realm="oauth"'
    assert "active" not in response.json()


def test_a_disabled_resource_server_is_401(gateway, introspect, issue):
    token = issue()
    Application.objects.filter(name="gateway").update(is_active=False)
    assert introspect(gateway, token).status_code == 401


def test_a_missing_token_parameter_is_invalid_request(gateway, introspect):
    response = introspect(gateway, None)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_a_repeated_token_parameter_is_invalid_request(gateway, api_client, issue):
    token = issue()
    response = api_client.post(
        "/oauth/introspect", f"token={token}&token={token}", content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic_auth(gateway.client_id, gateway.client_secret),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_errors_and_answers_come_in_the_negotiated_format(gateway, introspect, issue):
    token = issue()
    denied = introspect(replace(gateway, client_secret="wrong"), token, format="xml")
    assert denied.status_code == 401
    assert denied["Content-Type"].startswith("application/xml")
    assert ET.fromstring(denied.content).findtext("error") == "invalid_client"

    answer = introspect(gateway, token, headers={"HTTP_ACCEPT": "application/x-www-form-urlencoded"})
    assert answer["Content-Type"] == "application/x-www-form-urlencoded"
    assert answer.content.startswith(b"active=true&scope=read&client_id=")

    inactive = ET.fromstring(introspect(gateway, "unknown", format="xml").content)
    assert [(child.tag, child.text) for child in inactive] == [("active", "false")]


def test_get_is_405_and_the_trailing_slash_works(gateway, api_client, introspect, issue):
    response = api_client.get("/oauth/introspect")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert introspect(gateway, issue(), path="/oauth/introspect/").json()["active"] is True


@pytest.mark.parametrize(("token_format", "queries"), [("jwt", 0), ("opaque", 1)])
def test_a_warm_introspection_costs_at_most_one_query_and_sees_a_revocation_at_once(
    gateway, introspect, issue, token_format, queries, django_assert_num_queries, settings, tmp_path
):
    settings.VAR_DIR = tmp_path  # this test's own stamp files
    token = issue(token_format)
    assert introspect(gateway, token).json()["active"] is True  # this process now knows both clients and the keys
    with django_assert_num_queries(queries) as captured:  # a JWT: none; an opaque token: its record
        assert introspect(gateway, token).json()["active"] is True
    assert all("tokens_accesstoken" in query["sql"] for query in captured.captured_queries)
    revoke_directly(token)  # another process of this host revokes...
    tokens_revoked.announce()  # ...and says so after its commit
    with django_assert_num_queries(1):  # what was revoked since (a JWT), or the record again (opaque)
        assert introspect(gateway, token).json() == {"active": False}
    with django_assert_num_queries(0):  # a garbled token is not looked up at all
        assert introspect(gateway, "a.b.c").json() == {"active": False}
