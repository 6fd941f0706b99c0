"""rotatekeys and cleartokens per realm (CONTRACT.md "Management commands"), and /api/hello across realms."""

from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from clients.models import Realm
from clients.services import create_realm
from tokens.keystore import key_store_for, rotate_signing_key
from tokens.models import AccessToken, KeyRole, SigningKey


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def active_kids() -> dict[str, str]:
    return dict(SigningKey.objects.filter(role=KeyRole.ACTIVE).values_list("realm__name", "kid"))


@pytest.fixture
def alpha(db):
    return create_realm(name="alpha", jwt_algorithm="ES256")


def test_rotatekeys_without_a_realm_rotates_every_realm_each_with_its_algorithm(alpha):
    rotate_signing_key()
    rotate_signing_key(realm="alpha")
    before = active_kids()
    waiting = dict(SigningKey.objects.filter(role=KeyRole.NEXT).values_list("realm__name", "kid"))
    output = run("rotatekeys")
    assert active_kids() == waiting  # each realm's key published ahead took over
    assert f"Signing key {waiting['default']} (RS256) signs from now on; the previous key" in output
    assert f"Signing key {waiting['alpha']} (ES256) signs from now on in realm alpha; the previous key" in output
    retired = dict(SigningKey.objects.filter(role=KeyRole.RETIRED).values_list("realm__name", "kid"))
    assert retired == before


def test_rotatekeys_with_a_realm_leaves_the_others_alone(alpha):
    rotate_signing_key()
    rotate_signing_key(realm="alpha")
    default_kid = active_kids()["default"]
    output = run("rotatekeys", "--realm", "alpha")
    assert active_kids()["default"] == default_kid
    assert "in realm alpha" in output and "(ES256)" in output and default_kid not in output
    assert SigningKey.objects.filter(realm__name="alpha", role=KeyRole.RETIRED).count() == 1


def test_rotatekeys_refuses_an_unknown_realm_and_another_algorithm_than_the_realms(alpha):
    with pytest.raises(CommandError, match="No realm named 'beta'"):
        run("rotatekeys", "--realm", "beta")
    with pytest.raises(CommandError, match="Realm alpha signs with ES256 \\(its JWT algorithm\\)"):
        run("rotatekeys", "--realm", "alpha", "--algorithm", "RS256")
    # Checked for every realm before any rotates: the default realm's RS256 refuses ES256, so nothing changed.
    with pytest.raises(CommandError, match="servers sign with RS256"):
        run("rotatekeys", "--algorithm", "ES256")
    assert not SigningKey.objects.exists()


def test_a_retired_key_of_a_realm_with_a_shorter_maximum_leaves_the_jwks_sooner(db, settings):
    settings.OAUTH_MAX_ACCESS_TOKEN_LIFETIME = 86400
    create_realm(name="short", max_access_token_lifetime=600)
    rotate_signing_key(realm="short")
    rotate_signing_key(realm="short")
    retired = SigningKey.objects.get(realm__name="short", role=KeyRole.RETIRED)
    lasts = (retired.published_until - retired.retired_at).total_seconds()
    assert lasts == settings.OAUTH_KEY_CACHE_SECONDS + 600 + 60  # the realm's maximum, not the server's day


def test_cleartokens_clears_one_realm_or_all(alpha, make_application, make_keys, request_token):
    def expired_token(realm):
        application = make_application(f"app-{realm.name}", realm=realm, token_format="opaque")
        keys = make_keys(application)
        path = "/oauth/token" if realm.is_default else f"/realms/{realm.name}/oauth/token"
        assert request_token(keys, path=path).status_code == 200
        return application

    in_alpha = expired_token(alpha)
    in_default = expired_token(Realm.objects.get(name="default"))
    AccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert "Removed 1 expired or revoked tokens" in run("cleartokens", "--realm", "alpha")
    assert list(AccessToken.objects.values_list("application_id", flat=True)) == [in_default.pk]
    assert in_alpha.pk not in AccessToken.objects.values_list("application_id", flat=True)
    assert "Removed 1 expired" in run("cleartokens")
    assert not AccessToken.objects.exists()
    with pytest.raises(CommandError, match="No realm named 'nowhere'"):
        run("cleartokens", "--realm", "nowhere")


def test_api_hello_accepts_every_realm_and_says_which(alpha, make_application, make_keys, request_token, api_client):
    keys = make_keys(make_application("alpha-app", realm=alpha))
    token = request_token(keys, path="/realms/alpha/oauth/token").json()["access_token"]
    answer = api_client.get("/api/hello", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert answer.status_code == 200
    assert answer.json()["iss"] == f"{settings.OAUTH_ISSUER}/realms/alpha"
    assert answer.json()["client_id"] == keys.client_id
    key_store_for("alpha").invalidate()
    alpha.enabled = False
    alpha.save()
    refused = api_client.get("/api/hello", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_token"
