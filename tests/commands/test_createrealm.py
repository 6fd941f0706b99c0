"""``createrealm NAME [options]`` (CONTRACT.md "Realms", "Management commands"): one JSON line with the realm's URLs."""

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditAction, AuditEvent
from clients.models import Realm
from clients.realms import serving_realm

ISSUER = "https://auth.example.com"


@pytest.fixture(autouse=True)
def issuer(settings):
    settings.OAUTH_ISSUER = ISSUER


def create(*args: str) -> str:
    out = StringIO()
    call_command("createrealm", *args, stdout=out)
    return out.getvalue()


def test_createrealm_prints_one_json_line_with_the_realms_urls(db):
    output = create("alpha")
    assert output.count("\n") == 1
    assert json.loads(output) == {
        "name": "alpha",
        "issuer": f"{ISSUER}/realms/alpha",
        "token_endpoint": f"{ISSUER}/realms/alpha/oauth/token",
        "jwks_uri": f"{ISSUER}/realms/alpha/.well-known/jwks.json",
        "metadata_uri": f"{ISSUER}/.well-known/oauth-authorization-server/realms/alpha",
    }
    event = AuditEvent.objects.get(action=AuditAction.REALM_CREATED)
    assert event.details["realm"] == "alpha"


def test_createrealm_without_options_follows_the_servers_settings_and_stays_off_the_portal(db, settings):
    settings.OAUTH_ACCESS_TOKEN_LIFETIME, settings.OAUTH_MAX_ACCESS_TOKEN_LIFETIME = 900, 7200
    settings.OAUTH_DEFAULT_TOKEN_FORMAT, settings.OAUTH_CLIENT_CREDENTIALS_ENABLED = "jwt", True
    create("alpha")
    realm = Realm.objects.get(name="alpha")
    assert (realm.access_token_lifetime, realm.max_access_token_lifetime) == (None, None)
    assert (realm.default_token_format, realm.jwt_algorithm, realm.client_credentials_enabled) == ("", "", None)
    assert realm.enabled and not realm.open_to_portal
    known = serving_realm("alpha")  # serves in this process at once
    policy = known.token_policy()
    assert (policy.default_lifetime, policy.max_lifetime, policy.default_token_format) == (900, 7200, "jwt")
    assert policy.client_credentials_enabled and known.jwt_algorithm == settings.OAUTH_JWT_ALGORITHM


def test_createrealm_stores_every_override(db, settings):
    settings.OAUTH_CLIENT_CREDENTIALS_ENABLED = True
    create("partners-2", "--lifetime", "600", "--max-lifetime", "3600", "--token-format", "opaque",
           "--algorithm", "ES256", "--disable-client-credentials", "--open-to-portal")
    realm = Realm.objects.get(name="partners-2")
    assert (realm.access_token_lifetime, realm.max_access_token_lifetime) == (600, 3600)
    assert (realm.default_token_format, realm.jwt_algorithm) == ("opaque", "ES256")
    assert realm.client_credentials_enabled is False and realm.open_to_portal
    policy = serving_realm("partners-2").token_policy()
    assert (policy.default_lifetime, policy.max_lifetime, policy.default_token_format) == (600, 3600, "opaque")
    assert not policy.client_credentials_enabled


@pytest.mark.parametrize(
    "args, message",
    [
        (["Alpha"], "name: A realm name is 1 to 40 lowercase letters"),
        ([""], "name: This field cannot be blank"),
        (["a" * 41], "name: A realm name is 1 to 40"),
        (["al/pha"], "name: A realm name"),
        (["default"], "name: Realm with this Name already exists"),
        (["beta", "--lifetime", "abc"], r"--lifetime must be a whole number of seconds from 1 to 2147483647 \(got 'abc'\)"),
        (["beta", "--lifetime", "0"], "--lifetime must be a whole number"),
        (["beta", "--lifetime=-5"], "--lifetime must be a whole number"),
        (["beta", "--max-lifetime", "1.5"], "--max-lifetime must be a whole number"),
        (["beta", "--max-lifetime", "9" * 5000], "--max-lifetime must be a whole number"),
        (["beta", "--lifetime", "2147483648"], "--lifetime must be a whole number"),
        (["beta", "--lifetime", "3600", "--max-lifetime", "600"], "--lifetime: The lifetime cannot exceed the maximum"),
        (["beta", "--token-format", "paseto"], "invalid choice: 'paseto'"),
        (["beta", "--algorithm", "HS256"], "invalid choice: 'HS256'"),
    ],
)
def test_createrealm_refuses_bad_input_with_exit_status_1_and_creates_nothing(db, settings, args, message):
    before = set(Realm.objects.values_list("name", flat=True))
    with pytest.raises(CommandError, match=message) as refused:
        create(*args)
    assert refused.value.returncode == 1
    assert set(Realm.objects.values_list("name", flat=True)) == before
    assert not AuditEvent.objects.filter(action=AuditAction.REALM_CREATED).exists()


def test_createrealm_refuses_a_name_already_taken(db):
    create("alpha")
    with pytest.raises(CommandError, match="name: Realm with this Name already exists") as refused:
        create("alpha", "--lifetime", "60")
    assert refused.value.returncode == 1
    assert Realm.objects.get(name="alpha").access_token_lifetime is None
    assert AuditEvent.objects.filter(action=AuditAction.REALM_CREATED).count() == 1


def test_createrealm_from_the_shell_exits_1_without_a_traceback_and_prints_json_on_success(tmp_path):
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}", "OAUTH_ISSUER": ISSUER}
    env.pop("AUDIT_LOG_STREAM", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=root, env=env, check=True)

    def manage(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=root, env=env, capture_output=True, text=True)

    for args in (["createrealm", "Alpha"], ["createrealm", "beta", "--lifetime", "soon"]):
        refused = manage(*args)
        assert refused.returncode == 1, refused.stderr
        assert refused.stderr.startswith("CommandError: ") and "Traceback" not in refused.stderr
        assert refused.stdout == ""
    created = manage("createrealm", "alpha", "--token-format", "opaque")
    assert created.returncode == 0, created.stderr
    lines = created.stdout.splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["token_endpoint"] == f"{ISSUER}/realms/alpha/oauth/token"
    taken = manage("createrealm", "alpha")
    assert taken.returncode == 1 and "already exists" in taken.stderr and "Traceback" not in taken.stderr


def test_createrealm_takes_the_longest_lifetime_every_database_stores(db):
    create("beta", "--max-lifetime", "2147483647", "--lifetime", " 60 ")
    assert Realm.objects.filter(name="beta").values_list("access_token_lifetime", "max_access_token_lifetime").get() == (
        60, 2147483647
    )
