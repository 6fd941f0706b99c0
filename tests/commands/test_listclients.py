"""``listclients [--realm NAME] [--json]`` (CONTRACT.md "Management commands"): one row per key pair, never a secret."""

import json
import re
from datetime import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from clients.models import KeyPair
from clients.services import create_realm, set_application_active


def listclients(*args: str) -> str:
    out = StringIO()
    call_command("listclients", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def clients(make_application, make_keys, settings):
    """billing (default realm, production and sandbox), partner (alpha, opaque by its realm), archive (alpha, disabled)."""
    settings.OAUTH_DEFAULT_TOKEN_FORMAT = "jwt"
    alpha = create_realm(name="alpha", default_token_format="opaque")
    create_realm(name="empty")
    billing = make_application("billing", scopes="read write")
    issued = {
        "billing": make_keys(billing),
        "billing-sandbox": make_keys(billing, environment="sandbox"),
        "partner": make_keys(realm=alpha, name="partner", scopes="orders", default_scopes=None, is_resource_server=True),
        "archive": make_keys(realm=alpha, name="archive", scopes="read", token_format="jwt"),
    }
    set_application_active(application=KeyPair.objects.get(client_id=issued["archive"].client_id).application,
                           is_active=False)
    return issued


def test_json_lists_every_realms_key_pairs_with_their_facts(clients):
    rows = json.loads(listclients("--json"))
    assert [(row["realm"], row["application"], row["environment"]) for row in rows] == [
        ("alpha", "archive", "production"),
        ("alpha", "partner", "production"),
        ("default", "billing", "production"),
        ("default", "billing", "sandbox"),
    ]
    partner = rows[1]
    created_at = datetime.fromisoformat(partner.pop("created_at"))
    assert partner == {
        "client_id": clients["partner"].client_id,
        "application": "partner",
        "realm": "alpha",
        "environment": "production",
        "active": True,
        "resource_server": True,
        "scopes": "orders",
        "token_format": "opaque",  # its realm's default
    }
    assert created_at == KeyPair.objects.get(client_id=clients["partner"].client_id).created_at
    assert (rows[0]["active"], rows[0]["token_format"]) == (False, "jwt")  # disabled; its own format over the realm's
    assert (rows[2]["client_id"], rows[3]["client_id"]) == (clients["billing"].client_id,
                                                            clients["billing-sandbox"].client_id)
    assert rows[2]["token_format"] == "jwt" and rows[2]["scopes"] == "read write"  # the server's default format
    assert not rows[2]["resource_server"]


def test_realm_option_lists_only_that_realm(clients):
    rows = json.loads(listclients("--realm", "alpha", "--json"))
    assert [row["client_id"] for row in rows] == [clients["archive"].client_id, clients["partner"].client_id]
    assert json.loads(listclients("--realm", "empty", "--json")) == []
    assert listclients("--realm", "empty") == "No clients in realm empty.\n"


@pytest.mark.parametrize("args", [["--realm", "beta"], ["--realm", "beta", "--json"], ["--realm", ""]])
def test_an_unknown_realm_is_a_clear_error(clients, args):
    with pytest.raises(CommandError, match=f"No realm named '{args[1]}'") as refused:
        listclients(*args)
    assert refused.value.returncode == 1


def test_table_has_a_heading_and_aligned_columns(clients):
    lines = listclients().splitlines()
    assert len(lines) == 5
    assert re.split(r" {2,}", lines[0]) == [
        "CLIENT_ID", "APPLICATION", "REALM", "ENVIRONMENT", "ACTIVE", "RESOURCE SERVER", "SCOPES", "TOKEN FORMAT",
        "CREATED (UTC)",
    ]
    realm_column = lines[0].index("REALM")
    assert [line[realm_column:].split()[0] for line in lines[1:]] == ["alpha", "alpha", "default", "default"]
    partner = lines[2]
    assert partner.startswith(clients["partner"].client_id)
    scopes_column = lines[0].index("SCOPES")
    assert partner[lines[0].index("ACTIVE"):scopes_column].split() == ["yes", "yes"]
    assert partner[scopes_column:].split()[:2] == ["orders", "opaque"]
    assert lines[1][lines[0].index("ACTIVE"):].split()[:2] == ["no", "no"]  # archive: disabled, not a resource server
    created = KeyPair.objects.get(client_id=clients["partner"].client_id).created_at
    assert partner.endswith(created.strftime("%Y-%m-%d %H:%M"))
    assert not any(line.endswith(" ") for line in lines)


def test_no_clients_at_all(db):
    assert listclients() == "No clients.\n"
    assert listclients("--json") == "[]\n"


@pytest.mark.parametrize("args", [[], ["--json"], ["--realm", "alpha"]])
def test_never_prints_a_secret_or_its_hash(clients, args):
    output = listclients(*args)
    for keys in clients.values():
        secret = keys.client_secret
        assert secret not in output
        assert KeyPair.objects.get(client_id=keys.client_id).secrets.get().secret_hash not in output


@pytest.mark.parametrize("args", [["--json"], [], ["--realm", "alpha", "--json"], ["--realm", "alpha"]])
def test_two_queries_whatever_the_number_of_clients(make_application, make_keys, django_assert_max_num_queries, args):
    alpha = create_realm(name="alpha")
    for number in range(12):
        application = make_application(f"app-{number:02}", realm=alpha if number % 2 else None)
        make_keys(application)
        make_keys(application, environment="sandbox")
    with django_assert_max_num_queries(2):
        output = listclients(*args)
    expected = 12 if args[:1] == ["--realm"] else 24
    assert (len(json.loads(output)) if "--json" in args else len(output.splitlines()) - 1) == expected


def test_a_control_character_in_a_developers_application_name_cannot_reach_the_terminal(make_keys):
    keys = make_keys(name="evil\x1b[2J\nname\u200b")
    table = listclients()
    assert "\x1b" not in table and "\u200b" not in table
    assert "evil\\x1b[2J\\nname\\u200b" in table and len(table.splitlines()) == 2
    assert json.loads(listclients("--json"))[0]["application"] == "evil\x1b[2J\nname\u200b"
    assert keys.client_id in table
