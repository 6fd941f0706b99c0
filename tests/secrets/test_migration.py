"""clients 0014-0015 on a populated database: each key pair's secret becomes its first ClientSecret row.

The secret a client held before the migration keeps working after it, and going back restores it.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from clients.secrets import hash_client_secret
from clients.services import IssuedKeys
from tests.conftest import _forget_everything

BEFORE = [("clients", "0013_client_assertions")]
AFTER = [("clients", "0015_keypair_secret_hash_dropped")]


@pytest.fixture
def migrator(transactional_db):
    executor = MigrationExecutor(connection)
    yield executor
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def migrate(executor: MigrationExecutor, targets):
    executor.loader.build_graph()
    executor.migrate(targets)
    _forget_everything()
    return executor.loader.project_state(targets).apps


def populate(old) -> dict[str, str]:
    """Two applications with key pairs holding one secret each, as before 0010; their secrets by client id."""
    Application, KeyPair = old.get_model("clients", "Application"), old.get_model("clients", "KeyPair")
    made = timezone.now() - timedelta(days=3)
    secrets = {}
    for number in range(2):
        application = Application.objects.create(name=f"app-{number}", scopes="", token_format="jwt")
        secret = f"secret-number-{number}-" + "x" * 30
        pair = KeyPair.objects.create(application=application, client_id=f"client-{number}",
                                      secret_hash=hash_client_secret(secret))
        KeyPair.objects.filter(pk=pair.pk).update(secret_updated_at=made)
        secrets[pair.client_id] = secret
    return secrets


def test_each_secret_becomes_a_live_client_secret_and_still_authenticates(migrator, request_token):
    secrets = populate(migrate(migrator, BEFORE))
    new = migrate(migrator, AFTER)
    KeyPair, ClientSecret = new.get_model("clients", "KeyPair"), new.get_model("clients", "ClientSecret")
    assert "secret_hash" not in {field.name for field in KeyPair._meta.fields}
    rows = {row.key_pair.client_id: row for row in ClientSecret.objects.select_related("key_pair")}
    assert set(rows) == set(secrets)
    for client_id, row in rows.items():
        assert row.secret_hash == hash_client_secret(secrets[client_id])
        assert (row.expires_at, row.last_used_at) == (None, None)
        assert row.created_at == row.key_pair.secret_updated_at
        assert len(row.label) == 8 and row.label not in secrets[client_id]
    assert len({row.label for row in rows.values()}) == 2

    migrate(migrator, migrator.loader.graph.leaf_nodes())
    for client_id, secret in secrets.items():
        assert request_token(IssuedKeys(client_id, secret, "production")).status_code == 200
        assert request_token(IssuedKeys(client_id, secret + "!", "production")).status_code == 401


def test_going_back_keeps_the_newest_live_secret(migrator):
    secrets = populate(migrate(migrator, BEFORE))
    new = migrate(migrator, AFTER)
    ClientSecret, KeyPair = new.get_model("clients", "ClientSecret"), new.get_model("clients", "KeyPair")
    pair = KeyPair.objects.get(client_id="client-0")
    ClientSecret.objects.filter(key_pair=pair).update(expires_at=timezone.now() + timedelta(hours=1))
    ClientSecret.objects.create(key_pair=pair, secret_hash=hash_client_secret("the-newest"), label="0badc0de")
    ClientSecret.objects.create(key_pair=pair, secret_hash=hash_client_secret("long-gone"), label="deadbeef",
                                created_at=timezone.now() + timedelta(minutes=1),
                                expires_at=timezone.now() - timedelta(minutes=1))
    old = migrate(migrator, BEFORE)
    hashes = dict(old.get_model("clients", "KeyPair").objects.values_list("client_id", "secret_hash"))
    assert hashes == {"client-0": hash_client_secret("the-newest"), "client-1": hash_client_secret(secrets["client-1"])}
