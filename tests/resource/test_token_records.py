"""A token is accepted only as it was issued: its record's claims, a lifetime within the maximum.

RFC 9068 §4 (the resource server validates the claims) and RFC 6750 §3.1. Issue 11 #2: a JWT
with a valid signature and the ``jti`` of any live record was accepted with whatever
``client_id``, ``scope`` and ``exp`` it claimed, and a ``live`` state written into the shared
cache un-revoked a token.
"""

import time

import pytest
from django.core.cache import cache
from django.utils import timezone

from tests import forged
from tests.conftest import introspect
from tokens.models import AccessToken
from clients.services import revoke_tokens
from tokens.token_state import forget_token_states
from tokens.verification import verify_jwt

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "changes",
    [{"client_id": "someone-else", "sub": "someone-else"}, {"scope": "read write admin"}, {"exp_extra": 600},
     {"sub": "someone-else"}, {"env": "sandbox"}],
    ids=["client", "scope", "exp", "sub", "env"],
)
def test_a_signed_jwt_whose_claims_differ_from_its_record_is_refused(issue, hello, api_client, make_keys, make_application, changes):
    token = issue(scope="read")
    assert hello(token).status_code == 200  # the genuine token, now kept as live by this process
    claims = forged.claims_of(token)
    if extra := changes.pop("exp_extra", 0):
        changes["exp"] = claims["exp"] + extra
    forgery = forged.resign(token, **changes)  # a valid signature with our own key

    refused = hello(forgery)
    assert refused.status_code == 401, refused.content
    assert 'error="invalid_token"' in refused["WWW-Authenticate"]
    gateway = make_keys(make_application("gateway", is_resource_server=True))
    assert introspect(api_client, gateway, forgery) == {"active": False}
    assert introspect(api_client, gateway, token)["active"] is True


def test_a_jwt_living_longer_than_the_maximum_lifetime_is_refused(issue, hello, settings):
    token = issue()
    claims = forged.claims_of(token)
    settings.OAUTH_MAX_ACCESS_TOKEN_LIFETIME = claims["exp"] - claims["iat"] - 1
    too_long = forged.resign(token)  # the same claims, signed afresh: not in this process's memory
    assert verify_jwt(too_long, now=timezone.now()) is None
    refused = hello(too_long)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused["WWW-Authenticate"]


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_a_live_state_written_into_the_shared_cache_revives_no_revoked_token(issue, hello, token_format, settings, tmp_path):
    # A cache every process shares, as Redis is.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(tmp_path)}}
    token = issue(token_format)
    assert hello(token).status_code == 200
    row = AccessToken.objects.get()
    revoke_tokens(application=row.application)
    forget_token_states()  # as a new worker would start
    cache.set(f"oauth:token-state:{row.jti}", ("live", time.time()), 30)  # what a racing reader once wrote back
    refused = hello(token)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused["WWW-Authenticate"]
