"""Portal and admin sign-in: throttled per (username, address) and per address (429 + Retry-After), audited.

A password can be guessed, so a locked sign-in refuses the right password too; counting per
address is what keeps an attacker from locking the owner of a username out from elsewhere.
"""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import path

from audit.models import AuditAction, AuditEvent
from oauthserver.signin import ThrottledLoginView
from clients import lockout

# A portal-like sign-in page (the admin's template needs the admin's URLs beside it).
urlpatterns = [
    path("login/", ThrottledLoginView.as_view(template_name="admin/login.html"), name="test-login"),
    path("admin/", admin.site.urls),
]


pytestmark = pytest.mark.usefixtures("small_lockout")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Each sign-in hashes a password; the default hasher's cost (on purpose) is a second here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("operator", password="correct horse battery", is_staff=True)


def sign_in(client, password, username="operator", address="192.0.2.1", url="/admin/login/"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_admin_sign_in_locks_out_after_the_threshold(client, staff, monkeypatch):
    monkeypatch.setattr(lockout, "clock", lambda: 5_000.0)
    for _ in range(3):
        assert sign_in(client, "wrong").status_code == 200  # the form again, with its error
    response = sign_in(client, "correct horse battery")
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert b"Too many failed sign-ins" in response.content
    assert "_auth_user_id" not in client.session  # the right password did not get in
    assert AuditEvent.objects.filter(action=AuditAction.SIGN_IN_FAILED).count() == 3
    assert AuditEvent.objects.filter(action=AuditAction.SIGN_IN_FAILED).first().details == {"username": "operator"}
    assert "_auth_user_id" not in client.session


def test_a_locked_sign_in_does_not_check_the_password(client, staff, monkeypatch):
    for _ in range(3):
        sign_in(client, "wrong")
    checked = []
    monkeypatch.setattr("django.contrib.auth.forms.authenticate", lambda *a, **k: checked.append(1))
    assert sign_in(client, "correct horse battery").status_code == 429  # this username from this address
    assert checked == []


def test_other_users_and_addresses_are_not_affected(client, staff, db):
    get_user_model().objects.create_user("other", password="another long password", is_staff=True)
    for _ in range(3):
        sign_in(client, "wrong", address="192.0.2.1")
    response = sign_in(client, "another long password", username="other", address="192.0.2.2")
    assert response.status_code == 302


def test_sign_in_works_again_after_the_lockout(client, staff, monkeypatch):
    now = [5_000.0]
    monkeypatch.setattr(lockout, "clock", lambda: now[0])
    for _ in range(3):
        sign_in(client, "wrong")
    assert sign_in(client, "correct horse battery").status_code == 429
    now[0] += 61
    assert sign_in(client, "correct horse battery").status_code == 302


@pytest.mark.urls("tests.admin.test_sign_in_lockout")
def test_the_portal_login_view_answers_429_too(client, staff):
    for _ in range(3):
        assert sign_in(client, "wrong", url="/login/").status_code == 200
    response = sign_in(client, "correct horse battery", url="/login/")
    assert response.status_code == 429 and response["Retry-After"] == "60"


def test_the_username_is_counted_case_insensitively(client, staff):
    for name in ("operator", "OPERATOR", "Operator"):
        sign_in(client, "wrong", username=name)
    assert sign_in(client, "correct horse battery").status_code == 429


def test_failures_from_one_address_do_not_lock_the_user_out_elsewhere(client, staff):
    for _ in range(4):
        sign_in(client, "wrong", address="203.0.113.9")
    assert sign_in(client, "correct horse battery", address="203.0.113.9").status_code == 429
    response = sign_in(client, "correct horse battery", address="192.0.2.1")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(staff.pk)


def test_one_office_s_typos_do_not_lock_everyone_out(client, db, settings):
    settings.OAUTH_SIGN_IN_ADDRESS_THRESHOLD = 10
    users = [get_user_model().objects.create_user(f"user{n}", password=f"password of user {n}", is_staff=True) for n in range(5)]
    for user in users[:4]:  # two typos each, from the office's one address: 8 failures there in all
        for _ in range(2):
            assert sign_in(client, "typo", username=user.username).status_code == 200
    assert sign_in(client, "password of user 4", username="user4").status_code == 302


def test_spraying_many_usernames_from_one_address_locks_that_address(client, staff, settings):
    settings.OAUTH_SIGN_IN_ADDRESS_THRESHOLD = 8
    for n in range(8):  # one guess per username: no (username, address) reaches the threshold
        assert sign_in(client, "guess", username=f"someone{n}").status_code == 200
    response = sign_in(client, "correct horse battery")
    assert response.status_code == 429 and response["Retry-After"] == "60"
    assert sign_in(client, "correct horse battery", address="192.0.2.2").status_code == 302


def test_an_unknown_username_is_recorded_only_as_a_digest(client, staff):
    password_in_the_username_box = "correct horse battery"
    assert sign_in(client, "", username=password_in_the_username_box).status_code == 200
    sign_in(client, "wrong", username=password_in_the_username_box)
    event = AuditEvent.objects.get(action=AuditAction.SIGN_IN_FAILED)
    assert event.details["username"].startswith("unknown:") and len(event.details["username"]) == 20
    assert "horse" not in str(event.details)
