"""A token is accepted only as this server issues them: for a client that exists, within the maximum lifetime.

RFC 9068 §4 (the resource server validates the claims) and RFC 6750 §3.1. A JWT is its own
record (issue 12): its signature, by a key only this server holds, proves its claims. What is
checked besides is that they are claims this server would issue: a ``sub`` that is the client,
a client that exists, is active and is of the token's environment, a lifetime within the
maximum. Issue 11 #2: a ``live`` state written into the shared cache un-revoked a token; nothing
of a token is kept there any more.
"""

import pytest
from django.utils import timezone

from tests import forged
from tests.conftest import introspect
from clients.models import Application
from clients.registry import drop_known_clients
from clients.services import revoke_tokens
from tokens.caches import forget_token_facts
from tokens.verification import verify_jwt

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "changes",
    [{"client_id": "someone-else", "sub": "someone-else"}, {"sub": "someone-else"}, {"env": "sandbox"}],
    ids=["unknown-client", "sub-not-the-client", "other-environment"],
)
def test_a_signed_jwt_with_claims_this_server_never_issues_is_refused(issue, hello, api_client, make_keys, make_application, changes):
    token = issue(scope="read")
    assert hello(token).status_code == 200  # the genuine token, now known to this process
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
    assert verify_jwt(too_long, realm=None, now=timezone.now()) is None
    refused = hello(too_long)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused["WWW-Authenticate"]


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_a_revoked_token_stays_revoked_for_a_process_that_starts_afresh(issue, hello, token_format, settings, tmp_path):
    # A cache every process shares, as Redis is: nothing written there decides whether a token is live.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(tmp_path)}}
    token = issue(token_format)
    assert hello(token).status_code == 200
    revoke_tokens(application=Application.objects.get())
    forget_token_facts()  # as a new worker would start
    drop_known_clients()
    refused = hello(token)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused["WWW-Authenticate"]


@pytest.mark.parametrize(
    "changes",
    [
        lambda claims: {"scope": 5},
        lambda claims: {"scope": ["read", "write"]},
        lambda claims: {"env": 7},
        lambda claims: {"aud": [claims["aud"], "https://evil.example"]},
        lambda claims: {"aud": claims["aud"] + "/sandbox"},  # a sandbox audience on a production token
        lambda claims: {"iat": claims["iat"] + 3000, "exp": claims["iat"] + 3600},  # born in the future
    ],
    ids=["scope-number", "scope-list", "env-number", "aud-list", "aud-of-another-environment", "iat-ahead"],
)
def test_a_signed_jwt_with_claims_of_the_wrong_shape_is_refused_never_a_500(issue, hello, api_client, make_keys, make_application, changes):
    # Found by a tester: a scope that was not a string answered 500 at /api/hello and active at
    # introspection; a list or foreign audience and an iat in the future were accepted.
    token = issue(scope="read")
    forgery = forged.resign(token, **changes(forged.claims_of(token)))  # a valid signature with our own key
    for method in ("get", "post"):
        refused = hello(forgery, method=method)
        assert refused.status_code == 401, refused.content
        assert 'error="invalid_token"' in refused["WWW-Authenticate"]
    gateway = make_keys(make_application("gateway", is_resource_server=True))
    assert introspect(api_client, gateway, forgery) == {"active": False}
    assert introspect(api_client, gateway, token)["active"] is True
