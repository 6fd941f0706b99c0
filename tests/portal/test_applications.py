"""The application list, and creating and editing applications in the portal."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from clients.models import Application
from clients.services import generate_keys
from portal.templatetags.portal import ago, minute_ago

VALID = {
    "name": "Reports",
    "description": "Nightly exports",
    "scopes": ["read", "write"],
    "default_scopes": ["read"],
    "client_credentials_enabled": "on",
    "token_format": "opaque",
    "token_lifetime": "600",
}


def field_block(response, name: str) -> str:
    """The HTML of one form field's block: its input, help text and errors."""
    html = response.content.decode()
    start = html.rindex('<div class="field', 0, html.index(f'name="{name}"'))
    return html[start:html.index('<div class="field', start + 1)] if html.count('<div class="field', start + 1) else html[start:]


def test_the_list_shows_only_my_applications_with_their_figures(portal, own_app, make_application, stranger, request_token):
    keys = generate_keys(application=own_app, environment="sandbox")
    assert request_token(keys).status_code == 200
    assert request_token(keys).status_code == 200
    make_application("not-mine", owner=stranger)
    make_application("quiet", owner=own_app.owner, token_format="jwt")

    response = portal.get("/portal/")
    html = response.content.decode()
    rows = {app.name: app for app in response.context["applications"]}
    assert set(rows) == {"billing", "quiet"}
    assert "not-mine" not in html
    assert rows["billing"].tokens_issued == 2 and rows["quiet"].tokens_issued == 0
    assert rows["billing"].last_used_at > timezone.now() - timedelta(minutes=1)
    assert rows["quiet"].last_used_at is None
    billing_row = html[html.index(">billing<"):html.index(">quiet<")]
    assert 'badge-sandbox">Sandbox<' in billing_row and "badge-production" not in billing_row
    assert '<code class="scope">read</code> <code class="scope">write</code>' in billing_row
    assert 'data-label="Tokens issued" class="num">2<' in billing_row
    assert "this minute</time>" in billing_row or "a minute ago</time>" in billing_row
    quiet_row = html[html.index(">quiet<"):]
    assert "No keys yet" in quiet_row and "JWT (RFC 9068)" in quiet_row and ">never<" in quiet_row
    assert 'Default <span class="muted">(Opaque)</span>' in billing_row  # what the default is here


def test_the_list_takes_the_same_few_queries_for_many_applications(portal, developer, make_application, request_token, django_assert_max_num_queries):
    for number in range(6):
        application = make_application(f"app-{number}", owner=developer)
        for environment in ("production", "sandbox"):
            request_token(generate_keys(application=application, environment=environment))
    # session, user, applications with their token figures, key pairs
    with django_assert_max_num_queries(4):
        response = portal.get("/portal/")
    assert response.content.decode().count('class="app-name"') == 6


def test_an_empty_list_invites_to_register(portal):
    response = portal.get("/portal/")
    assert b"No applications yet" in response.content and b'href="/portal/applications/new/"' in response.content


def test_create_an_application(portal, developer, scopes):
    form = portal.get("/portal/applications/new/")
    assert b'value="read"' in form.content and b"Read your data" in form.content
    assert re.search(r'<input type="checkbox" name="client_credentials_enabled"[^>]*checked>', form.content.decode())
    response = portal.post("/portal/applications/new/", VALID)
    application = Application.objects.get(name="Reports")
    assert response.status_code == 302 and response["Location"] == f"/portal/applications/{application.pk}/"
    assert (application.owner, application.description) == (developer, "Nightly exports")
    assert (application.scopes, application.default_scopes) == ("read write", "read")
    assert application.client_credentials_enabled and application.token_format == "opaque"
    assert application.token_lifetime == 600 and application.is_active and not application.is_resource_server
    assert AuditEvent.objects.get(action=AuditAction.APPLICATION_CREATED).user == developer


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"name": "  "}, "name", "This field is required."),
        ({"default_scopes": ["write"], "scopes": ["read"]}, "default_scopes", "Default scopes must also be allowed: write."),
        ({"scopes": ["admin"]}, "scopes", "Select a valid choice. admin is not one of the available choices."),
        ({"token_lifetime": "0"}, "token_lifetime", "greater than or equal to 1"),
        ({"token_lifetime": "86401"}, "token_lifetime", "less than or equal to 86400"),
        ({"token_format": "paseto"}, "token_format", "Select a valid choice."),
        ({"name": "x" * 101}, "name", "at most 100 characters"),
    ],
)
def test_invalid_input_is_shown_beside_the_field_and_nothing_is_saved(portal, scopes, change, field, message):
    response = portal.post("/portal/applications/new/", {**VALID, **change})
    assert response.status_code == 200
    block = field_block(response, field)
    assert "field-error" in block and message in block
    assert b"Please correct the highlighted field below." in response.content
    assert not Application.objects.exists()


def test_submitting_the_same_new_application_twice_creates_it_once(portal, scopes, make_application, stranger):
    make_application("Reports", owner=stranger)  # another developer's name does not count
    assert portal.post("/portal/applications/new/", VALID).status_code == 302
    again = portal.post("/portal/applications/new/", {**VALID, "name": "reports"})
    assert again.status_code == 200
    assert "You already have an application with this name." in field_block(again, "name")
    assert Application.objects.filter(owner__username="dev").count() == 1


def test_the_grant_can_be_left_off(portal, scopes):
    portal.post("/portal/applications/new/", {key: value for key, value in VALID.items() if key != "client_credentials_enabled"})
    assert Application.objects.get().client_credentials_enabled is False


def test_edit_an_application(portal, own_app):
    form = portal.get(f"/portal/applications/{own_app.pk}/edit/")
    assert form.context["form"]["name"].value() == "billing"
    assert b'value="write"' in form.content and b'checked' in form.content
    response = portal.post(f"/portal/applications/{own_app.pk}/edit/", {**VALID, "scopes": ["read"], "token_format": ""})
    assert response.status_code == 302
    own_app.refresh_from_db()
    assert (own_app.name, own_app.scopes, own_app.default_scopes, own_app.token_format) == ("Reports", "read", "read", "")
    changed = AuditEvent.objects.get(action=AuditAction.APPLICATION_CHANGED)
    assert changed.details["fields"] == ["description", "name", "scopes", "token_lifetime"]


def test_an_invalid_edit_changes_nothing(portal, own_app):
    response = portal.post(
        f"/portal/applications/{own_app.pk}/edit/", {**VALID, "name": "Renamed", "scopes": ["read"], "default_scopes": ["write"]}
    )
    assert response.status_code == 200 and "Default scopes must also be allowed" in field_block(response, "default_scopes")
    own_app.refresh_from_db()
    assert (own_app.name, own_app.scopes) == ("billing", "read write")
    assert not AuditEvent.objects.filter(action=AuditAction.APPLICATION_CHANGED).exists()


def test_the_application_page_shows_its_settings_and_tabs(portal, own_app):
    response = portal.get(f"/portal/applications/{own_app.pk}/")
    html = response.content.decode()
    assert "<h1>billing" in html and "Client Credentials" in html
    assert 'aria-current="page">Production Keys' in html and "Sandbox Keys" in html
    assert ">Generate Keys</button>" in html and "No production keys yet" in html
    sandbox = portal.get(f"/portal/applications/{own_app.pk}/keys/sandbox/").content.decode()
    assert 'aria-current="page">Sandbox Keys' in sandbox and "/keys/sandbox/generate/" in sandbox
    assert portal.get(f"/portal/applications/{own_app.pk}/keys/staging/").status_code == 404


def test_the_application_page_shows_its_recent_activity(portal, own_app):
    generate_keys(application=own_app)
    html = portal.get(f"/portal/applications/{own_app.pk}/").content.decode()
    activity = html[html.index('class="audit-events"'):]
    assert "Keys generated" in activity and "Application created" in activity


def test_a_disabled_application_says_so(portal, own_app):
    own_app.is_active = False
    own_app.save()
    assert b"An operator has disabled this application" in portal.get(f"/portal/applications/{own_app.pk}/").content


def test_last_use_reads_as_words():
    now = timezone.now()
    assert (ago(now - timedelta(seconds=5)), ago(now - timedelta(hours=3, minutes=5)), ago(None)) == (
        "just now", "3\xa0hours ago", ""
    )


def test_an_edit_may_keep_the_name(portal, own_app):
    response = portal.post(f"/portal/applications/{own_app.pk}/edit/", {**VALID, "name": "Billing"})
    assert response.status_code == 302
    own_app.refresh_from_db()
    assert own_app.name == "Billing"


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
@pytest.mark.parametrize("page", ["", "applications/new/", "applications/{pk}/", "applications/{pk}/edit/", "signup/"])
def test_portal_pages_refuse_methods_they_do_not_serve(portal, own_app, method, page):
    response = getattr(portal, method)("/portal/" + page.format(pk=own_app.pk))
    assert response.status_code == 405
    assert "GET" in response["Allow"] and "PUT" not in response["Allow"]
    assert Application.objects.get(pk=own_app.pk).name == own_app.name  # nothing changed


def test_last_use_is_told_to_the_minute_it_was_counted_in():
    now = timezone.now()
    this_minute = now.replace(second=0, microsecond=0)
    assert minute_ago(this_minute) == "this minute"
    assert minute_ago(this_minute - timedelta(minutes=1)) == "a minute ago"
    assert minute_ago(now - timedelta(hours=3, minutes=5)) == "3\xa0hours ago"
    assert minute_ago(None) == ""
