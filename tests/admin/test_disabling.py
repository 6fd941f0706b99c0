"""Disabling an application ends every token of it, at once; enabling revives none.

Issue 11 #5: a disabled application's tokens kept working (introspection ``active: true``,
``/api/hello`` 200) until they expired. Every way of disabling is covered: the admin's action, the
admin's form and the service other callers use. (The admin cannot delete an application that has
tokens: their rows are read-only there.)
"""

import pytest
from django.contrib.admin import helpers

from audit.models import AuditAction, AuditEvent
from clients.models import KeyPair
from tests.conftest import introspect
from clients.services import set_application_active

APPLICATIONS = "/admin/clients/application/"


@pytest.fixture
def billing(make_application, make_keys, request_token, api_client):
    """An application, its keys, and one live token of each format held warm by this process."""
    application = make_application("billing")
    keys = make_keys(application)
    tokens = []
    for token_format in ("jwt", "opaque"):
        application.token_format = token_format
        application.save(update_fields=["token_format"])
        tokens.append(request_token(keys).json()["access_token"])
    for token in tokens:
        assert hello(api_client, token).status_code == 200  # now kept as live by this process
    resource_server = make_keys(make_application("gateway", is_resource_server=True))
    return application, keys, tokens, resource_server


def hello(api_client, token: str):
    return api_client.get("/api/hello", HTTP_AUTHORIZATION=f"Bearer {token}")


def assert_no_token_works(api_client, tokens, resource_server) -> None:
    for token in tokens:
        refused = hello(api_client, token)
        assert refused.status_code == 401, refused.content
        assert 'error="invalid_token"' in refused["WWW-Authenticate"]
        assert introspect(api_client, resource_server, token) == {"active": False}


def disable_by_action(admin_client, application) -> None:
    admin_client.post(APPLICATIONS, {"action": "disable", helpers.ACTION_CHECKBOX_NAME: [application.pk]})


def disable_by_form(admin_client, application) -> None:
    form = admin_client.get(f"{APPLICATIONS}{application.pk}/change/").context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value not in (None, False)}
    data.pop("is_active")
    pair = KeyPair.objects.get(application=application)
    data.update(client_credentials_enabled="on", **{
        "key_pairs-TOTAL_FORMS": 1, "key_pairs-INITIAL_FORMS": 1,
        "key_pairs-0-id": pair.pk, "key_pairs-0-application": application.pk,
    })
    response = admin_client.post(f"{APPLICATIONS}{application.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors


def disable_by_service(admin_client, application) -> None:
    assert set_application_active(application=application, is_active=False) is True


@pytest.mark.parametrize("disable", [disable_by_action, disable_by_form, disable_by_service])
def test_disabling_ends_every_token_at_once_and_enabling_revives_none(admin_client, api_client, billing, disable):
    application, keys, tokens, resource_server = billing
    disable(admin_client, application)
    application.refresh_from_db()
    assert not application.is_active
    assert_no_token_works(api_client, tokens, resource_server)
    assert application.tokens_not_before is not None
    revoked = AuditEvent.objects.get(action=AuditAction.TOKEN_REVOKED, application=application)
    assert revoked.details == {"tokens_issued_before": application.tokens_not_before.isoformat()}

    set_application_active(application=application, is_active=True)
    assert_no_token_works(api_client, tokens, resource_server)

