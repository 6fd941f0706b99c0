"""The portal's grace choices and secrets list, and the admin's secrets inline and regenerate action.

A secret is named by its label; its value is shown once, in the response that made it; its
digest never.
"""

import re
from datetime import timedelta

import pytest
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.utils import timezone

from clients.models import ClientSecret, KeyPair
from clients.services import generate_keys, regenerate_secret
from tests.portal.conftest import shown_keys

from .conftest import key_pair_of

KEY_PAIRS = "/admin/clients/keypair/"


@pytest.fixture
def developer(db):
    return get_user_model().objects.create_user("dev", password="unused-in-these-tests")


@pytest.fixture
def portal(client, developer):
    client.force_login(developer)
    return client


@pytest.fixture
def own_app(make_application, developer):
    return make_application("billing", owner=developer)


def keys_url(application, action: str = "") -> str:
    return f"/portal/applications/{application.pk}/keys/production/" + (f"{action}/" if action else "")


def test_the_regenerate_confirmation_offers_the_grace_choices(portal, own_app):
    generate_keys(application=own_app)
    page = portal.post(keys_url(own_app, "regenerate")).content.decode()
    choices = re.findall(r'<input type="radio" name="grace" value="(\d+)"( checked)?> ([^<]+)</label>', page)
    assert [(value, label) for value, _, label in choices] == [
        ("0", "At once"), ("3600", "After 1 hour"), ("86400", "After 1 day"), ("604800", "After 7 days")]
    assert [value for value, checked, _ in choices if checked] == ["0"]


def test_regenerating_with_a_grace_in_the_portal_keeps_the_old_secret(portal, own_app, request_token):
    old = generate_keys(application=own_app)
    asked = portal.post(keys_url(own_app, "regenerate"), {"grace": "86400"})
    version = re.search(r'name="version" value="([^"]+)"', asked.content.decode()).group(1)
    assert re.search(r'value="86400" checked', asked.content.decode())  # the choice made on the page is kept
    done = portal.post(keys_url(own_app, "regenerate"), {"confirmed": "yes", "version": version, "grace": "86400"})
    new = shown_keys(done)
    label = ClientSecret.objects.get(secret_hash__isnull=False, expires_at__isnull=True).label
    page = done.content.decode()
    assert f'<code class="secret-label">{label}</code>' in page and "The previous secrets keep working until" in page
    assert [request_token(keys).status_code for keys in (old, new)] == [200, 200]
    expires = ClientSecret.objects.get(label=old.secret_label).expires_at
    assert timedelta(hours=23, minutes=59) < expires - timezone.now() <= timedelta(days=1)


def test_a_grace_not_offered_is_asked_again(portal, own_app, request_token):
    old = generate_keys(application=own_app)
    version = KeyPair.objects.get().secret_updated_at.isoformat()
    again = portal.post(keys_url(own_app, "regenerate"), {"confirmed": "yes", "version": version, "grace": "999999999"})
    assert again.status_code == 200 and b"<h1>Regenerate secret?</h1>" in again.content
    assert ClientSecret.objects.count() == 1 and request_token(old).status_code == 200


def test_the_limit_is_a_message_in_the_portal(portal, own_app, settings, request_token):
    settings.OAUTH_MAX_LIVE_SECRETS = 1
    keys = generate_keys(application=own_app)
    version = KeyPair.objects.get().secret_updated_at.isoformat()
    refused = portal.post(keys_url(own_app, "regenerate"), {"confirmed": "yes", "version": version, "grace": "3600"})
    assert refused.status_code == 302
    assert "at most 1 (OAUTH_MAX_LIVE_SECRETS)" in portal.get(refused["Location"]).content.decode()
    assert ClientSecret.objects.count() == 1 and request_token(keys).status_code == 200


def test_the_application_page_lists_the_secrets_and_warns_before_one_expires(portal, own_app, request_token):
    old = generate_keys(application=own_app)
    assert request_token(old).status_code == 200  # a last use (stored at once in the tests)
    new = regenerate_secret(key_pair=key_pair_of(old), grace=3 * 86400)
    page = portal.get(keys_url(own_app)).content.decode()
    table = re.search(r'<table class="secrets">.*?</table>', page, re.S).group(0)
    rows = re.findall(r'<tr class="([^"]*)">\s*<td><code>([0-9a-f]{8})</code></td>', table)
    assert rows == [("", new.secret_label), ("expiring", old.secret_label)]
    assert "expires soon" in table and "when regenerated" in table and "never" in table  # the new one: unused
    warning = re.search(r'<p class="notice notice-warning secret-expiring">(.*?)</p>', page, re.S).group(1)
    assert f"<code>{old.secret_label}</code>" in warning and "regenerate it" in warning
    for secret in (old.client_secret, new.client_secret, *ClientSecret.objects.values_list("secret_hash", flat=True)):
        assert secret not in page


def test_no_warning_for_a_secret_far_from_its_expiry(portal, own_app):
    generate_keys(application=own_app, secret_lifetime=30 * 86400)
    page = portal.get(keys_url(own_app)).content.decode()
    assert "secret-expiring" not in page and "expires soon" not in page


def test_the_application_page_shows_the_rate_limit_and_whose_it_is(portal, own_app, settings):
    settings.OAUTH_TOKEN_RATE_LIMIT = ""
    rate = lambda: re.search(r'<dd class="rate-limit">(.*?)</dd>', portal.get(keys_url(own_app)).content.decode()).group(1)
    assert "none" in rate()
    settings.OAUTH_TOKEN_RATE_LIMIT = "500/hour"
    assert rate() == '500 per hour per client id <span class="muted">(the server\'s default)</span>'
    own_app.token_rate_limit = "100/minute"
    own_app.save()
    assert rate() == "100 per minute per client id"


def test_the_admin_key_pair_page_lists_its_secrets_read_only(admin_client, make_application):
    keys = generate_keys(application=make_application("demo"))
    regenerate_secret(key_pair=key_pair_of(keys), grace=60)
    pair = KeyPair.objects.get()
    page = admin_client.get(f"{KEY_PAIRS}{pair.pk}/change/")
    html = page.content.decode()
    [formset] = [formset for formset in page.context["inline_admin_formsets"] if formset.opts.model is ClientSecret]
    assert list(formset.fieldsets[0][1]["fields"]) == [
        "label", "created_at", "expires_at", "last_used_at"]
    assert all(label in html for label in ClientSecret.objects.values_list("label", flat=True))
    assert "Last used" in html and 'name="secrets-0-label"' not in html  # read-only: no inputs
    for secret in (keys.client_secret, *ClientSecret.objects.values_list("secret_hash", flat=True)):
        assert secret not in html


def test_the_admin_regenerate_action_offers_a_grace(admin_client, make_application, request_token):
    old = generate_keys(application=make_application("demo"))
    pair = KeyPair.objects.get()
    asked = admin_client.post(KEY_PAIRS, {"action": "regenerate_secrets", helpers.ACTION_CHECKBOX_NAME: [pair.pk]})
    html = asked.content.decode()
    assert re.findall(r'name="grace" value="(\d+)"', html) == ["0", "3600", "86400", "604800"]
    version = re.search(r'name="version-\d+" value="([^"]+)"', html).group(1)
    done = admin_client.post(KEY_PAIRS, {"action": "regenerate_secrets", helpers.ACTION_CHECKBOX_NAME: [pair.pk],
                                         "post": "yes", f"version-{pair.pk}": version, "grace": "3600"})
    secret = re.search(r'<code class="client-secret">([^<]+)</code>', done.content.decode()).group(1)
    assert secret != old.client_secret and request_token(old).status_code == 200
    assert ClientSecret.objects.get(label=old.secret_label).expires_at is not None
