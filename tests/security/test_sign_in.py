"""Portal and admin sign-in: throttled like client authentication (429 + Retry-After), audited."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import path

from audit.models import AuditAction, AuditEvent
from oauthserver.signin import ThrottledLoginView
from tokens import throttling

# A portal-like sign-in page (the admin's template needs the admin's URLs beside it).
urlpatterns = [
    path("login/", ThrottledLoginView.as_view(template_name="admin/login.html"), name="test-login"),
    path("admin/", admin.site.urls),
]


pytestmark = pytest.mark.usefixtures("small_lockout")


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("operator", password="correct horse battery", is_staff=True)


def sign_in(client, password, username="operator", address="192.0.2.1", url="/admin/login/"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_admin_sign_in_locks_out_after_the_threshold(client, staff, monkeypatch):
    monkeypatch.setattr(throttling, "clock", lambda: 5_000.0)
    for _ in range(3):
        assert sign_in(client, "wrong").status_code == 200  # the form again, with its error
    response = sign_in(client, "correct horse battery")
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert b"Too many failed sign-ins" in response.content
    assert "_auth_user_id" not in client.session  # the right password did not get in
    assert AuditEvent.objects.filter(action=AuditAction.SIGN_IN_FAILED).count() == 3
    assert AuditEvent.objects.filter(action=AuditAction.SIGN_IN_FAILED).first().details == {"username": "operator"}


def test_a_locked_sign_in_does_not_check_the_password(client, staff, monkeypatch):
    for _ in range(3):
        sign_in(client, "wrong")
    checked = []
    monkeypatch.setattr("django.contrib.auth.forms.authenticate", lambda *a, **k: checked.append(1))
    assert sign_in(client, "correct horse battery", address="192.0.2.99").status_code == 429  # username locked
    assert checked == []


def test_other_users_and_addresses_are_not_affected(client, staff, db):
    get_user_model().objects.create_user("other", password="another long password", is_staff=True)
    for _ in range(3):
        sign_in(client, "wrong", address="192.0.2.1")
    response = sign_in(client, "another long password", username="other", address="192.0.2.2")
    assert response.status_code == 302


def test_sign_in_works_again_after_the_lockout(client, staff, monkeypatch):
    now = [5_000.0]
    monkeypatch.setattr(throttling, "clock", lambda: now[0])
    for _ in range(3):
        sign_in(client, "wrong")
    assert sign_in(client, "correct horse battery").status_code == 429
    now[0] += 61
    assert sign_in(client, "correct horse battery").status_code == 302


@pytest.mark.urls("tests.security.test_sign_in")
def test_the_portal_login_view_answers_429_too(client, staff):
    for _ in range(3):
        assert sign_in(client, "wrong", url="/login/").status_code == 200
    response = sign_in(client, "correct horse battery", url="/login/")
    assert response.status_code == 429 and response["Retry-After"] == "60"


def test_the_username_is_counted_case_insensitively(client, staff):
    for number, name in enumerate(("operator", "OPERATOR", "Operator")):
        sign_in(client, "wrong", username=name, address=f"192.0.2.{number}")
    assert sign_in(client, "correct horse battery", address="192.0.2.200").status_code == 429
