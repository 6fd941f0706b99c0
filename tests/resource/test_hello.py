"""RFC 6750 §2.1 and §3: the sample protected resource /api/hello, for JWT and opaque tokens."""

from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from api.views import MESSAGE
from clients.models import Application
from tests import forged
from tests.conftest import revoke_directly
from tokens.keystore import key_store, rotate_signing_key
from tokens.models import AccessToken, SigningKey
from tokens.caches import forget_token_facts

pytestmark = pytest.mark.django_db

INVALID = 'Bearer realm="api", error="invalid_token", error_description="The access token is invalid, expired or revoked."'


def assert_invalid_token(response, challenge: str = INVALID):
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == challenge
    description = challenge.split('error_description="')[1][:-1]
    assert response.json() == {"error": "invalid_token", "error_description": description}


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_get_with_any_valid_token_answers_who_called(make_keys, issue, hello, token_format):
    keys = make_keys(token_format=token_format)
    response = hello(issue(keys=keys))
    assert response.status_code == 200
    assert response.json() == {"message": MESSAGE, "client_id": keys.client_id, "scope": "read", "env": "production", "iss": settings.OAUTH_ISSUER}
    assert MESSAGE == "Congrats! You've hit an OAuth protected resource"


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_post_needs_scope_write(make_keys, issue, hello, token_format):
    keys = make_keys(token_format=token_format)
    refused = hello(issue(keys=keys, scope="read"), method="post")
    assert refused.status_code == 403
    assert refused["WWW-Authenticate"] == (
        'Bearer realm="api", error="insufficient_scope", '
        'error_description="The access token does not carry the scope this request needs.", scope="write"'
    )
    assert refused.json()["error"] == "insufficient_scope"
    assert refused.json()["scope"] == "write"

    allowed = hello(issue(keys=keys, scope="read write"), method="post")
    assert allowed.status_code == 200
    assert allowed.json() == {"message": MESSAGE, "client_id": keys.client_id, "scope": "read write", "env": "production", "iss": settings.OAUTH_ISSUER}


def test_no_token_is_401_with_the_bare_challenge(hello):
    response = hello()
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert "invalid_token" not in response.content.decode()


@pytest.mark.parametrize("authorization", ["Basic dXNlcjpwYXNz", "Token abc", "", "Bearer", "bearer  "])
def test_another_scheme_or_an_empty_header_is_treated_as_no_token(hello, authorization):
    response = hello(HTTP_AUTHORIZATION=authorization)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('Bearer realm="api"')


def test_a_bearer_header_with_two_tokens_is_invalid_token(hello):
    assert_invalid_token(
        hello(HTTP_AUTHORIZATION="Bearer a b"),
        'Bearer realm="api", error="invalid_token", error_description="The Authorization header must be \'Bearer <token>\'."',
    )


@pytest.mark.parametrize("authorization", ["Bearer \u00e9t\u00e9", "bearer a.b.c"])
def test_a_non_ascii_or_lowercase_scheme_token_is_checked_like_any_other(hello, authorization):
    assert_invalid_token(hello(HTTP_AUTHORIZATION=authorization.encode().decode("latin-1")))


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "x" * 5000, "eyJhbGciOiJSUzI1NiJ9.e30.sig"])
def test_garbled_tokens_are_invalid_token(hello, token):
    assert_invalid_token(hello(token))


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_an_expired_token_is_invalid_token(issue, hello, token_format):
    token = issue(token_format)
    assert hello(token).status_code == 200  # cached while valid: expiry must still win
    if token_format == "opaque":
        AccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        cache.clear()
        forget_token_facts()
    else:
        token = forged.resign(token, exp=int(timezone.now().timestamp()) - 1)
    assert_invalid_token(hello(token))


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_a_token_cached_as_live_still_expires(issue, hello, token_format, monkeypatch):
    token = issue(token_format)
    assert hello(token).status_code == 200
    later = timezone.now() + timedelta(hours=2)
    monkeypatch.setattr("django.utils.timezone.now", lambda: later)
    assert_invalid_token(hello(token))


@pytest.mark.parametrize("forge", forged.FORGERIES.values(), ids=forged.FORGERIES.keys())
def test_forged_jwts_are_invalid_token(issue, hello, forge):
    assert_invalid_token(hello(forge(issue())))


def test_a_retired_but_published_key_still_verifies_and_a_removed_one_does_not(issue, hello):
    token = issue()
    kid = jwt.get_unverified_header(token)["kid"]
    rotate_signing_key()
    assert hello(token).status_code == 200
    SigningKey.objects.filter(kid=kid).delete()
    key_store.invalidate()
    assert_invalid_token(hello(token))


def test_a_key_made_by_another_instance_is_found_by_its_unknown_kid(issue, hello):
    key_store.active_key()  # this process has loaded the keys...
    other = rotate_signing_key()  # ...then "another instance" rotates; our store is stale
    key_store._published.pop(other.kid, None)
    token = issue()
    assert jwt.get_unverified_header(token)["kid"] == other.kid
    assert hello(token).status_code == 200


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_a_revoked_token_is_invalid_token_at_once_on_this_instance(make_keys, issue, hello, token_format):
    from clients.services import revoke_tokens

    keys = make_keys(token_format=token_format)
    token = issue(keys=keys)
    assert hello(token).status_code == 200  # warm: state cached as live
    revoke_tokens(application=Application.objects.get())
    assert_invalid_token(hello(token))


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_a_revocation_the_cache_never_saw_is_honoured_after_a_miss(issue, hello, token_format):
    token = issue(token_format)
    assert hello(token).status_code == 200
    revoke_directly(token)  # another process, no shared cache
    cache.clear()  # the cache evicted the entry (or it expired): correctness must not depend on it
    forget_token_facts()
    assert_invalid_token(hello(token))


def test_without_a_shared_cache_a_stale_live_entry_lasts_only_the_configured_bound(issue, hello, settings):
    settings.OAUTH_TOKEN_STATE_CACHE_SECONDS = 0  # nothing cached: every check asks the database
    token = issue()
    assert hello(token).status_code == 200
    revoke_directly(token)
    assert_invalid_token(hello(token))


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_a_valid_token_costs_no_query_once_warm(
    issue, hello, token_format, django_assert_num_queries, django_assert_max_num_queries, settings, tmp_path
):
    settings.VAR_DIR = tmp_path  # no other test run's revocation stamp in the way
    token = issue(token_format)
    with django_assert_max_num_queries(3):  # cold: the client, the revoked set and (opaque) the record
        assert hello(token).status_code == 200
    with django_assert_num_queries(0):
        assert hello(token).status_code == 200
        assert hello(token, method="post").status_code == 403


def test_the_trailing_slash_works_and_other_methods_are_405(issue, hello):
    token = issue()
    assert hello(token, path="/api/hello/").status_code == 200
    response = hello(token, method="delete")
    assert response.status_code == 405


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "application/json;q=0", "application/json;q=0, */*"])
def test_an_accept_we_cannot_serve_still_gets_the_challenge_in_json_not_406(hello, accept):
    response = hello(HTTP_ACCEPT=accept)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("accept", ["text/html", "application/json;q=0", "application/json;q=0.1, text/html"])
def test_a_valid_token_gets_json_whatever_the_accept_header(issue, hello, accept):
    response = hello(issue(), HTTP_ACCEPT=accept)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["message"] == MESSAGE
