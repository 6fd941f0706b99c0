"""RFC 9068 §4: a JWT's signature and claims are checked once per process, the rest on every use."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tokens import caches, verification
from clients.realms import default_realm
from tokens.keystore import key_store
from tokens.models import SigningKey

pytestmark = pytest.mark.django_db


@pytest.fixture
def decodes(monkeypatch):
    """Count full verifications (signature and claims) of a JWT."""
    calls = []
    original = verification.decode_jwt

    def counting(token, **kwargs):
        calls.append(token)
        return original(token, **kwargs)

    monkeypatch.setattr(verification, "decode_jwt", counting)
    return calls


def test_a_token_seen_again_is_not_verified_again(issue, decodes):
    token = issue("jwt")
    now = timezone.now()
    first = verification.verify_jwt(token, realm=None, now=now)
    again = verification.verify_jwt(token, realm=None, now=now)
    assert first is not None and again == first
    assert decodes == [token]


def test_a_remembered_token_still_expires(issue, decodes):
    token = issue("jwt")
    claims = verification.verify_jwt(token, realm=None, now=timezone.now())
    assert verification.verify_jwt(token, realm=None, now=timezone.now()) == claims
    assert verification.verify_jwt(token, realm=None, now=timezone.now() + timedelta(seconds=3601)) is None
    assert len(decodes) == 1  # refused on the remembered claims, without another verification


def test_a_remembered_token_dies_with_its_key(issue):
    token = issue("jwt")
    assert verification.verify_jwt(token, realm=None, now=timezone.now()) is not None
    SigningKey.objects.all().delete()  # e.g. an operator removed a compromised key
    key_store.invalidate()
    assert verification.verify_jwt(token, realm=None, now=timezone.now()) is None


def test_a_changed_issuer_is_checked_again(issue, settings, decodes):
    token = issue("jwt")
    assert verification.verify_jwt(token, realm=None, now=timezone.now()) is not None
    settings.OAUTH_ISSUER = "https://moved.example"
    assert verification.verify_jwt(token, realm=None, now=timezone.now()) is None
    assert len(decodes) == 1  # an iss that names no realm of this server is not even decoded
    assert verification.verify_jwt(token, realm=default_realm(), now=timezone.now()) is None
    assert len(decodes) == 2  # asked in the default realm, it is decoded against the new issuer, and fails


def test_a_tampered_copy_is_verified_on_its_own(issue, decodes):
    token = issue("jwt")
    assert verification.verify_jwt(token, realm=None, now=timezone.now()) is not None
    header, payload, signature = token.split(".")
    forged = ".".join([header, payload, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")])
    assert verification.verify_jwt(forged, realm=None, now=timezone.now()) is None


def test_memory_stays_bounded(issue, monkeypatch):
    monkeypatch.setattr(caches.verified_jwts, "_size", 2)
    caches.verified_jwts.clear()
    tokens = [issue("jwt") for _ in range(3)]
    for token in tokens:
        assert verification.verify_jwt(token, realm=None, now=timezone.now()) is not None
    assert len(caches.verified_jwts._items) <= 2
    assert caches.verified_jwts.get(tokens[-1]) is not None
