"""Changing an application's owner in the admin: a permission of its own, audited with both owners.

The owner regenerates the application's secrets in the portal, so whoever may set the owner may
act as that client: "change application" alone must not be enough.
"""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from audit.models import AuditAction, AuditEvent
from clients.models import KeyPair
from clients.services import generate_keys


@pytest.fixture
def alice(django_user_model, db):
    return django_user_model.objects.create_user("alice", password="a long password 9")


@pytest.fixture
def billing(make_application, alice):
    application = make_application("billing", owner=alice)
    generate_keys(application=application)
    return application


def staff(django_user_model, name: str, *codenames: str):
    user = django_user_model.objects.create_user(name, password="a long password 9", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="clients", codename__in=codenames))
    return user


def change_url(application) -> str:
    return reverse("admin:clients_application_change", args=[application.pk])


def post_change(client, application, **changes):
    form = client.get(change_url(application)).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name in form.fields}
    data.update({"is_active": "on", "client_credentials_enabled": "on", "key_pairs-TOTAL_FORMS": 1,
                 "key_pairs-INITIAL_FORMS": 1, "key_pairs-0-id": KeyPair.objects.get(application=application).pk,
                 "key_pairs-0-application": application.pk}, **changes)
    return client.post(change_url(application), data)


def test_change_application_alone_cannot_take_the_owner(client, django_user_model, billing, alice):
    mallory = staff(django_user_model, "mallory", "view_application", "change_application")
    client.force_login(mallory)
    page = client.get(change_url(billing)).content.decode()
    assert 'name="owner"' not in page and "alice" in page  # shown, read-only
    response = post_change(client, billing, owner=mallory.pk, description="mine now")
    assert response.status_code == 302
    billing.refresh_from_db()
    assert (billing.owner, billing.description) == (alice, "mine now")
    client.force_login(mallory)
    assert client.get(f"/portal/applications/{billing.pk}/").status_code == 404
    assert not AuditEvent.objects.filter(details__has_key="new_owner").exists()


def test_the_owner_permission_changes_the_owner_and_audits_both(client, django_user_model, billing, alice):
    operator = staff(django_user_model, "operator", "view_application", "change_application", "change_application_owner")
    bob = django_user_model.objects.create_user("bob", password="a long password 9")
    client.force_login(operator)
    assert 'name="owner"' in client.get(change_url(billing)).content.decode()
    assert post_change(client, billing, owner=bob.pk).status_code == 302
    billing.refresh_from_db()
    assert billing.owner == bob
    event = AuditEvent.objects.get(action=AuditAction.APPLICATION_CHANGED, application=billing)
    assert (event.user, event.details) == (operator, {"fields": ["owner"], "previous_owner": "alice", "new_owner": "bob"})


def test_an_owner_change_whose_audit_fails_is_not_saved(django_user_model, billing, alice, monkeypatch):
    operator = staff(django_user_model, "operator", "view_application", "change_application", "change_application_owner")
    client = Client(raise_request_exception=False)
    client.force_login(operator)
    form_page = client.get(change_url(billing))
    assert form_page.status_code == 200

    def failing(*args, **kwargs):
        raise RuntimeError("the audit table is gone")

    monkeypatch.setattr("clients.admin.record_event", failing)
    assert post_change(client, billing, owner=operator.pk).status_code == 500
    billing.refresh_from_db()
    assert billing.owner == alice
