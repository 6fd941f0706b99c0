"""Realms (CONTRACT.md "Realms"): the model's rules, and the realms' admin pages.

A realm's page shows its issuer and URLs; creating, editing, disabling and deleting go through the
realm services and their audit rows; the name never changes; the default realm is never disabled
nor deleted; a realm with applications is not deleted; disabling asks first and says what it does.
"""

import pytest
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import ProtectedError

from audit.models import AuditAction, AuditEvent
from clients.models import DEFAULT_REALM, Application, Realm
from clients.realms import serving_realm
from clients.services import create_realm

REALMS = "/admin/clients/realm/"
APPLICATIONS = "/admin/clients/application/"


@pytest.fixture
def default(db) -> Realm:
    return Realm.objects.get_or_create(name=DEFAULT_REALM, defaults={"open_to_portal": True})[0]


@pytest.fixture
def issuer(settings) -> str:
    settings.OAUTH_ISSUER = "https://auth.example.com"
    return settings.OAUTH_ISSUER


def errors_of(realm: Realm) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as refused:
        realm.full_clean()
    return refused.value.message_dict


def realm_form(name: str | None = None, **fields) -> dict:
    """What the realm form sends: enabled, no override (no name on a change page: it is read-only there)."""
    return {**({"name": name} if name is not None else {}), "enabled": "on", "default_token_format": "",
            "jwt_algorithm": "", "client_credentials_enabled": "", **fields}


def run_action(admin_client, action: str, realms, **fields):
    return admin_client.post(REALMS, {"action": action, helpers.ACTION_CHECKBOX_NAME: [realm.pk for realm in realms],
                                      **fields}, follow=True)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# The model's rules, whoever saves.

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


# The list and the pages.

def test_the_list_shows_each_realm_its_issuer_state_and_applications(admin_client, default, issuer, make_application):
    alpha = create_realm(name="alpha", open_to_portal=True)
    create_realm(name="closed", enabled=False)
    make_application("billing")
    Application.objects.filter(pk=make_application("reports").pk).update(realm=alpha)
    Application.objects.filter(pk=make_application("ledger").pk).update(realm=alpha)
    response = admin_client.get(REALMS)
    html = response.content.decode()
    rows = {realm.name: realm for realm in response.context["cl"].result_list}
    assert list(rows) == ["alpha", "closed", DEFAULT_REALM]
    assert (rows["alpha"].application_total, rows["closed"].application_total, rows[DEFAULT_REALM].application_total) == (2, 0, 1)
    assert f'<td class="field-issuer">{issuer}/realms/alpha</td>' in html
    assert f'<td class="field-issuer">{issuer}</td>' in html  # default keeps OAUTH_ISSUER
    assert f'href="{APPLICATIONS}?realm__id__exact={alpha.pk}">2</a>' in html
    assert "column-enabled" in html and "column-open_to_portal" in html
    assert [realm.name for realm in admin_client.get(REALMS, {"enabled__exact": "0"}).context["cl"].result_list] == ["closed"]
    assert [realm.name for realm in admin_client.get(REALMS, {"q": "alp"}).context["cl"].result_list] == ["alpha"]


@pytest.mark.parametrize("name, urls", [
    ("alpha", {
        "token_endpoint": "https://auth.example.com/realms/alpha/oauth/token",
        "jwks_uri": "https://auth.example.com/realms/alpha/.well-known/jwks.json",
        "metadata_uri": "https://auth.example.com/.well-known/oauth-authorization-server/realms/alpha",
    }),
    (DEFAULT_REALM, {
        "token_endpoint": "https://auth.example.com/oauth/token",
        "jwks_uri": "https://auth.example.com/.well-known/jwks.json",
        "metadata_uri": "https://auth.example.com/.well-known/oauth-authorization-server",
    }),
])
def test_a_realms_page_shows_its_issuer_and_urls_and_keeps_its_name(admin_client, default, issuer, name, urls):
    realm = default if name == DEFAULT_REALM else create_realm(name=name)
    html = admin_client.get(f"{REALMS}{realm.pk}/change/").content.decode()
    for key, url in urls.items():
        assert f'<code class="realm-url" id="{key}">{url}</code>' in html
    assert f'<div class="readonly">{issuer}{"" if realm.is_default else "/realms/" + name}</div>' in html
    assert 'name="name"' not in html and f'<div class="readonly">{name}</div>' in html
    assert "Unchecked: Every endpoint of a disabled realm" in html  # the enabled box says what unchecking does


def test_the_add_page_asks_for_a_name_and_shows_no_url_yet(admin_client, default):
    html = admin_client.get(f"{REALMS}add/").content.decode()
    assert 'name="name"' in html and 'class="realm-url"' not in html


def test_an_operator_creates_a_realm_with_its_overrides_audited(admin_client, admin_user, default):
    response = admin_client.post(f"{REALMS}add/", realm_form(
        "alpha", access_token_lifetime="600", max_access_token_lifetime="3600", default_token_format="opaque",
        jwt_algorithm="ES256", client_credentials_enabled="False"))
    alpha = Realm.objects.get(name="alpha")
    assert response.status_code == 302 and response["Location"] == REALMS
    assert (alpha.enabled, alpha.open_to_portal, alpha.access_token_lifetime, alpha.max_access_token_lifetime) == (
        True, False, 600, 3600)
    assert (alpha.default_token_format, alpha.jwt_algorithm, alpha.client_credentials_enabled) == ("opaque", "ES256", False)
    created = AuditEvent.objects.get(action=AuditAction.REALM_CREATED)
    assert created.user == admin_user
    assert created.details == {"realm": "alpha", "enabled": True, "open_to_portal": False, "access_token_lifetime": 600,
                               "max_access_token_lifetime": 3600, "default_token_format": "opaque",
                               "jwt_algorithm": "ES256", "client_credentials_enabled": False}
    assert serving_realm("alpha").token_policy().default_lifetime == 600  # this process serves it at once


@pytest.mark.parametrize("name, error", [("Alpha", "lowercase letters"), ("al/pha", "lowercase"), ("", "required"),
                                         (DEFAULT_REALM, "already exists")])
def test_the_add_form_refuses_a_bad_or_taken_name(admin_client, default, name, error):
    response = admin_client.post(f"{REALMS}add/", realm_form(name))
    assert response.status_code == 200
    assert any(error in message for message in response.context["adminform"].form.errors["name"])
    assert list(Realm.objects.values_list("name", flat=True)) == [DEFAULT_REALM]
    assert not AuditEvent.objects.filter(action=AuditAction.REALM_CREATED).exists()


def test_a_lifetime_above_the_realms_maximum_is_refused(admin_client, default):
    response = admin_client.post(f"{REALMS}add/", realm_form("alpha", access_token_lifetime="7200",
                                                             max_access_token_lifetime="3600"))
    assert response.status_code == 200 and not Realm.objects.filter(name="alpha").exists()
    assert "exceed the maximum" in response.context["adminform"].form.errors["access_token_lifetime"][0]


def test_an_edit_is_audited_with_the_fields_changed_and_the_name_stays(admin_client, admin_user, default):
    alpha = create_realm(name="alpha")
    response = admin_client.post(f"{REALMS}{alpha.pk}/change/", realm_form(
        name="beta", open_to_portal="on", access_token_lifetime="900"))
    assert response.status_code == 302
    alpha.refresh_from_db()
    assert (alpha.name, alpha.open_to_portal, alpha.access_token_lifetime) == ("alpha", True, 900)
    changed = AuditEvent.objects.get(action=AuditAction.REALM_CHANGED)
    assert changed.user == admin_user
    assert changed.details == {"realm": "alpha", "open_to_portal": True, "access_token_lifetime": 900}
    again = admin_client.post(f"{REALMS}{alpha.pk}/change/", realm_form(open_to_portal="on", access_token_lifetime="900"))
    assert again.status_code == 302
    assert AuditEvent.objects.filter(action=AuditAction.REALM_CHANGED).count() == 1  # nothing changed: no row


def test_the_default_realms_form_refuses_to_disable_it(admin_client, default):
    form = realm_form(open_to_portal="on")
    del form["enabled"]
    response = admin_client.post(f"{REALMS}{default.pk}/change/", form)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["enabled"] == ["The default realm cannot be disabled."]
    default.refresh_from_db()
    assert default.enabled and not AuditEvent.objects.filter(action=AuditAction.REALM_CHANGED).exists()


# Disabling and enabling from the list.

def test_disabling_asks_first_and_says_what_it_does(admin_client, default, make_application):
    alpha = create_realm(name="alpha")
    Application.objects.filter(pk=make_application("reports").pk).update(realm=alpha)
    page = run_action(admin_client, "disable", [alpha])
    html = page.content.decode()
    assert page.status_code == 200 and "<h1>Disable realms?</h1>" in html
    assert "answers 404" in html and "every token it issued stops working" in html
    assert "<strong>alpha</strong>" in html and "1 application<" in html
    assert 'name="post" value="yes"' in html and f'name="{helpers.ACTION_CHECKBOX_NAME}" value="{alpha.pk}"' in html
    alpha.refresh_from_db()
    assert alpha.enabled and serving_realm("alpha") is not None  # nothing changed yet
    assert not AuditEvent.objects.filter(action=AuditAction.REALM_CHANGED).exists()


def test_a_confirmed_disable_makes_the_realm_stop_serving_audited(admin_client, admin_user, default):
    alpha, beta = create_realm(name="alpha"), create_realm(name="beta")
    response = run_action(admin_client, "disable", [alpha, beta], post="yes")
    assert "Disabled alpha, beta: their endpoints answer 404" in messages_of(response)[0]
    assert not Realm.objects.filter(name__in=["alpha", "beta"], enabled=True).exists()
    assert serving_realm("alpha") is None and serving_realm("beta") is None
    events = AuditEvent.objects.filter(action=AuditAction.REALM_CHANGED).order_by("id")
    assert [(event.details, event.user) for event in events] == [
        ({"realm": "alpha", "enabled": False}, admin_user), ({"realm": "beta", "enabled": False}, admin_user)]
    enabled = run_action(admin_client, "enable", [alpha])
    assert messages_of(enabled) == ["1 realm(s) enabled: alpha."]
    assert serving_realm("alpha") is not None and serving_realm("beta") is None


def test_the_default_realm_cannot_be_disabled_from_the_list(admin_client, default):
    alpha = create_realm(name="alpha")
    for fields in ({}, {"post": "yes"}):
        response = run_action(admin_client, "disable", [default, alpha], **fields)
        assert "Disable realms?" not in response.content.decode()
        assert messages_of(response) == ["The default realm cannot be disabled: it serves the server's historic paths "
                                          "and OAUTH_ISSUER. Nothing was changed."]
    assert Realm.objects.filter(enabled=True).count() == 2
    assert not AuditEvent.objects.filter(action=AuditAction.REALM_CHANGED).exists()


def test_staff_without_the_change_permission_cannot_disable(client, django_user_model, default):
    from django.contrib.auth.models import Permission

    alpha = create_realm(name="alpha")
    viewer = django_user_model.objects.create_user("viewer", password="a long password 9", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_realm"))
    client.force_login(viewer)
    assert 'value="disable"' not in client.get(REALMS).content.decode()
    run_action(client, "disable", [alpha], post="yes")
    assert Realm.objects.get(pk=alpha.pk).enabled


# Deleting.

def test_a_realm_with_applications_is_not_deleted_and_the_page_says_why(admin_client, default, make_application):
    partners = create_realm(name="partners")
    Application.objects.filter(pk=make_application("billing").pk).update(realm=partners)
    confirm = admin_client.get(f"{REALMS}{partners.pk}/delete/")
    assert confirm.status_code == 200
    assert b"would require deleting the following protected related objects" in confirm.content
    assert b"billing" in confirm.content
    assert admin_client.post(f"{REALMS}{partners.pk}/delete/", {"post": "yes"}).status_code == 200
    action = run_action(admin_client, "delete_selected", [partners], post="yes")
    assert b"protected related objects" in action.content
    assert Application.objects.get(name="billing").realm_id == partners.pk
    assert not AuditEvent.objects.filter(action=AuditAction.REALM_DELETED).exists()


@pytest.mark.parametrize("how", ["page", "action"])
def test_a_realm_without_applications_is_deleted_audited(admin_client, admin_user, default, how):
    empty = create_realm(name="empty")
    if how == "page":
        assert admin_client.post(f"{REALMS}{empty.pk}/delete/", {"post": "yes"}).status_code == 302
    else:
        run_action(admin_client, "delete_selected", [empty], post="yes")
    assert not Realm.objects.filter(pk=empty.pk).exists()
    deleted = AuditEvent.objects.get(action=AuditAction.REALM_DELETED)
    assert (deleted.details, deleted.user) == ({"realm": "empty"}, admin_user)
    assert serving_realm("empty") is None


def test_the_default_realm_has_no_delete_even_empty(admin_client, default):
    assert not Application.objects.exists()
    assert f"{REALMS}{default.pk}/delete/" not in admin_client.get(f"{REALMS}{default.pk}/change/").content.decode()
    assert admin_client.get(f"{REALMS}{default.pk}/delete/").status_code == 403
    assert admin_client.post(f"{REALMS}{default.pk}/delete/", {"post": "yes"}).status_code == 403
    assert run_action(admin_client, "delete_selected", [default], post="yes").status_code == 403
    assert Realm.objects.filter(name=DEFAULT_REALM).exists()
