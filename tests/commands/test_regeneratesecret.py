"""``regeneratesecret CLIENT_ID [--grace SECONDS]`` (CONTRACT "Management commands").

For applications without an owner (the demo app of ``make run``, ``createclient`` without
``--owner``), which no portal user can reach.
"""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditAction, AuditEvent
from clients.models import KeyPair
from clients.secrets import hash_client_secret
from clients.services import IssuedKeys


def regenerate(*args: str) -> str:
    out = StringIO()
    call_command("regeneratesecret", *args, stdout=out)
    return out.getvalue()


def test_regeneratesecret_prints_one_json_line_and_the_old_secret_stops_at_once(make_keys, request_token):
    old = make_keys(owner=None)
    output = regenerate(old.client_id)
    assert output.count("\n") == 1
    data = json.loads(output)
    assert set(data) == {"client_id", "client_secret", "previous_secret_expires_at"}
    assert data["client_id"] == old.client_id and data["previous_secret_expires_at"] is None
    assert KeyPair.objects.get(client_id=old.client_id).secrets.order_by("-created_at", "-id").first().secret_hash == (
        hash_client_secret(data["client_secret"]))
    assert request_token(old).json()["error"] == "invalid_client"
    assert request_token(IssuedKeys(data["client_id"], data["client_secret"], "production")).status_code == 200
    event = AuditEvent.objects.get(action=AuditAction.SECRET_REGENERATED)
    assert (event.client_id, event.actor) == (old.client_id, old.client_id)


def test_regeneratesecret_with_grace_zero_is_the_default(make_keys, request_token):
    old = make_keys()
    data = json.loads(regenerate(old.client_id, "--grace", "0"))
    assert data["previous_secret_expires_at"] is None and request_token(old).status_code == 401


@pytest.mark.parametrize("grace", ["-1", "2147483648"])
def test_regeneratesecret_refuses_a_grace_period_out_of_bounds(make_keys, request_token, grace):
    keys = make_keys()
    with pytest.raises(CommandError, match="--grace must be between 0 and 2147483647 seconds") as refused:
        regenerate(keys.client_id, f"--grace={grace}")
    assert refused.value.returncode == 1
    assert request_token(keys).status_code == 200  # nothing changed
    assert not AuditEvent.objects.filter(action=AuditAction.SECRET_REGENERATED).exists()


def test_regeneratesecret_of_an_unknown_client_id_is_a_clear_error(db):
    with pytest.raises(CommandError, match="No key pair with client id 'nobody'") as refused:
        regenerate("nobody")
    assert refused.value.returncode == 1


def test_client_ids_never_start_with_a_dash_which_a_command_line_would_take_for_an_option():
    from clients.secrets import generate_client_id

    # Before, about one id in 64 started with "-": 2,000 draws all missing it had odds of 1e-14.
    assert not any(generate_client_id().startswith("-") for _ in range(2000))


def test_an_older_client_id_that_starts_with_a_dash_is_given_after_a_double_dash(make_keys):
    keys = make_keys(owner=None)
    KeyPair.objects.filter(client_id=keys.client_id).update(client_id="-" + keys.client_id[1:])
    data = json.loads(regenerate("--", "-" + keys.client_id[1:]))
    assert data["client_id"] == "-" + keys.client_id[1:]
