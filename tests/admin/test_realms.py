"""Realms (CONTRACT.md "Realms"), their first step: the model's rules, and applications listed by realm.

The realms' own admin pages come with the endpoints that make a realm serve (issue 14); until
then an operator sees no setting that does nothing. Their first version is commit 167540e.
"""

import pytest
from django.core.exceptions import ValidationError
from django.db.models import ProtectedError

from clients.models import DEFAULT_REALM, Application, Realm

APPLICATIONS = "/admin/clients/application/"


@pytest.fixture
def default(db) -> Realm:
    return Realm.objects.get_or_create(name=DEFAULT_REALM, defaults={"open_to_portal": True})[0]


def errors_of(realm: Realm) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as refused:
        realm.full_clean()
    return refused.value.message_dict


@pytest.mark.parametrize("name, error", [
    ("Alpha", "lowercase letters, digits and hyphens"), ("-alpha", "starting with a letter or a digit"),
    ("al_pha", "lowercase"), ("al pha", "lowercase"), ("al/pha", "lowercase"), ("alpha.", "lowercase"),
    ("a" * 41, "at most 40 characters"), ("", "blank"),
])
def test_a_name_that_is_not_one_lowercase_path_segment_is_refused(default, name, error):
    assert any(error in message for message in errors_of(Realm(name=name))["name"])


@pytest.mark.parametrize("name", ["a", "9", "eu-west-1", "a" * 40])
def test_lowercase_letters_digits_and_hyphens_make_a_name(default, name):
    Realm(name=name).full_clean()


def test_a_lifetime_above_the_realms_maximum_is_refused(default):
    errors = errors_of(Realm(name="alpha", access_token_lifetime=7200, max_access_token_lifetime=3600))
    assert "exceed the maximum" in errors["access_token_lifetime"][0]


def test_the_default_realm_cannot_be_renamed(default):
    default.name = "renamed"
    assert errors_of(default)["name"] == ["A realm cannot be renamed: its issuer and URLs are made of its name."]


def test_no_realm_can_be_renamed_and_the_default_one_stays_enabled(default):
    alpha = Realm.objects.create(name="alpha")
    alpha.name = "beta"
    assert errors_of(alpha)["name"] == ["A realm cannot be renamed: its issuer and URLs are made of its name."]
    default.enabled = False
    assert errors_of(default)["enabled"] == ["The default realm cannot be disabled."]


def test_a_realm_with_applications_is_never_deleted(default, make_application):
    with pytest.raises(ProtectedError):
        Realm.objects.filter(pk=make_application("billing").realm_id).delete()
    assert Realm.objects.filter(name=DEFAULT_REALM).exists()


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
