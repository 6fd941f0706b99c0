"""Scopes in the admin: the registry with each scope's visibility, and allowed scopes checked against it."""

from audit.models import AuditAction, AuditEvent
from clients.models import Application, Scope, ScopeVisibility

APPLICATIONS = "/admin/clients/application/"


def application_form(**fields) -> dict:
    return {
        "name": "ops-tool", "scopes": "read", "default_scopes": "read", "is_active": "on",
        "client_credentials_enabled": "on", "key_pairs-TOTAL_FORMS": 0, "key_pairs-INITIAL_FORMS": 0, **fields,
    }


def test_allowed_scopes_outside_the_registry_are_a_form_error(admin_client, db):
    Scope.objects.create(name="read")
    response = admin_client.post(f"{APPLICATIONS}add/", application_form(scopes="read superpower"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["scopes"] == [
        "Not in the scope registry: superpower. Add it under Scopes first."
    ]
    assert not Application.objects.exists()
    assert list(Scope.objects.values_list("name", flat=True)) == ["read"]  # not silently created either


def test_an_edit_is_checked_against_the_registry_too(admin_client, make_application):
    application = make_application("billing", scopes="read", default_scopes="read")
    url = f"{APPLICATIONS}{application.pk}/change/"
    refused = admin_client.post(url, application_form(name="billing", scopes="read", pending_scopes="superpower"))
    assert refused.status_code == 200
    assert "superpower" in refused.context["adminform"].form.errors["pending_scopes"][0]
    Scope.objects.create(name="superpower")
    assert admin_client.post(url, application_form(name="billing", scopes="read superpower")).status_code == 302
    application.refresh_from_db()
    assert application.scopes == "read superpower"
    changed = AuditEvent.objects.get(action=AuditAction.APPLICATION_CHANGED)
    assert changed.details["fields"] == ["scopes"]


def test_the_scope_list_shows_and_filters_visibility(admin_client, db):
    Scope.objects.create(name="read", visibility=ScopeVisibility.PUBLIC)
    Scope.objects.create(name="payments:admin")
    page = admin_client.get("/admin/clients/scope/", {"visibility__exact": "restricted"})
    assert [str(scope) for scope in page.context["cl"].result_list] == ["payments:admin"]
    assert "Restricted: an operator grants it" in page.content.decode()


def test_the_application_list_shows_pending_requests(admin_client, make_application):
    Scope.objects.create(name="payments:admin")
    waiting = make_application("waiting", scopes="read")
    Application.objects.filter(pk=waiting.pk).update(pending_scopes="payments:admin")
    make_application("settled", scopes="read")
    page = admin_client.get(APPLICATIONS, {"pending": "yes"})
    assert [str(app) for app in page.context["cl"].result_list] == ["waiting"]
    assert '<td class="field-pending_scopes">payments:admin</td>' in page.content.decode()


def test_granting_a_pending_scope_in_the_form_settles_the_request(admin_client, make_application):
    Scope.objects.create(name="payments:admin")
    application = make_application("billing", scopes="read", default_scopes="read")
    Application.objects.filter(pk=application.pk).update(pending_scopes="payments:admin")
    url = f"{APPLICATIONS}{application.pk}/change/"
    form = application_form(name="billing", scopes="read payments:admin", pending_scopes="payments:admin")
    assert admin_client.post(url, form).status_code == 302
    application.refresh_from_db()
    assert (application.scopes, application.pending_scopes) == ("read payments:admin", "")
