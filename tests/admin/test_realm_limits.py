"""What a fresh trial of realms found, each now refused or fixed: lifetimes no date can hold, realms that
could not be deleted for their own keys, scopes moved between realms, and documents that said too much."""

import json
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from clients.models import MAX_LIFETIME_SECONDS, Realm, Scope
from clients.services import create_application, create_realm
from tests.admin.test_realms import REALMS, realm_form
from tokens.keystore import rotate_signing_key
from tokens.models import SigningKey


@pytest.mark.parametrize("field", ["access_token_lifetime", "max_access_token_lifetime"])
def test_the_admin_refuses_a_lifetime_no_date_can_hold(admin_client, db, field):
    fields = {"max_access_token_lifetime": str(2**63 - 1)} if field == "max_access_token_lifetime" else {
        "access_token_lifetime": str(2**63 - 1), "max_access_token_lifetime": str(2**63 - 1)}
    response = admin_client.post(f"{REALMS}add/", realm_form("huge", **fields))
    assert response.status_code == 200
    assert f"less than or equal to {MAX_LIFETIME_SECONDS}" in response.content.decode()
    assert not Realm.objects.filter(name="huge").exists()


def test_a_realm_at_the_longest_lifetime_still_issues_and_rotates(db, make_application, make_keys, request_token):
    realm = create_realm(name="long", access_token_lifetime=MAX_LIFETIME_SECONDS,
                         max_access_token_lifetime=MAX_LIFETIME_SECONDS)
    keys = make_keys(make_application("app", realm=realm, token_format="opaque"))
    answer = request_token(keys, path="/realms/long/oauth/token", validity_period="1000000000000000")
    assert answer.status_code == 200 and answer.json()["expires_in"] == MAX_LIFETIME_SECONDS
    rotate_signing_key(realm="long")
    rotate_signing_key(realm="long")  # retires a key: its published_until is ~68 years on
    assert SigningKey.objects.filter(realm__name="long").count() == 3


def test_a_lifetime_above_the_maximum_in_effect_is_refused(db, settings):
    settings.OAUTH_MAX_ACCESS_TOKEN_LIFETIME = 86400
    with pytest.raises(ValidationError) as refused:
        create_realm(name="r1", access_token_lifetime=100_000)
    assert "OAUTH_MAX_ACCESS_TOKEN_LIFETIME, 86400 s" in refused.value.message_dict["access_token_lifetime"][0]
    realm = create_realm(name="r2", max_access_token_lifetime=120)
    with pytest.raises(ValidationError) as refused:
        create_application(name="app", realm=realm, token_lifetime=500)
    assert refused.value.message_dict["token_lifetime"] == ["At most 120 s, the maximum lifetime of realm r2."]
    with pytest.raises(CommandError, match="At most 120 s"):
        call_command("createclient", "cli", "--realm", "r2", "--lifetime", "500", stdout=StringIO())


def test_a_realm_without_applications_is_deleted_with_its_keys_and_scopes(admin_client, db, client):
    realm = create_realm(name="gone")
    Scope.objects.create(realm=realm, name="reports")
    assert client.get("/realms/gone/.well-known/jwks.json").status_code == 200  # anyone's fetch makes its keys
    page = admin_client.get(f"{REALMS}{realm.pk}/delete/").content.decode()
    assert "permission to delete" not in page and "Are you sure" in page
    admin_client.post(f"{REALMS}{realm.pk}/delete/", {"post": "yes"})
    assert not Realm.objects.filter(name="gone").exists()
    assert not Scope.objects.filter(name="reports").exists()
    assert not SigningKey.objects.exclude(realm__name="default").exists()  # its keys went with it


def test_a_realm_with_applications_names_them_when_its_delete_is_refused(admin_client, db, client):
    realm = create_realm(name="busy")
    create_application(name="ledger", realm=realm)
    client.get("/realms/busy/.well-known/jwks.json")
    page = admin_client.get(f"{REALMS}{realm.pk}/delete/").content.decode()
    assert "ledger" in page and "permission to delete" not in page
    assert "would require deleting the following protected related objects" in page


def test_a_scope_keeps_its_realm_in_the_admin(admin_client, db):
    create_realm(name="beta")
    scope = Scope.objects.create(realm=Realm.objects.get(name="beta"), name="write")
    form = admin_client.get(f"/admin/clients/scope/{scope.pk}/change/").context["adminform"].form
    assert "realm" not in form.fields  # shown read-only
    admin_client.post(f"/admin/clients/scope/{scope.pk}/change/",
                      {"realm": Realm.objects.get(name="default").pk, "name": "write", "visibility": "restricted"})
    scope.refresh_from_db()
    assert scope.realm.name == "beta"


def test_a_realm_with_the_grant_switched_off_offers_no_grant_type(db, api_client):
    create_realm(name="closed", client_credentials_enabled=False)
    metadata = api_client.get("/.well-known/oauth-authorization-server/realms/closed").json()
    assert metadata["grant_types_supported"] == []
    assert api_client.get("/.well-known/oauth-authorization-server").json()["grant_types_supported"] == [
        "client_credentials"]


def test_the_portal_says_when_an_applications_realm_is_disabled(client, db, django_user_model):
    developer = django_user_model.objects.create_user("dev", password="a long enough passphrase 42")
    realm = create_realm(name="paused")
    application = create_application(name="ledger", realm=realm, owner=developer)
    client.force_login(developer)
    assert "realm-disabled" not in client.get(f"/portal/applications/{application.pk}/").content.decode()
    realm.enabled = False
    realm.save()
    page = client.get(f"/portal/applications/{application.pk}/").content.decode()
    assert "its endpoints answer 404 and its tokens are refused" in page
    assert json.dumps(realm.name)[1:-1] in page
