"""Realms in the admin (CONTRACT.md "Realms"): their list and settings, the default realm kept,
a realm with applications never deleted."""

import pytest
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError

from clients.models import DEFAULT_REALM, Application, Realm

REALMS = "/admin/clients/realm/"
APPLICATIONS = "/admin/clients/application/"


def realm_form(name: str, **fields) -> dict:
    return {"name": name, "enabled": "on", "default_token_format": "", "jwt_algorithm": "",
            "client_credentials_enabled": "unknown", **fields}


@pytest.fixture
def default(db) -> Realm:
    return Realm.objects.get_or_create(name=DEFAULT_REALM, defaults={"open_to_portal": True})[0]


def test_the_list_shows_each_realm_and_searches_by_name(admin_client, default):
    Realm.objects.create(name="partners")
    page = admin_client.get(REALMS).content.decode()
    assert 'class="field-name"><a href' in page and "partners" in page and DEFAULT_REALM in page
    assert "column-open_to_portal" in page and "column-enabled" in page and "column-created_at" in page
    found = admin_client.get(REALMS, {"q": "partn"}).context["cl"].result_list
    assert [realm.name for realm in found] == ["partners"]


def test_an_operator_creates_a_realm_with_its_overrides(admin_client, default):
    response = admin_client.post(f"{REALMS}add/", realm_form(
        "alpha", access_token_lifetime="600", max_access_token_lifetime="3600", default_token_format="opaque",
        jwt_algorithm="ES256", client_credentials_enabled="false"))
    assert response.status_code == 302
    alpha = Realm.objects.get(name="alpha")
    assert (alpha.enabled, alpha.open_to_portal, alpha.access_token_lifetime, alpha.max_access_token_lifetime) == (
        True, False, 600, 3600)
    assert (alpha.default_token_format, alpha.jwt_algorithm, alpha.client_credentials_enabled) == ("opaque", "ES256", False)


@pytest.mark.parametrize("name, error", [
    ("Alpha", "lowercase letters, digits and hyphens"), ("-alpha", "starting with a letter or a digit"),
    ("al_pha", "lowercase"), ("al pha", "lowercase"), ("al/pha", "lowercase"), ("alpha.", "lowercase"),
    ("a" * 41, "at most 40 characters"), ("", "required"),
])
def test_a_name_that_is_not_one_lowercase_path_segment_is_refused(admin_client, default, name, error):
    response = admin_client.post(f"{REALMS}add/", realm_form(name))
    assert response.status_code == 200
    assert not Realm.objects.exclude(pk=default.pk).exists()
    assert any(error in message for message in response.context["adminform"].form.errors["name"])


@pytest.mark.parametrize("name", ["a", "9", "eu-west-1", "a" * 40])
def test_lowercase_letters_digits_and_hyphens_make_a_name(admin_client, default, name):
    assert admin_client.post(f"{REALMS}add/", realm_form(name)).status_code == 302
    assert Realm.objects.filter(name=name).exists()


def test_a_lifetime_above_the_realms_maximum_is_refused(admin_client, default):
    response = admin_client.post(f"{REALMS}add/", realm_form("alpha", access_token_lifetime="7200",
                                                             max_access_token_lifetime="3600"))
    assert response.status_code == 200 and not Realm.objects.filter(name="alpha").exists()
    assert "exceed the maximum" in response.context["adminform"].form.errors["access_token_lifetime"][0]


def test_a_realm_with_applications_is_not_deleted_and_the_page_says_why(admin_client, default, make_application):
    partners = Realm.objects.create(name="partners")
    Application.objects.filter(pk=make_application("billing").pk).update(realm=partners)
    confirm = admin_client.get(f"{REALMS}{partners.pk}/delete/")
    assert confirm.status_code == 200
    assert b"would require deleting the following protected related objects" in confirm.content
    assert b"billing" in confirm.content
    assert admin_client.post(f"{REALMS}{partners.pk}/delete/", {"post": "yes"}).status_code == 200
    action = admin_client.post(REALMS, {"action": "delete_selected", "post": "yes",
                                        helpers.ACTION_CHECKBOX_NAME: [partners.pk]})
    assert action.status_code == 200 and b"protected related objects" in action.content
    assert Realm.objects.filter(pk=partners.pk).exists()
    assert Application.objects.get(name="billing").realm_id == partners.pk


def test_a_realm_without_applications_is_deleted(admin_client, default):
    empty = Realm.objects.create(name="empty")
    assert admin_client.post(f"{REALMS}{empty.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Realm.objects.filter(pk=empty.pk).exists()


def test_the_default_realm_cannot_be_deleted_even_empty(admin_client, default):
    assert not Application.objects.exists()
    assert admin_client.get(f"{REALMS}{default.pk}/delete/").status_code == 403
    assert admin_client.post(f"{REALMS}{default.pk}/delete/", {"post": "yes"}).status_code == 403
    action = admin_client.post(REALMS, {"action": "delete_selected", "post": "yes",
                                        helpers.ACTION_CHECKBOX_NAME: [default.pk]})
    assert action.status_code == 403
    assert Realm.objects.filter(name=DEFAULT_REALM).exists()


def test_the_default_realm_cannot_be_renamed(admin_client, default):
    response = admin_client.post(f"{REALMS}{default.pk}/change/", realm_form("renamed", open_to_portal="on"))
    assert response.status_code == 302  # the rest saves; the name is read-only here
    assert Realm.objects.get(pk=default.pk).name == DEFAULT_REALM
    default.name = "renamed"
    with pytest.raises(ValidationError) as refused:
        default.full_clean()
    assert refused.value.message_dict["name"] == ["The default realm cannot be renamed."]


def test_another_realm_can_be_renamed(admin_client, default):
    partners = Realm.objects.create(name="partners")
    assert admin_client.post(f"{REALMS}{partners.pk}/change/", realm_form("customers")).status_code == 302
    assert Realm.objects.get(pk=partners.pk).name == "customers"


def test_the_application_list_shows_and_filters_by_realm(admin_client, default, make_application):
    partners = Realm.objects.create(name="partners")
    make_application("billing")
    Application.objects.filter(pk=make_application("reports").pk).update(realm=partners)
    page = admin_client.get(APPLICATIONS)
    assert b"column-realm" in page.content
    filtered = admin_client.get(APPLICATIONS, {"realm__id__exact": partners.pk}).context["cl"].result_list
    assert [application.name for application in filtered] == ["reports"]
    in_default = admin_client.get(APPLICATIONS, {"realm__id__exact": default.pk}).context["cl"].result_list
    assert [application.name for application in in_default] == ["billing"]
