"""Realms in the portal (CONTRACT.md "Realms"): a developer registers an application in one of the realms
an operator opened to the portal, with that realm's scopes; the application keeps its realm, and its
page gives that realm's token endpoint, metadata and JWKS URLs, which its curl snippet uses.
"""

import re

import pytest

from clients.models import DEFAULT_REALM, Application, Realm, Scope, ScopeVisibility, default_realm_pk
from clients.services import create_application, create_realm

from .conftest import shown_keys, shown_value

NEW = "/portal/applications/new/"
PUBLIC, RESTRICTED = ScopeVisibility.PUBLIC, ScopeVisibility.RESTRICTED


@pytest.fixture
def issuer(settings) -> str:
    settings.OAUTH_ISSUER = "https://auth.example.com"
    return settings.OAUTH_ISSUER


@pytest.fixture
def alpha(db, scopes) -> Realm:
    """A realm open to the portal, whose "read" is restricted (public in default) and with a scope of its own."""
    realm = create_realm(name="alpha", open_to_portal=True)
    Scope.objects.bulk_create([
        Scope(realm=realm, name="read", description="Read alpha's ledgers", visibility=RESTRICTED),
        Scope(realm=realm, name="ledger:write", description="Post entries", visibility=PUBLIC),
    ])
    return realm


@pytest.fixture
def closed(db) -> list[Realm]:
    """A realm not open to the portal, and one open but disabled: neither takes a developer's application."""
    return [create_realm(name="internal"), create_realm(name="retired", open_to_portal=True, enabled=False)]


def register(portal, realm: str | None, scopes: list[str], name: str = "Reports"):
    data = {"name": name, "scopes": scopes, "default_scopes": [], "client_credentials_enabled": "on",
            "token_format": "", "token_lifetime": ""}
    return portal.post(NEW, data if realm is None else {**data, "realm": realm})


def offered_scopes(response) -> list[str]:
    return sorted(re.findall(r'name="scopes" value="([^"]+)"', response.content.decode()))


def test_with_only_the_default_realm_open_no_choice_is_shown(portal, scopes, closed):
    page = portal.get(NEW)
    html = page.content.decode()
    assert page.templates[0].name == "portal/application_form.html"
    assert '<input type="hidden" name="realm" value="default"' in html
    assert "Choose another realm" not in html and "<h2>Realm</h2>" not in html
    assert offered_scopes(page) == ["payments:admin", "read", "write"]
    assert register(portal, None, ["read"]).status_code == 302  # a form without the field: the only realm
    assert Application.objects.get(name="Reports").realm.name == DEFAULT_REALM


def test_with_several_realms_open_the_developer_chooses_first(portal, alpha, closed, issuer):
    page = portal.get(NEW)
    html = page.content.decode()
    assert page.templates[0].name == "portal/application_realm.html"
    assert re.findall(r'name="realm" value="([^"]+)"', html) == ["default", "alpha"]  # open and enabled only
    assert f"alpha · {issuer}/realms/alpha" in html and f"default · {issuer}<" in html
    assert 'method="get" action="/portal/applications/new/"' in html


def test_the_form_for_a_chosen_realm_offers_that_realms_scopes(portal, alpha, issuer):
    page = portal.get(NEW, {"realm": "alpha"})
    html = page.content.decode()
    assert offered_scopes(page) == ["ledger:write", "read"]
    assert "Read alpha&#x27;s ledgers (needs an operator&#x27;s approval)" in html
    assert '<input type="hidden" name="realm" value="alpha"' in html
    assert '<strong class="realm-name">alpha</strong>' in html and f"{issuer}/realms/alpha" in html
    assert 'href="/portal/applications/new/">Choose another realm' in html
    assert offered_scopes(portal.get(NEW, {"realm": "default"})) == ["payments:admin", "read", "write"]


def test_an_application_registered_in_a_realm_gets_its_public_scopes_and_waits_for_its_restricted_ones(portal, alpha):
    response = register(portal, "alpha", ["ledger:write", "read"])
    application = Application.objects.get(name="Reports")
    assert response.status_code == 302 and response["Location"] == f"/portal/applications/{application.pk}/"
    assert application.realm == alpha
    # read is public in default, restricted in alpha: the chosen realm's registry decides.
    assert (application.scopes, application.pending_scopes) == ("ledger:write", "read")
    register(portal, "default", ["read"], name="Exports")
    exports = Application.objects.get(name="Exports")
    assert (exports.realm.name, exports.scopes, exports.pending_scopes) == (DEFAULT_REALM, "read", "")


def test_a_scope_of_another_realm_is_refused(portal, alpha):
    response = register(portal, "alpha", ["write"])  # default's scope
    assert response.status_code == 200
    assert "write is not one of the available choices" in response.context["form"].errors["scopes"][0]
    assert not Application.objects.filter(name="Reports").exists()


@pytest.mark.parametrize("realm", ["internal", "retired", "nowhere", "", "../default", "default\x00", "ALPHA"])
def test_a_tampered_realm_is_a_form_error_and_registers_nothing(portal, alpha, closed, realm):
    response = register(portal, realm, [])
    assert response.status_code == 200
    errors = response.context["form"].errors["realm"]
    expected = "Choose a realm for the application." if realm == "" else (
        "This realm is not open to new applications here: choose one of the realms listed.")
    assert errors == [expected]
    assert f'<p class="field-error" role="alert">{expected}</p>' in response.content.decode()
    assert not Application.objects.filter(name="Reports").exists()


@pytest.mark.parametrize("realm", ["internal", "retired"])
def test_a_closed_realm_is_refused_even_when_it_is_the_only_other_one(portal, scopes, closed, realm):
    response = register(portal, realm, ["read"])
    assert response.status_code == 200 and "not open to new applications" in response.content.decode()
    assert not Application.objects.filter(name="Reports").exists()


def test_a_realm_closed_after_the_form_was_shown_is_refused(portal, alpha):
    portal.get(NEW, {"realm": "alpha"})
    Realm.objects.filter(pk=alpha.pk).update(open_to_portal=False)
    response = register(portal, "alpha", ["ledger:write"])
    assert response.status_code == 200 and response.context["form"].errors["realm"]
    assert not Application.objects.exists()


def test_a_closed_realm_asked_for_by_name_shows_the_choice_again(portal, alpha, closed):
    page = portal.get(NEW, {"realm": "internal"})
    html = page.content.decode()
    assert page.templates[0].name == "portal/application_realm.html"
    assert "This realm is not open to new applications here" in html
    assert re.findall(r'name="realm" value="([^"]+)"', html) == ["default", "alpha"]


def test_with_no_realm_open_nothing_can_be_registered(portal, scopes):
    Realm.objects.filter(name=DEFAULT_REALM).update(open_to_portal=False)
    page = portal.get(NEW)
    assert "No realm is open to new applications at the moment; ask an operator." in page.content.decode()
    assert 'name="name"' not in page.content.decode()
    response = register(portal, None, [])
    assert response.context["form"].errors["realm"] == [
        "No realm is open to new applications at the moment; ask an operator."]
    assert not Application.objects.exists()


def test_an_applications_realm_cannot_be_changed(portal, developer, alpha, issuer):
    application = create_application(name="Reports", owner=developer, realm=alpha, scopes="ledger:write",
                                     self_service=True)
    edit = f"/portal/applications/{application.pk}/edit/"
    page = portal.get(edit)
    html = page.content.decode()
    assert 'name="realm"' not in html and '<strong class="realm-name">alpha</strong>' in html
    assert offered_scopes(page) == ["ledger:write", "read"]
    data = {"name": "Reports", "realm": "default", "scopes": ["ledger:write"], "default_scopes": [],
            "client_credentials_enabled": "on", "token_format": "", "token_lifetime": ""}
    assert portal.post(edit, data).status_code == 302
    application.refresh_from_db()
    assert application.realm == alpha


@pytest.mark.parametrize("realm, urls", [
    ("alpha", {
        "issuer": "https://auth.example.com/realms/alpha",
        "token-endpoint": "https://auth.example.com/realms/alpha/oauth/token",
        "metadata-url": "https://auth.example.com/.well-known/oauth-authorization-server/realms/alpha",
        "jwks-url": "https://auth.example.com/realms/alpha/.well-known/jwks.json",
    }),
    (DEFAULT_REALM, {
        "issuer": "https://auth.example.com",
        "token-endpoint": "https://auth.example.com/oauth/token",
        "metadata-url": "https://auth.example.com/.well-known/oauth-authorization-server",
        "jwks-url": "https://auth.example.com/.well-known/jwks.json",
    }),
])
def test_the_application_page_gives_its_realms_urls_and_the_curl_snippet_uses_them(
        portal, developer, alpha, issuer, realm, urls):
    application = create_application(name="Reports", owner=developer, realm=Realm.objects.get(name=realm))
    page = portal.get(f"/portal/applications/{application.pk}/")
    assert f'<dd class="realm-name">{realm}</dd>' in page.content.decode()
    for element, url in urls.items():
        assert shown_value(page, element) == url
    issued = portal.post(f"/portal/applications/{application.pk}/keys/production/generate/")
    keys = shown_keys(issued)
    assert shown_value(issued, "curl").startswith(f"curl -X POST {urls['token-endpoint']} \\\n")
    later = portal.get(f"/portal/applications/{application.pk}/").content.decode()
    assert f"<code>POST {urls['token-endpoint']}</code>" in later and keys.client_secret not in later


def test_the_default_realm_is_open_from_the_start(db):
    assert Realm.objects.get(pk=default_realm_pk()).open_to_portal
