"""``database`` mode of the DRF classes: the server's own tables, and two promises about them.

A database that fails while a token is checked is 503 ``temporarily_unavailable`` (RFC 6749
§4.1.2.1's code), never a 500; and verifying a token, JWT (RFC 9068 §4) or opaque, uses only the
public halves of the signing keys, so it never needs the key-encryption key (CONTRACT.md,
"Protecting APIs that are separate services").
"""

import logging

import pytest
from cryptography.fernet import Fernet
from django.core.cache import cache
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from resource_server import BearerTokenAuthentication, RequiredScopes
from resource_server import database as database_mode
from tokens import encryption, keystore
from tokens.caches import forget_token_facts
from tokens.keystore import key_store
from tokens.protocol.errors import InvalidToken

pytestmark = pytest.mark.django_db
factory = APIRequestFactory()
UNAVAILABLE = {"error": "temporarily_unavailable", "error_description": "The server is temporarily unable to handle the request."}


class Invoices(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [RequiredScopes]
    required_scopes = ["read"]

    def get(self, request):
        return Response({"client_id": request.user.client_id, "scope": request.auth.scope})


def call(token: str):
    response = Invoices.as_view()(factory.get("/invoices", HTTP_AUTHORIZATION=f"Bearer {token}"))
    response.render()
    return response


@pytest.fixture(autouse=True)
def database_mode_setting(settings):
    settings.OAUTH_RESOURCE_SERVER = {"MODE": "database"}


def forget_what_this_process_knows() -> None:
    """As a process that just started: no keys, token facts or cached entries in memory or the cache."""
    key_store.invalidate()
    forget_token_facts()
    cache.clear()


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_a_token_of_the_servers_database_reaches_the_view(issue, make_keys, token_format):
    keys = make_keys(token_format=token_format)
    response = call(issue(keys=keys))
    assert response.status_code == 200
    assert response.data == {"client_id": keys.client_id, "scope": "read"}


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_a_database_error_while_verifying_is_503(issue, monkeypatch, caplog, token_format):
    token = issue(token_format)

    def failing(token, *, issuers, audiences):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(database_mode, "validate_access_token", failing)
    with caplog.at_level(logging.ERROR, "resource_server"):
        response = call(token)
    assert response.status_code == 503
    assert response.data == UNAVAILABLE
    assert "WWW-Authenticate" not in response
    [record] = [r for r in caplog.records if r.name == "resource_server.database"]
    assert record.getMessage() == (
        "database error while verifying an access token: OperationalError: server closed the connection unexpectedly"
    )
    assert record.exc_info is None  # a traceback's frames hold the token, and error reports show them
    assert token not in caplog.text


def test_a_database_that_fails_under_the_verification_is_503(issue, monkeypatch):
    token = issue("opaque")
    forget_what_this_process_knows()  # the record must be read from the database

    def refuse(self, sql, params=None):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(CursorWrapper, "execute", refuse)
    response = call(token)
    assert response.status_code == 503
    assert response.data == UNAVAILABLE


@pytest.fixture
def no_decryption(settings, monkeypatch):
    """Another key-encryption key and SECRET_KEY than the keys were stored with, and no decryption at all."""
    settings.OAUTH_KEY_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    settings.SECRET_KEY = "not-the-secret-key-the-signing-keys-were-encrypted-with"
    settings.SECRET_KEY_FALLBACKS = []
    attempts = []

    def refuse(stored):
        attempts.append(stored)
        raise AssertionError("a private key was decrypted")

    monkeypatch.setattr(encryption, "decrypt_private_key", refuse)
    monkeypatch.setattr(keystore, "decrypt_private_key", refuse)
    return attempts


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_verification_never_decrypts_a_private_key(issue, make_keys, token_format, request, monkeypatch):
    # The tokens are issued first, with the keys as stored; then the process forgets everything.
    keys = make_keys(token_format=token_format)
    token = issue(keys=keys)
    sandbox = issue(keys=make_keys(token_format=token_format, environment="sandbox"))
    decrypted = request.getfixturevalue("no_decryption")
    forget_what_this_process_knows()
    monkeypatch.setattr(key_store, "_signing", None)  # nor the private key issuance loaded: a process that never signed

    response = call(token)
    assert response.status_code == 200, response.data
    assert response.data == {"client_id": keys.client_id, "scope": "read"}
    assert call(sandbox).data["error_description"] == "Sandbox tokens are not accepted by this resource."
    assert decrypted == []
    with pytest.raises(AssertionError, match="decrypted"):  # the guard works: signing would have tripped it
        key_store.active_key()
    assert len(decrypted) == 1


# ISSUER in database mode: the realms (issuers) the API trusts; absent, every realm of the server.

@pytest.mark.parametrize(
    ("issuer", "passed"),
    [(None, None), ("https://auth.example.com/realms/alpha/", ("https://auth.example.com/realms/alpha",)),
     (["https://a.example", "https://b.example"], ("https://a.example", "https://b.example"))],
)
def test_the_issuers_of_the_setting_are_what_the_database_is_asked_for(settings, monkeypatch, issuer, passed):
    settings.OAUTH_RESOURCE_SERVER = {"MODE": "database"} | ({"ISSUER": issuer} if issuer is not None else {})
    asked = []

    def validate(token, *, issuers, audiences):
        asked.append((token, issuers))
        raise InvalidToken()

    monkeypatch.setattr(database_mode, "validate_access_token", validate)
    response = call("some-token")
    assert response.status_code == 401
    assert asked == [("some-token", passed)]  # None: every realm of the server


def test_a_token_of_a_realm_the_api_does_not_trust_is_invalid_token(settings, issue):
    token = issue()
    settings.OAUTH_RESOURCE_SERVER = {"MODE": "database", "ISSUER": "https://elsewhere.example"}
    response = call(token)
    assert response.status_code == 401
    assert response.data["error"] == "invalid_token"
    settings.OAUTH_RESOURCE_SERVER = {"MODE": "database", "ISSUER": [settings.OAUTH_ISSUER]}
    assert call(token).status_code == 200
