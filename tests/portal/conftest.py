"""Shared by the portal tests: a signed-in developer, the scope registry, pages and secrets."""

import re
from html import unescape

import pytest
from django.contrib.auth import get_user_model

from clients.models import Scope, ScopeVisibility
from clients.services import IssuedKeys

PASSWORD = "a long enough passphrase 42"


@pytest.fixture(autouse=True)
def _opaque_tokens(settings):
    """The portal does not care about the format; opaque tokens spare making an RSA key per test."""
    settings.OAUTH_DEFAULT_TOKEN_FORMAT = "opaque"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Accounts are made in most tests; the real hasher costs a large part of a second each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def scopes(db):
    """Two self-service scopes, and one that only an operator grants."""
    public = ScopeVisibility.PUBLIC
    Scope.objects.bulk_create([
        Scope(name="read", description="Read your data", visibility=public),
        Scope(name="write", visibility=public),
        Scope(name="payments:admin", description="Move money"),
    ])


@pytest.fixture
def developer(db):
    return get_user_model().objects.create_user("dev", email="dev@example.com", password=PASSWORD)


@pytest.fixture
def stranger(db):
    return get_user_model().objects.create_user("stranger", password=PASSWORD)


@pytest.fixture
def portal(client, developer):
    client.force_login(developer)
    return client


@pytest.fixture
def own_app(make_application, developer, scopes):
    return make_application("billing", owner=developer)


def shown_value(response, element_id: str) -> str:
    """The text of the element with element_id (the portal's copyable values)."""
    match = re.search(rf'id="{element_id}">(.*?)</(?:code|pre)>', response.content.decode(), re.S)
    assert match, f"no #{element_id} on the page"
    return unescape(match.group(1))


def shown_keys(response, environment: str = "production") -> IssuedKeys:
    return IssuedKeys(shown_value(response, "consumer-key"), shown_value(response, "consumer-secret"), environment)
