"""``createclient NAME --realm NAME`` (CONTRACT.md "Realms"): the application and its scopes belong to that realm."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditAction, AuditEvent
from clients.models import DEFAULT_REALM, Application, KeyPair, Scope, ScopeVisibility
from clients.secrets import hash_client_secret
from clients.services import create_realm

ISSUER = "https://auth.example.com"


@pytest.fixture
def alpha(db, settings):
    settings.OAUTH_ISSUER = ISSUER
    return create_realm(name="alpha")


def createclient(*args: str) -> dict:
    out = StringIO()
    call_command("createclient", *args, stdout=out)
    assert out.getvalue().count("\n") == 1
    return json.loads(out.getvalue())


def scopes_of(realm_name: str) -> dict[str, str]:
    return dict(Scope.objects.filter(realm__name=realm_name).values_list("name", "visibility"))


def test_createclient_in_a_realm_registers_there_and_prints_its_token_endpoint(alpha):
    Scope.objects.create(name="read", visibility=ScopeVisibility.PUBLIC)  # the default realm's "read"
    data = createclient("partner", "--realm", "alpha", "--scopes", "read orders:write", "--create-scopes")
    assert data["realm"] == "alpha"
    assert data["token_endpoint"] == f"{ISSUER}/realms/alpha/oauth/token"
    application = Application.objects.get(name="partner")
    assert application.realm == alpha and application.scopes == "orders:write read"
    key_pair = KeyPair.objects.get(client_id=data["client_id"])
    assert key_pair.application == application and key_pair.secrets.get().secret_hash == hash_client_secret(data["client_secret"])
    # Made in alpha's registry, restricted; the default realm's "read" is another scope and keeps its visibility.
    assert scopes_of("alpha") == {"read": "restricted", "orders:write": "restricted"}
    assert scopes_of(DEFAULT_REALM) == {"read": "public"}
    event = AuditEvent.objects.get(action=AuditAction.APPLICATION_CREATED)
    assert event.details["realm"] == "alpha"


def test_a_scope_of_the_default_realm_is_unknown_in_another_realm(alpha):
    Scope.objects.create(name="write")  # default realm only
    with pytest.raises(CommandError, match="Not in the scope registry: write.*realm alpha's registry") as refused:
        createclient("partner", "--realm", "alpha", "--scopes", "write")
    assert refused.value.returncode == 1
    assert not Application.objects.exists() and scopes_of("alpha") == {}


def test_createclient_in_a_realm_without_scopes_gets_read_in_that_realm(alpha):
    data = createclient("rs", "--realm", "alpha", "--resource-server")
    assert data["scopes"] == "read"
    assert scopes_of("alpha") == {"read": "restricted"}
    assert scopes_of(DEFAULT_REALM) == {}


def test_createclient_without_realm_uses_the_default_realm(alpha):
    data = createclient("billing")
    assert data["realm"] == DEFAULT_REALM and data["token_endpoint"] == f"{ISSUER}/oauth/token"
    assert Application.objects.get().realm.name == DEFAULT_REALM
    assert scopes_of(DEFAULT_REALM) == {"read": "restricted"} and scopes_of("alpha") == {}


@pytest.mark.parametrize("name", ["beta", "Alpha", "", "alpha/../default"])
def test_createclient_in_an_unknown_realm_is_a_clear_error_and_saves_nothing(alpha, name):
    with pytest.raises(CommandError, match=f"No realm named {name!r}; createrealm makes one") as refused:
        createclient("partner", "--realm", name, "--scopes", "read", "--create-scopes")
    assert refused.value.returncode == 1
    assert not Application.objects.exists() and not Scope.objects.exists()
