"""A realm's life and its own counters (CONTRACT.md "Realms"; issue 14).

Disabled, a realm's five endpoints and its second metadata place answer 404 with the OAuth body
and its tokens stop working; enabled again, its unexpired tokens work again. A realm with
applications is never deleted; an empty one goes with its signing keys and scopes. Lockout
(RFC 6749 §10.10) and rate-limit counters are kept per realm, and rotating one realm's signing
keys leaves every other realm's as they were.
"""

import jwt
import pytest
from django.core.cache import cache
from django.db.models import ProtectedError

from clients import lockout
from clients.models import Realm, Scope
from clients.realms import serving_realm
from clients.services import IssuedKeys, create_realm, delete_realm, update_realm
from tokens import throttling
from tokens.keystore import rotate_signing_key
from tokens.models import KeyRole, SigningKey
from tokens.protocol.errors import InvalidToken
from tokens.services import validate_access_token

from .conftest import INTROSPECT, JWKS, REVOKE, TOKEN, UNKNOWN_REALM, hello, introspect_at, issue, post_form


def every_endpoint(api_client, member, token: str) -> list:
    """One request to each of the realm's OAuth endpoints and documents, with its credentials and a token of its own."""
    return [
        post_form(api_client, member.url(TOKEN), member.client, grant_type="client_credentials"),
        post_form(api_client, member.url(INTROSPECT), member.gateway, token=token),
        post_form(api_client, member.url(REVOKE), member.gateway, token=token),  # not the gateway's: revokes nothing
        api_client.get(member.url(JWKS)),
        *(api_client.get(url) for url in member.metadata_urls()),
    ]


def test_a_disabled_realm_answers_404_everywhere_and_its_tokens_stop_until_it_is_enabled(
    api_client, make_realm, make_keys, make_application
):
    alpha, beta = make_realm("alpha", token_format="jwt"), make_realm("beta")
    opaque_client = make_keys(make_application("opaque", token_format="opaque", realm=alpha.realm))
    jwt_token, opaque_token = issue(api_client, alpha), issue(api_client, alpha, opaque_client)
    tokens = [jwt_token, opaque_token]
    for token in tokens:  # warm: this process keeps the realm, its keys and the tokens' claims
        assert hello(api_client, token).status_code == 200
        assert introspect_at(api_client, alpha, alpha.gateway, token).json()["active"] is True

    update_realm(realm=alpha.realm, enabled=False)

    answers = every_endpoint(api_client, alpha, jwt_token)
    assert [answer.status_code for answer in answers] == [404] * 6
    assert all(answer.json() == UNKNOWN_REALM for answer in answers)
    for token in tokens:
        refused = hello(api_client, token)
        assert refused.status_code == 401
        assert 'error="invalid_token"' in refused["WWW-Authenticate"]
        with pytest.raises(InvalidToken):
            validate_access_token(token)
    assert hello(api_client, issue(api_client, beta)).status_code == 200  # beta serves on

    update_realm(realm=alpha.realm, enabled=True)

    for token in tokens:
        answer = hello(api_client, token)
        assert (answer.status_code, answer.json()["client_id"]) == (200, validate_access_token(token).client_id)
        assert introspect_at(api_client, alpha, alpha.gateway, token).json()["iss"] == alpha.issuer
    assert [answer.status_code for answer in every_endpoint(api_client, alpha, opaque_token)] == [200] * 6
    assert hello(api_client, opaque_token).status_code == 200


def test_a_realm_with_applications_is_not_deleted_and_serves_on(api_client, make_realm):
    alpha = make_realm("alpha")
    issue(api_client, alpha)  # its keys exist
    with pytest.raises(ProtectedError):
        delete_realm(realm=alpha.realm)
    assert Realm.objects.filter(name="alpha").exists()
    assert SigningKey.objects.filter(realm=alpha.realm).count() == 2  # active and next
    assert validate_access_token(issue(api_client, alpha)).iss == alpha.issuer


def test_an_empty_realm_is_deleted_with_its_keys_and_scopes(api_client, db):
    empty = create_realm(name="empty")
    Scope.objects.create(realm=empty, name="read")
    kids = {key["kid"] for key in api_client.get(f"/realms/empty{JWKS}").json()["keys"]}
    assert len(kids) == 2

    delete_realm(realm=empty)

    assert not SigningKey.objects.filter(kid__in=kids).exists()
    assert not Scope.objects.filter(realm_id=empty.pk).exists()
    assert serving_realm("empty") is None
    response = api_client.get(f"/realms/empty{JWKS}")
    assert (response.status_code, response.json()) == (404, UNKNOWN_REALM)


def test_a_realm_made_again_under_a_deleted_ones_name_has_none_of_its_keys(api_client, db):
    # Same process, straight away: nothing it kept of the deleted realm's keys may serve the new one.
    create_realm(name="again")
    old = {key["kid"] for key in api_client.get(f"/realms/again{JWKS}").json()["keys"]}
    delete_realm(realm=Realm.objects.get(name="again"))
    create_realm(name="again")
    new = {key["kid"] for key in api_client.get(f"/realms/again{JWKS}").json()["keys"]}
    assert len(new) == 2 and not new & old
    stored = set(SigningKey.objects.filter(realm__name="again").values_list("kid", flat=True))
    assert new == stored


@pytest.fixture
def frozen_clock(monkeypatch):
    now = [6_000_000.0]
    monkeypatch.setattr(lockout, "clock", lambda: now[0])
    monkeypatch.setattr(throttling, "clock", lambda: now[0])
    return now


def wrong_secret(keys: IssuedKeys) -> IssuedKeys:
    return IssuedKeys(keys.client_id, "not-the-secret", keys.environment)


def test_failures_in_one_realm_do_not_lock_the_same_client_id_or_address_in_another(
    api_client, make_realm, small_lockout, frozen_clock
):
    default, alpha = make_realm("default"), make_realm("alpha")
    guessed = wrong_secret(default.client)  # a default client's id, guessed at alpha
    for _ in range(10):
        post_form(api_client, alpha.url(TOKEN), guessed, grant_type="client_credentials")
    locked = post_form(api_client, alpha.url(TOKEN), guessed, grant_type="client_credentials")
    assert locked.status_code == 429
    assert locked.json() == {
        "error": "temporarily_unavailable",
        "error_description": "Too many failed authentication attempts; try again later.",
    }
    # The same id and the same address, in the default realm: counted afresh there.
    refused = post_form(api_client, default.url(TOKEN), guessed, grant_type="client_credentials")
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    # A third realm's client, from the address locked at alpha, fails with 401 too, not 429.
    beta = make_realm("beta")
    elsewhere = post_form(api_client, beta.url(TOKEN), wrong_secret(beta.client), grant_type="client_credentials")
    assert (elsewhere.status_code, elsewhere.json()["error"]) == (401, "invalid_client")
    # And right credentials are never refused by a lockout, at alpha either.
    assert validate_access_token(issue(api_client, alpha)).iss == alpha.issuer


def test_the_token_rate_limit_counts_each_realms_client_in_its_realm(api_client, make_realm, settings, frozen_clock):
    settings.OAUTH_TOKEN_RATE_LIMIT = "2/minute"
    alpha, default = make_realm("alpha"), make_realm("default")
    answers = [post_form(api_client, alpha.url(TOKEN), alpha.client, grant_type="client_credentials") for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[2].json()["error_description"] == "Too many token requests for this client; try again later."
    assert answers[2]["Retry-After"] == "60"
    window = int(frozen_clock[0] // 60)
    assert cache.get(f"rate:token:alpha:{alpha.client.client_id}:{window}") == 3
    assert cache.get(f"rate:token:default:{alpha.client.client_id}:{window}") is None
    # The default realm's client has its own count.
    assert [post_form(api_client, default.url(TOKEN), default.client, grant_type="client_credentials").status_code
            for _ in range(2)] == [200, 200]


def active_kid(api_client, member) -> str:
    return jwt.get_unverified_header(issue(api_client, member))["kid"]


@pytest.mark.parametrize("rotated", ["alpha", "default"])
def test_rotating_one_realms_keys_leaves_the_others_as_they_were(api_client, make_realm, rotated):
    members = {name: make_realm(name, token_format="jwt") for name in ("default", "alpha", "beta")}
    before = {name: active_kid(api_client, member) for name, member in members.items()}
    published = {name: api_client.get(member.url(JWKS)).json() for name, member in members.items()}
    old_token = issue(api_client, members[rotated])

    new_key = rotate_signing_key(realm=rotated)

    after = {name: active_kid(api_client, member) for name, member in members.items()}
    assert after[rotated] == new_key.kid != before[rotated]
    assert {name: kid for name, kid in after.items() if name != rotated} == {
        name: kid for name, kid in before.items() if name != rotated
    }
    for name, member in members.items():
        if name != rotated:
            assert api_client.get(member.url(JWKS)).json() == published[name]
    # The new key was published ahead as the rotated realm's next key; the retired one stays published.
    assert new_key.kid in {key["kid"] for key in published[rotated]["keys"]}
    assert SigningKey.objects.get(kid=before[rotated]).role == KeyRole.RETIRED
    assert validate_access_token(old_token).iss == members[rotated].issuer
    assert hello(api_client, old_token).status_code == 200
