"""Realms across the admin (CONTRACT.md "Realms"): every list filters by realm, and an application's realm
is chosen when it is added, its scopes checked against that realm's registry, and never changed afterwards.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from clients.models import Application, KeyPair, Realm, Scope, default_realm_pk
from clients.services import create_application, create_realm, generate_keys
from tokens.models import AccessToken, SigningKey

APPLICATIONS = "/admin/clients/application/"


@pytest.fixture
def realms(db) -> tuple[Realm, Realm]:
    """The default realm and alpha, each with an application holding keys and a stored token, and a signing key."""
    default, alpha = Realm.objects.get(pk=default_realm_pk()), create_realm(name="alpha")
    for realm, name in ((default, "billing"), (alpha, "reports")):
        application = create_application(name=name, realm=realm)
        keys = generate_keys(application=application)
        now = timezone.now()
        AccessToken.objects.create(
            application=application, key_pair=KeyPair.objects.get(client_id=keys.client_id), client_id=keys.client_id,
            environment="production", token_format="opaque", jti=f"jti-{name}", issued_at=now,
            expires_at=now + timedelta(hours=1))
        SigningKey.objects.create(kid=f"kid-{realm.name}", realm=realm, algorithm="ES256", private_key="",
                                  public_jwk={"kty": "EC"}, role="active")
        Scope.objects.create(realm=realm, name=f"{name}:read")
    return default, alpha


def listed(admin_client, url: str, **query) -> list[str]:
    return sorted(str(row) for row in admin_client.get(url, query).context["cl"].result_list)


@pytest.mark.parametrize("url, parameter, in_default, in_alpha", [
    (APPLICATIONS, "realm__id__exact", ["billing"], ["reports"]),
    ("/admin/clients/scope/", "realm__id__exact", ["billing:read"], ["reports:read"]),
    ("/admin/tokens/accesstoken/", "application__realm__id__exact", ["jti-billing"], ["jti-reports"]),
    ("/admin/tokens/signingkey/", "realm__id__exact", ["kid-default (ES256, active)"], ["kid-alpha (ES256, active)"]),
])
def test_each_list_filters_by_realm(admin_client, realms, url, parameter, in_default, in_alpha):
    default, alpha = realms
    page = admin_client.get(url).content.decode()
    assert "By realm" in page and f"?{parameter}={alpha.pk}" in page
    assert listed(admin_client, url) == sorted(in_default + in_alpha)
    assert listed(admin_client, url, **{parameter: default.pk}) == in_default
    assert listed(admin_client, url, **{parameter: alpha.pk}) == in_alpha


def test_the_key_pair_list_shows_and_filters_by_realm(admin_client, realms):
    default, alpha = realms
    url = "/admin/clients/keypair/"
    page = admin_client.get(url).content.decode()
    assert '<td class="field-application__realm">alpha</td>' in page
    reports = KeyPair.objects.get(application__name="reports")
    assert [pair.client_id for pair in admin_client.get(url, {"application__realm__id__exact": alpha.pk})
            .context["cl"].result_list] == [reports.client_id]
    assert reports.client_id not in [pair.client_id for pair in admin_client.get(
        url, {"application__realm__id__exact": default.pk}).context["cl"].result_list]


def test_the_signing_key_list_shows_each_keys_realm(admin_client, realms):
    page = admin_client.get("/admin/tokens/signingkey/").content.decode()
    assert '<td class="field-realm nowrap">alpha</td>' in page and '<td class="field-realm nowrap">default</td>' in page


def test_audit_events_filter_by_their_applications_realm_and_the_realms_own_events(admin_client, realms):
    default, alpha = realms
    url = "/admin/audit/auditevent/"
    assert "By realm" in admin_client.get(url).content.decode()
    of_alpha = admin_client.get(url, {"realm": "alpha"}).context["cl"].result_list
    assert sorted((event.action, event.application.name if event.application else "") for event in of_alpha) == [
        (AuditAction.APPLICATION_CREATED, "reports"), (AuditAction.REALM_CREATED, ""),
        (AuditAction.SECRET_GENERATED, "reports")]
    of_default = admin_client.get(url, {"realm": "default"}).context["cl"].result_list
    assert sorted((event.action, event.application.name) for event in of_default) == [
        (AuditAction.APPLICATION_CREATED, "billing"), (AuditAction.SECRET_GENERATED, "billing")]
    assert admin_client.get(url, {"realm": "nonexistent"}).context["cl"].result_count == 0


def application_form(realm: Realm, scopes: str, **fields) -> dict:
    return {"name": "ops-tool", "realm": realm.pk, "scopes": scopes, "default_scopes": "", "is_active": "on",
            "client_credentials_enabled": "on", "key_pairs-TOTAL_FORMS": 0, "key_pairs-INITIAL_FORMS": 0, **fields}


def test_the_add_form_offers_every_realm_default_first_chosen(admin_client, realms):
    default, alpha = realms
    form = admin_client.get(f"{APPLICATIONS}add/").context["adminform"].form
    assert form["realm"].initial == default.pk
    assert {str(choice[1]) for choice in form.fields["realm"].choices} >= {"default", "alpha"}


def test_an_application_added_in_a_realm_is_checked_against_that_realms_scopes(admin_client, admin_user, realms):
    default, alpha = realms
    refused = admin_client.post(f"{APPLICATIONS}add/", application_form(alpha, "billing:read"))
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors["scopes"] == [
        "Not in the scope registry: billing:read. Add it under Scopes first."]  # default's scope, not alpha's
    assert not Application.objects.filter(name="ops-tool").exists()

    response = admin_client.post(f"{APPLICATIONS}add/", application_form(alpha, "reports:read",
                                                                         default_scopes="reports:read"))
    assert response.status_code == 302
    added = Application.objects.get(name="ops-tool")
    assert (added.realm, added.scopes, added.default_scopes) == (alpha, "reports:read", "reports:read")
    created = AuditEvent.objects.get(action=AuditAction.APPLICATION_CREATED, application=added)
    assert created.user == admin_user


def test_an_applications_realm_is_read_only_once_added(admin_client, realms):
    default, alpha = realms
    reports = Application.objects.get(name="reports")
    page = admin_client.get(f"{APPLICATIONS}{reports.pk}/change/")
    html = page.content.decode()
    assert "realm" not in page.context["adminform"].form.fields
    assert f'<div class="readonly"><a href="/admin/clients/realm/{alpha.pk}/change/">alpha</a></div>' in html
    assert 'name="realm"' not in html
    pair = KeyPair.objects.get(application=reports)
    response = admin_client.post(f"{APPLICATIONS}{reports.pk}/change/", application_form(
        default, "reports:read", name="reports", **{"key_pairs-TOTAL_FORMS": 1, "key_pairs-INITIAL_FORMS": 1,
                                                     "key_pairs-0-id": pair.pk, "key_pairs-0-application": reports.pk}))
    assert response.status_code == 302, response.context["adminform"].form.errors
    reports.refresh_from_db()
    assert (reports.realm, reports.scopes) == (alpha, "reports:read")  # saved, in its realm still
