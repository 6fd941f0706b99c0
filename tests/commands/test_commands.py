"""Management commands of CONTRACT.md: createclient, rotatekeys, and make run's createdemo."""

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from clients.models import Application, KeyPair, Scope, ScopeVisibility
from clients.secrets import hash_client_secret
from clients.services import IssuedKeys
from tokens.keystore import rotate_signing_key
from tokens.models import KeyRole, SigningKey


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def registry(db):
    Scope.objects.bulk_create([Scope(name="read"), Scope(name="write", visibility=ScopeVisibility.PUBLIC)])


def test_createclient_prints_one_json_line_with_working_keys(registry, request_token):
    output = run("createclient", "billing", "--scopes", "read write", "--default-scopes", "read",
                 "--token-format", "opaque", "--lifetime", "600", "--resource-server")
    assert output.count("\n") == 1
    data = json.loads(output)
    application = Application.objects.get(name="billing")
    assert (application.scopes, application.default_scopes) == ("read write", "read")
    assert application.token_format == "opaque" and application.token_lifetime == 600
    assert application.is_resource_server
    key_pair = KeyPair.objects.get(client_id=data["client_id"])
    assert key_pair.secrets.get().secret_hash == hash_client_secret(data["client_secret"])
    assert dict(Scope.objects.values_list("name", "visibility")) == {"read": "restricted", "write": "public"}
    response = request_token(IssuedKeys(data["client_id"], data["client_secret"], "production"))
    assert response.json()["expires_in"] == 600


def test_createclient_with_owner(registry):
    user = get_user_model().objects.create_user("ada")
    data = json.loads(run("createclient", "mine", "--owner", "ada"))
    assert KeyPair.objects.get(client_id=data["client_id"]).application.owner == user


@pytest.mark.parametrize(
    "args, message",
    [
        (["--owner", "nobody"], "No user named"),
        (["--scopes", "read", "--default-scopes", "write"], "Default scopes"),
        (["--scopes", 'bad"scope'], "malformed"),
        (["--lifetime", "0"], "at least 1"),
    ],
)
def test_createclient_refuses_bad_input_and_saves_nothing(registry, args, message):
    with pytest.raises(CommandError, match=message):
        run("createclient", "x", *args)
    assert not Application.objects.exists()


def test_createclient_refuses_a_scope_the_registry_lacks(registry):
    """A typo (or `payments:admin` nobody decided on) is not silently added to the registry."""
    with pytest.raises(CommandError, match=r"scopes: Not in the scope registry: payments:admin superpower\..*--create-scopes"):
        run("createclient", "x", "--scopes", "read superpower payments:admin")
    assert not Application.objects.exists()
    assert set(Scope.objects.values_list("name", flat=True)) == {"read", "write"}


def test_createclient_create_scopes_adds_them_restricted(registry, request_token):
    data = json.loads(run("createclient", "payments", "--scopes", "read payments:admin", "--create-scopes"))
    assert data["scopes"] == "payments:admin read"
    assert Scope.objects.get(name="payments:admin").visibility == ScopeVisibility.RESTRICTED
    assert Scope.objects.get(name="write").visibility == ScopeVisibility.PUBLIC  # existing ones keep theirs
    token = request_token(IssuedKeys(data["client_id"], data["client_secret"], "production"), scope="payments:admin")
    assert token.json()["scope"] == "payments:admin"  # an operator's grant needs no approval


def test_createclient_without_scopes_works_on_a_fresh_database(db, request_token):
    """docs/protecting-apis.md's `createclient NAME --resource-server` on a production database nothing else set up."""
    data = json.loads(run("createclient", "rs", "--resource-server"))
    assert data["scopes"] == "read"
    assert Scope.objects.get(name="read").visibility == ScopeVisibility.RESTRICTED
    token = request_token(IssuedKeys(data["client_id"], data["client_secret"], "production"))
    assert token.json()["scope"] == "read"


def test_rotatekeys_activates_the_key_published_ahead_and_keeps_the_old(db):
    run("rotatekeys")
    first = SigningKey.objects.get(role=KeyRole.ACTIVE)
    waiting = SigningKey.objects.get(role=KeyRole.NEXT)
    output = run("rotatekeys")
    assert f"Signing key {waiting.kid} (RS256) signs from now on" in output
    first.refresh_from_db()
    waiting.refresh_from_db()
    assert first.role == KeyRole.RETIRED and first.retired_at is not None and first.published_until > first.retired_at
    assert waiting.role == KeyRole.ACTIVE
    assert SigningKey.objects.filter(role=KeyRole.NEXT).exclude(pk=waiting.pk).count() == 1
    assert "PRIVATE" not in output


def test_rotatekeys_refuses_an_algorithm_the_server_does_not_sign_with(db, settings):
    settings.OAUTH_JWT_ALGORITHM = "RS256"
    with pytest.raises(CommandError, match="servers sign with RS256.*Set OAUTH_JWT_ALGORITHM=ES256"):
        run("rotatekeys", "--algorithm", "ES256")
    assert not SigningKey.objects.exists()
    settings.OAUTH_JWT_ALGORITHM = "ES256"
    assert "(ES256) signs from now on" in run("rotatekeys", "--algorithm", "ES256")


def test_rotatekeys_follows_the_servers_algorithm_not_its_own_shell(db, settings):
    rotate_signing_key(algorithm="ES256")  # the servers run with OAUTH_JWT_ALGORITHM=ES256
    waiting = SigningKey.objects.get(role=KeyRole.NEXT)
    settings.OAUTH_JWT_ALGORITHM = "RS256"  # the operator's shell lacks their setting
    assert f"Signing key {waiting.kid} (ES256) signs from now on" in run("rotatekeys")
    assert set(SigningKey.objects.values_list("algorithm", flat=True)) == {"ES256"}
    with pytest.raises(CommandError, match="servers sign with ES256"):
        run("rotatekeys", "--algorithm", "RS256")


def test_createdemo_registers_demo_once_and_prints_a_curl_command(db, request_token):
    output = run("createdemo")
    application = Application.objects.get()
    assert application.name == "demo" and application.scopes == "read"
    assert Scope.objects.get(name="read").visibility == ScopeVisibility.PUBLIC  # the portal's walkthrough
    key_pair = application.key_pairs.get()
    assert f"client_id:     {key_pair.client_id}" in output
    assert "curl -s -u" in output and "/oauth/token" in output
    assert run("createdemo") == ""
    assert Application.objects.count() == 1


def test_createclient_from_the_shell_prints_only_its_json_line_on_stdout(tmp_path):
    """Audit log lines of the events it causes go to stderr, so `| jq` sees one JSON value."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    env.pop("AUDIT_LOG_STREAM", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=root, env=env, check=True)
    result = subprocess.run(
        [sys.executable, "manage.py", "createclient", "cli", "--scopes", "read", "--create-scopes"],
        cwd=root, env=env, capture_output=True, text=True, check=True,
    )
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["name"] == "cli"
    assert '"event":"application_created"' in result.stderr
