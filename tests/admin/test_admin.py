"""The admin: applications with their key pairs, tokens, scopes and signing keys.

Each list page and action works; nothing secret (secret, secret hash, token, private key) is
ever part of an admin page.
"""

from datetime import timedelta

import pytest
from django.contrib.admin import helpers
from django.contrib.auth.models import Permission
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from clients.models import Application, ClientSecret, KeyPair, Scope, default_realm_pk
from clients.services import create_realm, generate_keys
from tests.endpoints.test_no_leaks import admin_pages, fragments
from tokens.encryption import decrypt_private_key
from tokens.keystore import rotate_signing_key
from tokens.models import AccessToken, KeyRole, SigningKey

APPLICATIONS = "/admin/clients/application/"
TOKENS = "/admin/tokens/accesstoken/"
KEYS = "/admin/tokens/signingkey/"


@pytest.fixture
def billing(make_application, admin_user):
    return make_application("billing", owner=admin_user, token_format="opaque")


@pytest.fixture
def issued(billing, make_application, request_token):
    """Keys in both environments of billing, a JWT application, and tokens live, expired and revoked."""
    production = generate_keys(application=billing)
    sandbox = generate_keys(application=billing, environment="sandbox")
    other = generate_keys(application=make_application("reports"))
    tokens = [request_token(keys).json()["access_token"] for keys in (production, production, sandbox, other)]
    live, expired, revoked = AccessToken.objects.filter(application=billing).order_by("id")
    AccessToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    AccessToken.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    return {"keys": (production, sandbox, other), "tokens": tokens, "live": live, "expired": expired, "revoked": revoked}


def run_action(admin_client, url, action, objects):
    return admin_client.post(url, {"action": action, helpers.ACTION_CHECKBOX_NAME: [obj.pk for obj in objects]}, follow=True)


def listed(response) -> list[str]:
    return sorted(str(obj) for obj in response.context["cl"].result_list)


def test_the_application_list_searches_and_filters(admin_client, issued, billing, admin_user):
    production = issued["keys"][0]
    page = admin_client.get(APPLICATIONS)
    assert page.status_code == 200 and listed(page) == ["billing", "reports"]
    assert "Production, Sandbox" in page.content.decode()
    for query in ("bill", production.client_id, admin_user.username):
        assert listed(admin_client.get(APPLICATIONS, {"q": query})) == ["billing"]
    assert listed(admin_client.get(APPLICATIONS, {"token_format__exact": "opaque"})) == ["billing"]
    assert listed(admin_client.get(APPLICATIONS, {"key_pairs__environment": "sandbox"})) == ["billing"]
    assert listed(admin_client.get(APPLICATIONS, {"is_active__exact": "0"})) == []


def test_the_application_page_shows_consumer_keys_and_never_the_secret_hash(admin_client, issued, billing):
    html = admin_client.get(f"{APPLICATIONS}{billing.pk}/change/").content.decode()
    for pair in KeyPair.objects.filter(application=billing):
        assert pair.client_id in html and pair.secrets.get().secret_hash not in html
    assert "secret_hash" not in html and "Secret hash" not in html


def test_an_admin_edit_is_saved_and_audited(admin_client, billing):
    pair = KeyPair.objects.get(client_id=generate_keys(application=billing).client_id)
    form = admin_client.get(f"{APPLICATIONS}{billing.pk}/change/").context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(name="billing-v2", scopes="read", default_scopes="read", owner=billing.owner.pk, is_active="on",
                client_credentials_enabled="on", **{"key_pairs-TOTAL_FORMS": 1, "key_pairs-INITIAL_FORMS": 1,
                "key_pairs-0-id": pair.pk, "key_pairs-0-application": billing.pk})
    response = admin_client.post(f"{APPLICATIONS}{billing.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    billing.refresh_from_db()
    assert (billing.name, billing.scopes) == ("billing-v2", "read")
    assert set(AuditEvent.objects.get(action=AuditAction.APPLICATION_CHANGED).details["fields"]) >= {"name", "scopes"}
    assert list(KeyPair.objects.get(pk=pair.pk).secrets.values_list("secret_hash")) == list(
        pair.secrets.values_list("secret_hash"))


def test_an_application_added_in_the_admin_is_audited(admin_client, admin_user):
    Scope.objects.create(name="read")
    response = admin_client.post(f"{APPLICATIONS}add/", {
        "name": "ops-tool", "realm": default_realm_pk(), "scopes": "read", "default_scopes": "read",
        "owner": admin_user.pk, "is_active": "on",
        "client_credentials_enabled": "on", "key_pairs-TOTAL_FORMS": 0, "key_pairs-INITIAL_FORMS": 0,
    })
    assert response.status_code == 302
    created = AuditEvent.objects.get(action=AuditAction.APPLICATION_CREATED)
    assert (created.application.name, created.user) == ("ops-tool", admin_user)


def test_disable_and_enable_actions(admin_client, issued, billing, request_token):
    production = issued["keys"][0]
    response = run_action(admin_client, APPLICATIONS, "disable", [billing])
    assert "1 application(s) disabled." in response.content.decode()
    billing.refresh_from_db()
    assert not billing.is_active
    assert request_token(production).json()["error"] == "invalid_client"
    assert AuditEvent.objects.filter(action=AuditAction.APPLICATION_DISABLED, application=billing).count() == 1
    run_action(admin_client, APPLICATIONS, "enable", [billing])
    billing.refresh_from_db()
    assert billing.is_active and request_token(production).status_code == 200


def test_revoke_all_tokens_action(admin_client, api_client, issued, billing):
    live, other = issued["tokens"][0], issued["tokens"][3]
    assert hello_status(api_client, live) == 200
    response = run_action(admin_client, APPLICATIONS, "revoke_all_tokens", [billing])
    assert "Revoked every token issued so far to 1 application(s)." in response.content.decode()
    assert hello_status(api_client, live) == 401
    assert hello_status(api_client, other) == 200  # another application's JWT
    html = admin_client.get(TOKENS).content.decode()
    assert '<td class="field-status">revoked (all tokens)</td>' in html
    assert '<td class="field-status">active</td>' not in html
    assert listed(admin_client.get(TOKENS, {"status": "active"})) == []
    assert listed(admin_client.get(TOKENS, {"status": "revoked_all"})) == [issued["live"].jti]
    response = run_action(admin_client, TOKENS, "revoke", [issued["live"]])
    assert "Revoked 0 live token(s)." in response.content.decode()  # already refused: not counted again


def hello_status(api_client, token: str) -> int:
    return api_client.get("/api/hello", HTTP_AUTHORIZATION=f"Bearer {token}").status_code


def test_the_token_list_shows_status_filters_and_searches(admin_client, issued):
    html = admin_client.get(TOKENS).content.decode()
    assert html.count('<td class="field-status">active</td>') == 1  # the JWT of "reports" is not stored
    assert "Other JWTs are not stored" in html
    assert '<td class="field-status">expired</td>' in html and '<td class="field-status">revoked</td>' in html
    for status in ("expired", "revoked"):
        assert listed(admin_client.get(TOKENS, {"status": status})) == [issued[status].jti]
    assert issued["live"].jti in listed(admin_client.get(TOKENS, {"status": "active"}))
    assert listed(admin_client.get(TOKENS, {"q": issued["live"].jti})) == [issued["live"].jti]
    assert len(listed(admin_client.get(TOKENS, {"environment__exact": "sandbox"}))) == 1


def test_tokens_are_read_only(admin_client, issued):
    live = issued["live"]
    page = admin_client.get(f"{TOKENS}{live.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert admin_client.post(f"{TOKENS}{live.pk}/change/", {"scope": "admin"}).status_code == 403
    assert admin_client.get(f"{TOKENS}add/").status_code == 403
    assert admin_client.post(f"{TOKENS}{live.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AccessToken.objects.get(pk=live.pk).scope == live.scope


def test_revoke_token_action(admin_client, issued, request_token):
    live, expired = issued["live"], issued["expired"]
    response = run_action(admin_client, TOKENS, "revoke", [live, expired])
    assert "Revoked 1 live token(s)." in response.content.decode()
    assert AccessToken.objects.get(pk=live.pk).revoked_at is not None
    assert AccessToken.objects.get(pk=expired.pk).revoked_at is None  # already dead: left as it was
    assert AuditEvent.objects.filter(action=AuditAction.TOKEN_REVOKED, details__tokens_revoked=1).exists()


def test_scopes_can_be_listed_added_and_searched(admin_client, db):
    form = admin_client.get("/admin/clients/scope/add/").context["adminform"].form
    assert form["visibility"].initial == "restricted"  # public only by the owner's decision
    assert form["realm"].initial == default_realm_pk()
    response = admin_client.post(
        "/admin/clients/scope/add/",
        {"realm": default_realm_pk(), "name": "reports:read", "description": "Read reports", "visibility": "restricted"},
    )
    assert response.status_code == 302
    assert listed(admin_client.get("/admin/clients/scope/", {"q": "reports"})) == ["reports:read"]
    refused = admin_client.post("/admin/clients/scope/add/", {"name": "has space"})
    assert refused.status_code == 200 and "A scope name is printable ASCII" in refused.content.decode()
    assert list(Scope.objects.values_list("name", flat=True)) == ["reports:read"]


def test_signing_keys_list_and_rotate(admin_client, db):
    first = rotate_signing_key()
    html = admin_client.get(KEYS).content.decode()
    waiting = SigningKey.objects.get(role=KeyRole.NEXT)
    assert first.kid in html and first.algorithm in html and ">active (signing)<" in html
    assert waiting.kid in html and ">next (published, not signing yet)<" in html
    change = admin_client.get(f"{KEYS}{first.pk}/change/").content.decode()
    assert first.kid in change and "private" not in change.lower()
    response = run_action(admin_client, KEYS, "rotate", [first])
    assert f"Realm default: signing key {waiting.kid} (RS256) signs from now on" in response.content.decode()
    first.refresh_from_db()
    assert first.role == KeyRole.RETIRED and first.retired_at is not None
    assert SigningKey.objects.get(role=KeyRole.ACTIVE).pk == waiting.pk


def test_the_rotate_action_rotates_the_realms_of_the_selected_keys_only(admin_client, db):
    create_realm(name="alpha")
    create_realm(name="beta")
    for realm in ("default", "alpha", "beta"):
        rotate_signing_key(realm=realm)
    active = dict(SigningKey.objects.filter(role=KeyRole.ACTIVE).values_list("realm__name", "pk"))
    page = run_action(admin_client, KEYS, "rotate", [SigningKey.objects.get(pk=active["alpha"])]).content.decode()
    assert "Realm alpha: signing key" in page and "Realm default" not in page and "Realm beta" not in page
    after = dict(SigningKey.objects.filter(role=KeyRole.ACTIVE).values_list("realm__name", "pk"))
    assert after["alpha"] != active["alpha"]
    assert (after["default"], after["beta"]) == (active["default"], active["beta"])


def test_staff_without_permissions_get_no_actions(client, django_user_model, issued):
    viewer = django_user_model.objects.create_user("viewer", password="a long password 9", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_accesstoken"))
    client.force_login(viewer)
    response = client.get(TOKENS)
    assert response.status_code == 200 and 'value="revoke"' not in response.content.decode()
    assert run_action(client, TOKENS, "revoke", [issued["live"]]).status_code == 200
    assert AccessToken.objects.get(pk=issued["live"].pk).revoked_at is None


def test_no_admin_page_shows_a_secret_hash_token_or_private_key(admin_client, issued):
    rotate_signing_key()
    secrets = {keys.client_secret for keys in issued["keys"]} | set(issued["tokens"])
    secrets |= set(ClientSecret.objects.values_list("secret_hash", flat=True))
    secrets |= set(AccessToken.objects.exclude(token_hash=None).values_list("token_hash", flat=True))
    for stored in SigningKey.objects.values_list("private_key", flat=True):
        secrets |= {stored, decrypt_private_key(stored)}
    pages = admin_pages(admin_client)
    for url in (APPLICATIONS + "add/", "/admin/clients/scope/add/", TOKENS + "?status=active", KEYS + "?role__exact=retired"):
        pages[url] = admin_client.get(url).content
    assert {APPLICATIONS, TOKENS, KEYS, "/admin/clients/keypair/"} <= set(pages)
    leaks = [(url, piece[:8]) for secret in secrets for piece in fragments(secret) for url, html in pages.items()
             if piece in html.decode()]
    assert leaks == []
    assert Application.objects.count() == 2
