"""clients 0002 on a populated database: scopes become restricted, grants stay, the registry fills in."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("clients", "0001_initial")]
AFTER = [("clients", "0002_scope_visibility_and_pending_scopes")]


@pytest.fixture
def migrator(transactional_db):
    """Run clients' migrations back to 0001 and forward again, with the rest of the schema as it is."""
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    yield executor
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_existing_scopes_become_restricted_and_granted_ones_are_registered(migrator):
    old = migrator.loader.project_state(BEFORE).apps
    Scope, Application = old.get_model("clients", "Scope"), old.get_model("clients", "Application")
    Scope.objects.bulk_create([Scope(name="read", description="Read your data"), Scope(name="write")])
    demo = Application.objects.create(name="demo", scopes="read", default_scopes="read")
    odd = Application.objects.create(name="ops", scopes="read superpower", default_scopes="superpower")

    migrator.loader.build_graph()
    migrator.migrate(AFTER)
    new = migrator.loader.project_state(AFTER).apps
    Scope, Application = new.get_model("clients", "Scope"), new.get_model("clients", "Application")
    assert list(Scope.objects.order_by("name").values_list("name", "visibility", "description")) == [
        ("read", "restricted", "Read your data"),
        ("superpower", "restricted", ""),
        ("write", "restricted", ""),
    ]
    assert list(Application.objects.order_by("pk").values_list("pk", "scopes", "pending_scopes", "default_scopes")) == [
        (demo.pk, "read", "", "read"),
        (odd.pk, "read superpower", "", "superpower"),
    ]
