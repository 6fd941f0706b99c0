"""Generate Keys, Regenerate secret, Revoke keys and Revoke all tokens in the portal.

The secret is shown once, in the response to the POST that made it; destructive actions are
POSTs with CSRF protection that ask for confirmation; another user's application is a 404.
"""

import logging
import re

import pytest
from django.test import Client

from audit.models import AuditAction, AuditEvent
from clients.models import KeyPair
from clients.services import generate_keys
from tests.conftest import basic_auth

from .conftest import shown_keys, shown_value


def keys_url(application, action: str = "", environment: str = "production") -> str:
    return f"/portal/applications/{application.pk}/keys/{environment}/" + (f"{action}/" if action else "")


@pytest.mark.parametrize("environment", ["production", "sandbox"])
def test_generate_keys_shows_the_secret_once_with_how_to_use_it(portal, own_app, request_token, settings, environment, caplog):
    caplog.set_level(logging.DEBUG)
    settings.OAUTH_ISSUER = "https://auth.example.com"
    response = portal.post(keys_url(own_app, "generate", environment))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    keys = shown_keys(response, environment)
    pair = KeyPair.objects.get(application=own_app)
    assert (pair.client_id, pair.environment) == (keys.client_id, environment)
    assert shown_value(response, "authorization") == "Authorization: " + basic_auth(keys.client_id, keys.client_secret)
    assert shown_value(response, "curl") == (
        "curl -X POST https://auth.example.com/oauth/token \\\n"
        f"  -H 'Authorization: {basic_auth(keys.client_id, keys.client_secret)}' \\\n"
        "  -d grant_type=client_credentials"
    )
    assert b"Copy your secret now" in response.content and b'data-copy="consumer-secret"' in response.content

    token = request_token(keys)
    assert token.status_code == 200 and token.json()["scope"] == "read"

    later = portal.get(keys_url(own_app, environment=environment)).content.decode()
    assert keys.client_id in later and keys.client_secret not in later
    assert keys.client_secret not in str(dict(portal.session))
    assert all(keys.client_secret not in record.getMessage() for record in caplog.records)


def test_generate_keys_twice_keeps_the_first_keys(portal, own_app, request_token):
    first = shown_keys(portal.post(keys_url(own_app, "generate")))
    again = portal.post(keys_url(own_app, "generate"))
    assert again.status_code == 302 and again["Location"] == keys_url(own_app)
    page = portal.get(again["Location"]).content.decode()
    assert "These keys already exist" in page and 'id="consumer-secret"' not in page
    assert KeyPair.objects.filter(application=own_app).count() == 1
    assert request_token(first).status_code == 200


def test_generate_keys_is_a_post(portal, own_app):
    assert portal.get(keys_url(own_app, "generate")).status_code == 405
    assert not KeyPair.objects.exists()


def test_regenerate_asks_for_confirmation_first(portal, own_app, request_token):
    old = generate_keys(application=own_app)
    page = portal.post(keys_url(own_app, "regenerate"))
    assert page.status_code == 200
    assert b"<h1>Regenerate secret?</h1>" in page.content and b'name="confirmed" value="yes"' in page.content
    assert request_token(old).status_code == 200  # nothing changed yet


def confirmation(response) -> dict[str, str]:
    """What the Regenerate form of a page sends, confirmed (by the page itself, or by the dialog's script)."""
    fields = dict(re.findall(r'<input type="hidden" name="(version)" value="([^"]*)"', response.content.decode()))
    return {"confirmed": "yes", **fields}


def test_regenerate_replaces_the_secret_at_once(portal, own_app, request_token):
    old = generate_keys(application=own_app)
    asked = portal.post(keys_url(own_app, "regenerate"), {"confirmed": "yes"})  # no version: asked again
    assert b"<h1>Regenerate secret?</h1>" in asked.content and request_token(old).status_code == 200
    response = portal.post(keys_url(own_app, "regenerate"), confirmation(asked))
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    new = shown_keys(response)
    assert new.client_id == old.client_id and new.client_secret != old.client_secret
    refused = request_token(old)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert request_token(new).status_code == 200


@pytest.mark.parametrize("via", ["confirmation page", "detail page"])
def test_a_regenerate_form_sent_again_regenerates_nothing_and_shows_no_secret(portal, own_app, request_token, via):
    generate_keys(application=own_app)
    page = portal.post(keys_url(own_app, "regenerate")) if via == "confirmation page" else portal.get(keys_url(own_app))
    form = confirmation(page)
    assert form["version"]
    new = shown_keys(portal.post(keys_url(own_app, "regenerate"), form))

    reloaded = portal.post(keys_url(own_app, "regenerate"), form)  # what a browser reload sends
    assert reloaded.status_code == 302 and reloaded["Location"] == keys_url(own_app)
    assert new.client_secret not in reloaded.content.decode()
    page = portal.get(reloaded["Location"]).content.decode()
    assert "This secret was already regenerated" in page and 'id="consumer-secret"' not in page
    assert request_token(new).status_code == 200
    assert AuditEvent.objects.filter(action=AuditAction.SECRET_REGENERATED).count() == 1


def test_the_page_after_regenerating_can_regenerate_again(portal, own_app, request_token):
    generate_keys(application=own_app)
    first = portal.post(keys_url(own_app, "regenerate"), confirmation(portal.get(keys_url(own_app))))
    second = portal.post(keys_url(own_app, "regenerate"), confirmation(first))
    assert second.status_code == 200
    assert request_token(shown_keys(first)).status_code == 401 and request_token(shown_keys(second)).status_code == 200


def test_revoke_keys_deletes_the_pair_and_revokes_its_tokens(portal, own_app, request_token):
    production, sandbox = generate_keys(application=own_app), generate_keys(application=own_app, environment="sandbox")
    production_token = request_token(production).json()["access_token"]
    sandbox_token = request_token(sandbox).json()["access_token"]
    assert portal.post(keys_url(own_app, "revoke")).status_code == 200  # the confirmation page
    assert KeyPair.objects.filter(application=own_app).count() == 2

    response = portal.post(keys_url(own_app, "revoke"), {"confirmed": "yes"})
    assert response.status_code == 302 and response["Location"] == keys_url(own_app)
    assert "Keys revoked: the secret and every token issued with them no longer work." in portal.get(
        response["Location"]).content.decode()
    assert list(KeyPair.objects.values_list("environment", flat=True)) == ["sandbox"]
    assert hello(portal, production_token) == 401 and hello(portal, sandbox_token) == 200
    assert request_token(production).status_code == 401

    twice = portal.post(keys_url(own_app, "revoke"), {"confirmed": "yes"})
    assert twice.status_code == 302
    assert "There are no keys to revoke." in portal.get(twice["Location"]).content.decode()


def test_revoke_all_tokens(portal, own_app, request_token):
    keys = generate_keys(application=own_app)
    tokens = [request_token(keys).json()["access_token"] for _ in range(2)]
    url = f"/portal/applications/{own_app.pk}/tokens/revoke/"
    assert b"<h1>Revoke all tokens?</h1>" in portal.post(url).content
    assert [hello(portal, token) for token in tokens] == [200, 200]  # asking revoked nothing

    response = portal.post(url, {"confirmed": "yes"})
    assert response.status_code == 302
    assert "Revoked every token issued so far, in both environments." in portal.get(response["Location"]).content.decode()
    assert [hello(portal, token) for token in tokens] == [401, 401]
    fresh = request_token(keys)  # the keys stay, and a new token works
    assert fresh.status_code == 200 and hello(portal, fresh.json()["access_token"]) == 200


def hello(client, token: str) -> int:
    return client.get("/api/hello", HTTP_AUTHORIZATION=f"Bearer {token}").status_code


@pytest.mark.parametrize("action", ["regenerate", "revoke"])
def test_actions_on_missing_keys_explain_instead_of_failing(portal, own_app, action):
    response = portal.post(keys_url(own_app, action, "sandbox"), {"confirmed": "yes"})
    assert response.status_code == 302
    assert f"There are no keys to {action}." in portal.get(response["Location"]).content.decode()


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", ""),
        ("get", "edit/"),
        ("post", "edit/"),
        ("get", "keys/sandbox/"),
        ("post", "keys/production/generate/"),
        ("post", "keys/sandbox/generate/"),
        ("post", "keys/production/regenerate/"),
        ("post", "keys/production/revoke/"),
        ("post", "tokens/revoke/"),
    ],
)
def test_another_users_application_is_404(client, stranger, own_app, request_token, method, path):
    keys = generate_keys(application=own_app)
    request_token(keys)
    client.force_login(stranger)
    response = getattr(client, method)(f"/portal/applications/{own_app.pk}/{path}", {"confirmed": "yes", "name": "taken"})
    assert response.status_code == 404
    assert KeyPair.objects.get().client_id == keys.client_id and request_token(keys).status_code == 200
    own_app.refresh_from_db()
    assert own_app.name == "billing" and own_app.tokens_not_before is None  # nothing revoked either


@pytest.mark.parametrize("path", ["keys/production/generate/", "keys/production/regenerate/", "keys/production/revoke/", "tokens/revoke/", "edit/"])
def test_a_post_without_csrf_token_is_refused(developer, own_app, request_token, path):
    keys = generate_keys(application=own_app, environment="sandbox")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(developer)
    response = browser.post(f"/portal/applications/{own_app.pk}/{path}", {"confirmed": "yes", "name": "x"})
    assert response.status_code == 403
    assert list(KeyPair.objects.values_list("client_id", flat=True)) == [keys.client_id]
    assert request_token(keys).status_code == 200


def test_destructive_forms_carry_csrf_and_a_confirmation(portal, own_app):
    generate_keys(application=own_app)
    html = portal.get(keys_url(own_app)).content.decode()
    for action in ("regenerate/", "revoke/", "tokens/revoke/"):
        form = html[html.index(action):]
        form = form[:form.index("</form>")]
        assert "csrfmiddlewaretoken" in form
    assert html.count("data-confirm=") == 3
