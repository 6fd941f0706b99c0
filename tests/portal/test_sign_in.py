"""Portal accounts: sign-in and sign-out with Django's auth, self sign-up behind a setting."""

import os
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model

from .conftest import PASSWORD

PAGES = [
    "/portal/",
    "/portal/applications/new/",
    "/portal/applications/1/",
    "/portal/applications/1/edit/",
    "/portal/applications/1/keys/sandbox/",
]


def test_the_root_leads_to_the_portal(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/portal/"


@pytest.mark.parametrize("url", PAGES)
def test_every_page_needs_a_signed_in_user(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/portal/login/?next={url}"


@pytest.mark.parametrize("action", ["generate", "regenerate", "revoke"])
def test_actions_need_a_signed_in_user_too(client, db, action):
    response = client.post(f"/portal/applications/1/keys/production/{action}/", {"confirmed": "yes"})
    assert response.status_code == 302 and response["Location"].startswith("/portal/login/")


def test_sign_in_and_out(client, developer):
    page = client.get("/portal/login/")
    assert b'name="username"' in page.content and b"Create an account" in page.content
    response = client.post("/portal/login/", {"username": "dev", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/portal/"
    assert client.get("/portal/").context["user"] == developer
    assert client.get("/portal/logout/").status_code == 405  # signing out is a POST
    response = client.post("/portal/logout/")
    assert response.status_code == 302 and response["Location"] == "/portal/login/"
    assert client.get("/portal/").status_code == 302


def test_a_wrong_password_shows_the_error_on_the_form(client, developer):
    response = client.post("/portal/login/", {"username": "dev", "password": "wrong"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert "_auth_user_id" not in client.session


def test_sign_up_creates_the_account_and_signs_in(client, db):
    response = client.post(
        "/portal/signup/",
        {"username": "newdev", "email": "new@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302 and response["Location"] == "/portal/"
    user = get_user_model().objects.get(username="newdev")
    assert user.email == "new@example.com" and not user.is_staff
    assert client.get("/portal/").context["user"] == user


def test_sign_up_errors_are_shown_beside_the_field(client, db):
    response = client.post(
        "/portal/signup/", {"username": "newdev", "password1": PASSWORD, "password2": PASSWORD + "x"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    field = html[html.index('name="password2"'):]
    assert field.index("field-error") < field.index("</div>")  # the error sits in the field's own block
    assert "The two password fields" in field
    assert not get_user_model().objects.filter(username="newdev").exists()


def test_sign_up_can_be_switched_off(client, db, settings):
    settings.PORTAL_SIGNUP_ENABLED = False
    assert client.get("/portal/signup/").status_code == 404
    response = client.post("/portal/signup/", {"username": "x", "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 404
    assert not get_user_model().objects.filter(username="x").exists()
    assert b"Create an account" not in client.get("/portal/login/").content


@pytest.mark.parametrize(
    "environment, enabled",
    [
        ({"OAUTH_ISSUER": "http://127.0.0.1:8000"}, "True"),  # make run
        ({"OAUTH_ISSUER": "https://auth.example.com"}, "False"),  # deployed behind TLS
        ({"OAUTH_ISSUER": "https://auth.example.com", "PORTAL_SIGNUP_ENABLED": "true"}, "True"),
    ],
)
def test_sign_up_is_on_for_local_development_and_off_behind_tls(environment, enabled):
    inherited = {name: value for name, value in os.environ.items() if name != "PORTAL_SIGNUP_ENABLED"}
    env = {**inherited, "DEBUG": "false", "SECRET_KEY": "x" * 50, **environment}
    code = "from oauthserver import settings; print(settings.PORTAL_SIGNUP_ENABLED)"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == enabled
