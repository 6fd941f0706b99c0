"""Operators generate, regenerate and revoke key pairs in the admin, for any application.

Applications without an owner (``make run``'s demo, ``createclient`` without ``--owner``) have no
portal user to do it. A new secret is shown once, in the action's own no-store response: never
in a message, which Django keeps in the session or a cookie until the next page.
"""

import re

import pytest
from django.contrib.admin import helpers
from django.contrib.auth.models import Permission

from audit.models import AuditAction, AuditEvent
from clients.models import KeyPair
from clients.services import IssuedKeys, generate_keys

APPLICATIONS = "/admin/clients/application/"
KEY_PAIRS = "/admin/clients/keypair/"


@pytest.fixture
def demo(make_application):
    return make_application("demo", scopes="read", default_scopes="read")  # no owner


def act(client, url, action, objects, **extra):
    return client.post(url, {"action": action, helpers.ACTION_CHECKBOX_NAME: [obj.pk for obj in objects], **extra})


def shown_secrets(response) -> list[IssuedKeys]:
    html = response.content.decode()
    rows = re.findall(r'<code class="client-id">([^<]+)</code></td><td>(\w+)</td><td><code class="client-secret">([^<]+)</code>', html)
    return [IssuedKeys(client_id, secret, environment) for client_id, environment, secret in rows]


def confirmed(page) -> dict:
    """The fields of the confirmation page's form."""
    html = page.content.decode()
    return dict(re.findall(r'<input type="hidden" name="(version-\d+|post)" value="([^"]*)"', html))


@pytest.mark.parametrize("environment", ["production", "sandbox"])
def test_generate_keys_for_an_application_without_an_owner_shows_the_secret_once(admin_client, demo, request_token, environment):
    response = act(admin_client, APPLICATIONS, f"generate_{environment}_keys", [demo])
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    [keys] = shown_secrets(response)
    assert (keys.environment, KeyPair.objects.get(application=demo).client_id) == (environment, keys.client_id)
    assert request_token(keys).status_code == 200
    assert keys.client_secret not in str(dict(admin_client.session))
    assert keys.client_secret not in admin_client.get(KEY_PAIRS).content.decode()

    again = act(admin_client, APPLICATIONS, f"generate_{environment}_keys", [demo])  # a reload re-sends the action
    assert shown_secrets(again) == [] and f"demo: already has {environment} keys" in again.content.decode()
    assert KeyPair.objects.filter(application=demo).count() == 1 and request_token(keys).status_code == 200


def test_regenerate_asks_then_shows_the_new_secret_once_and_a_reload_changes_nothing(admin_client, demo, request_token):
    old = generate_keys(application=demo)
    pair = KeyPair.objects.get(application=demo)
    asked = act(admin_client, KEY_PAIRS, "regenerate_secrets", [pair])
    assert asked.status_code == 200 and b"Regenerate secrets?" in asked.content
    assert request_token(old).status_code == 200  # nothing changed yet

    done = act(admin_client, KEY_PAIRS, "regenerate_secrets", [pair], **confirmed(asked))
    assert "no-store" in done["Cache-Control"]
    [new] = shown_secrets(done)
    assert new.client_id == old.client_id and request_token(new).status_code == 200
    assert request_token(old).json()["error"] == "invalid_client"

    reloaded = act(admin_client, KEY_PAIRS, "regenerate_secrets", [pair], **confirmed(asked))
    assert shown_secrets(reloaded) == [] and "already regenerated since the confirmation" in reloaded.content.decode()
    assert request_token(new).status_code == 200
    assert AuditEvent.objects.filter(action=AuditAction.SECRET_REGENERATED).count() == 1


def test_revoke_keys_asks_then_deletes_the_pair_and_revokes_its_tokens(admin_client, demo, request_token):
    keys = generate_keys(application=demo)
    token = request_token(keys).json()["access_token"]
    pair = KeyPair.objects.get()
    assert b"Revoke keys?" in act(admin_client, KEY_PAIRS, "revoke", [pair]).content
    assert KeyPair.objects.exists()
    response = act(admin_client, KEY_PAIRS, "revoke", [pair], post="yes")
    assert response.status_code == 302
    assert "Revoked 1 key pair(s) and every token issued with them." in admin_client.get(response["Location"]).content.decode()
    assert not KeyPair.objects.exists()
    assert request_token(keys).status_code == 401
    assert admin_client.get("/api/hello", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_key_pair_actions_need_their_permissions(client, django_user_model, demo, request_token):
    keys = generate_keys(application=demo)
    pair = KeyPair.objects.get()
    viewer = django_user_model.objects.create_user("viewer", password="a long password 9", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_keypair", "view_application"]))
    client.force_login(viewer)
    page = client.get(KEY_PAIRS).content.decode()
    assert keys.client_id in page and 'value="regenerate_secrets"' not in page and 'value="revoke"' not in page
    assert 'value="generate_sandbox_keys"' not in client.get(APPLICATIONS).content.decode()
    for url, action, objects in [(KEY_PAIRS, "regenerate_secrets", [pair]), (KEY_PAIRS, "revoke", [pair]),
                                 (APPLICATIONS, "generate_sandbox_keys", [demo])]:
        assert shown_secrets(act(client, url, action, objects, post="yes")) == []
    assert list(KeyPair.objects.values_list("client_id", flat=True)) == [keys.client_id]
    assert request_token(keys).status_code == 200


def test_the_key_pair_pages_are_read_only(admin_client, demo):
    generate_keys(application=demo)
    pair = KeyPair.objects.get()
    page = admin_client.get(f"{KEY_PAIRS}{pair.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert pair.secrets.get().secret_hash not in page.content.decode()
    assert admin_client.get(f"{KEY_PAIRS}add/").status_code == 403
