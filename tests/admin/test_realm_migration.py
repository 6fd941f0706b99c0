"""clients 0005-0008 and tokens 0006-0008 on a populated database: every row joins the realm ``default``.

CONTRACT.md "Realms": the realm ``default`` keeps every path and document of the server before
realms, so the JWKS and the metadata read the same bytes after the migration as before it.
"""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from clients.models import DEFAULT_REALM, Application, Realm, Scope
from clients.services import create_application, generate_keys
from tests.conftest import _forget_everything
from tokens.keystore import key_store, rotate_signing_key
from tokens.models import SigningKey

BEFORE = [("clients", "0004_tokens_not_before"), ("tokens", "0005_issuance_counts_and_revoked_index")]
AFTER = [("clients", "0008_scope_realm"), ("tokens", "0008_signing_keys_per_realm")]


@pytest.fixture
def migrator(transactional_db):
    """Take clients and tokens back to before realms, and forward again to the latest state after the test."""
    executor = MigrationExecutor(connection)
    yield executor
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def migrate(executor: MigrationExecutor, targets: list[tuple[str, str]]):
    """Run the migrations to targets; the historical models of that state."""
    executor.loader.build_graph()
    executor.migrate(targets)
    _forget_everything()  # no process would keep keys or clients cached across a migration
    return executor.loader.project_state(targets).apps


def populate(old, *, scopes: bool = True) -> None:
    """Applications with key pairs, tokens of both formats and an extra signing key, as before realms."""
    Application, KeyPair = old.get_model("clients", "Application"), old.get_model("clients", "KeyPair")
    AccessToken, SigningKey = old.get_model("tokens", "AccessToken"), old.get_model("tokens", "SigningKey")
    IssuanceCount, Scope = old.get_model("tokens", "IssuanceCount"), old.get_model("clients", "Scope")
    now = timezone.now()
    if scopes:
        Scope.objects.create(name="read", visibility="public")
        Scope.objects.create(name="admin", visibility="restricted")
    for number, token_format in enumerate(["jwt", "opaque", "opaque"]):
        application = Application.objects.create(name=f"app-{number}", scopes="read", token_format=token_format)
        pair = KeyPair.objects.create(application=application, client_id=f"client-{number}", secret_hash="0" * 64)
        AccessToken.objects.create(
            application=application, key_pair=pair, client_id=pair.client_id, environment="production",
            scope="read", token_format=token_format, jti=f"jti-{number}",
            token_hash=f"{number}" * 64 if token_format == "opaque" else None,
            issued_at=now, expires_at=now + timezone.timedelta(hours=1),
        )
        IssuanceCount.objects.create(application=application, environment="production", token_format=token_format,
                                     minute=now.replace(second=0, microsecond=0), count=1)
    # A retired key whose tokens have all expired: stored, not published.
    SigningKey.objects.create(kid="old-key", algorithm="RS256", private_key="unused", public_jwk={"kid": "old-key"},
                              role="retired", retired_at=now, published_until=now)


def test_every_application_and_signing_key_joins_the_default_realm(migrator):
    rotate_signing_key()  # the latest schema: an active and a next key, made by today's code
    rotate_signing_key()  # and a retired one, still published
    old = migrate(migrator, BEFORE)
    populate(old)
    assert "realm" not in {field.name for field in old.get_model("clients", "Application")._meta.fields}

    new = migrate(migrator, AFTER)
    Realm, Application = new.get_model("clients", "Realm"), new.get_model("clients", "Application")
    SigningKey, AccessToken = new.get_model("tokens", "SigningKey"), new.get_model("tokens", "AccessToken")
    default = Realm.objects.get()
    assert (default.name, default.enabled, default.open_to_portal) == ("default", True, True)
    assert (default.access_token_lifetime, default.max_access_token_lifetime, default.client_credentials_enabled) == (
        None, None, None)
    assert (default.default_token_format, default.jwt_algorithm) == ("", "")
    assert sorted(Application.objects.values_list("name", "realm__name")) == [
        ("app-0", "default"), ("app-1", "default"), ("app-2", "default")]
    assert SigningKey.objects.count() == 4
    assert set(SigningKey.objects.values_list("realm_id", flat=True)) == {default.pk}
    assert AccessToken.objects.count() == 3  # the tokens are untouched
    Scope = new.get_model("clients", "Scope")
    assert sorted(Scope.objects.values_list("name", "visibility", "realm__name")) == [
        ("admin", "restricted", "default"), ("read", "public", "default")]


def test_jwks_and_metadata_read_the_same_bytes_after_the_migration(migrator, client, settings):
    settings.OAUTH_ISSUER = "https://auth.example.com"
    rotate_signing_key()
    rotate_signing_key()
    Scope.objects.create(name="read", visibility="public")  # kept by the migrations both ways
    before = [client.get(path).content for path in ("/.well-known/jwks.json", "/.well-known/oauth-authorization-server")]
    assert b'"scopes_supported": ["read"]' in before[1]
    populate(migrate(migrator, BEFORE), scopes=False)
    migrate(migrator, AFTER)
    after = [client.get(path).content for path in ("/.well-known/jwks.json", "/.well-known/oauth-authorization-server")]
    assert after == before
    assert before[0].count(b'"kid"') == 3  # active, next and the retired one still published


def test_rows_made_by_todays_code_after_the_migration_land_in_default(migrator):
    migrate(migrator, BEFORE)
    migrate(migrator, AFTER)
    migrate(migrator, migrator.loader.graph.leaf_nodes())  # today's code needs today's columns (later migrations)
    application = create_application(name="after", scopes="", owner=None)
    generate_keys(application=application, environment="production")
    key_store.active_key()
    default = Realm.objects.get(name=DEFAULT_REALM)
    assert Application.objects.get(pk=application.pk).realm_id == default.pk
    assert set(SigningKey.objects.values_list("realm_id", flat=True)) == {default.pk}
