"""The developer portal in a real browser: Debian's chromium driven by Playwright.

One flow, as a developer lives it: sign up, register an application (first with mistakes), press
Generate Keys, read the secret off the page, get a token with it from /oauth/token and call
/api/hello, then regenerate the secret and see the old one refused. Screenshots of the main
pages land in test-artifacts/screenshots/ for people to look at.
"""

import os
import threading
from pathlib import Path

import pytest
import requests
from django.conf import settings as django_settings
from playwright.sync_api import expect, sync_playwright

from clients.models import Scope, ScopeVisibility

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(django_settings.BASE_DIR) / "test-artifacts" / "screenshots"
PASSWORD = "correct horse battery staple 7"

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
    reason=f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install -y chromium); CI always runs them",
)


@pytest.fixture
def browser(monkeypatch):
    """Chromium, closed before the live server and database are torn down (request it last)."""
    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()
    # The live server's request threads close their database connections as the browser's sockets
    # close; wait for them, or the test database may still be in use when it is dropped.
    for thread in threading.enumerate():
        if "process_request_thread" in thread.name:
            thread.join(timeout=5)


@pytest.fixture
def portal_server(live_server, settings):
    settings.OAUTH_ISSUER = settings.OAUTH_AUDIENCE = live_server.url
    Scope.objects.bulk_create([
        Scope(name="read", description="Read your data", visibility=ScopeVisibility.PUBLIC),
        Scope(name="write"),  # restricted: the developer's request for it waits for an operator
    ])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return live_server.url


def snap(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


# No keep-alive: a request thread of the live server idling on an open connection would keep its
# database connection past the test.
ONE_SHOT = {"Connection": "close"}


def get_token(base: str, client_id: str, client_secret: str) -> requests.Response:
    return requests.post(
        f"{base}/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, client_secret),
        headers=ONE_SHOT, timeout=10,
    )


def test_a_developer_gets_keys_uses_them_and_regenerates_the_secret(portal_server, browser):
    base = portal_server
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = context.new_page()
    page.set_default_timeout(10_000)

    page.goto(f"{base}/")
    assert page.url == f"{base}/portal/login/?next=/portal/"
    snap(page, "01-sign-in")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Email address").fill("ada@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    assert page.get_by_role("heading", name="No applications yet").is_visible()

    page.get_by_role("link", name="New application").click()
    page.locator("#id_default_scopes input[value=write]").check()
    page.get_by_label("Token lifetime").fill("999999")
    page.get_by_role("button", name="Create application").click()
    errors = page.locator(".field-error")
    assert errors.all_inner_texts() == [
        "This field is required.",
        "Default scopes must also be allowed: write.",
        "Ensure this value is less than or equal to 86400.",
    ]
    snap(page, "02-create-form-with-errors")
    page.get_by_label("Name").fill("Billing service")
    page.locator("#id_scopes input[value=read]").check()
    page.locator("#id_scopes input[value=write]").check()
    page.get_by_label("Token lifetime").fill("900")
    page.get_by_role("button", name="Create application").click()
    assert page.get_by_role("heading", name="Billing service").is_visible()
    assert page.locator("dt:has-text('Pending approval') + dd code").all_inner_texts() == ["write"]

    page.get_by_role("button", name="Generate Keys").click()
    client_id = page.locator("#consumer-key").inner_text()
    old_secret = page.locator("#consumer-secret").inner_text()
    assert f"curl -X POST {base}/oauth/token" in page.locator("#curl").inner_text()
    page.locator("button[data-copy=consumer-secret]").click()
    expect(page.locator("button[data-copy=consumer-secret]")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == old_secret
    snap(page, "03-keys-shown-once")

    token = get_token(base, client_id, old_secret)
    assert token.status_code == 200, token.text
    hello = requests.get(
        f"{base}/api/hello", headers={**ONE_SHOT, "Authorization": f"Bearer {token.json()['access_token']}"}, timeout=10
    )
    assert hello.status_code == 200, hello.text
    assert hello.json()["client_id"] == client_id

    page.reload()  # the browser re-posts the form: the secret is not shown again
    assert page.locator("#consumer-secret").count() == 0
    assert page.get_by_text("These keys already exist").is_visible()

    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Revoke keys").click()
    assert get_token(base, client_id, old_secret).status_code == 200  # cancelled in the confirm dialog

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Regenerate secret").click()
    new_secret = page.locator("#consumer-secret").inner_text()
    assert new_secret != old_secret and page.locator("#consumer-key").inner_text() == client_id
    refused = get_token(base, client_id, old_secret)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert get_token(base, client_id, new_secret).status_code == 200

    page.get_by_role("link", name="Applications").first.click()
    row = page.locator("table.apps tbody tr")
    assert row.locator("[data-label='Tokens issued']").inner_text() == "3"
    assert row.locator("[data-label='Keys']").inner_text().strip() == "Production"
    snap(page, "04-application-list")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=context.storage_state())
    mobile = phone.new_page()
    mobile.goto(f"{base}/portal/")
    snap(mobile, "05-mobile-list")
    mobile.get_by_role("link", name="Billing service").click()
    snap(mobile, "06-mobile-application")
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    phone.close()
    context.close()
