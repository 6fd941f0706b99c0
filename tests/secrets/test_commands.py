"""``regeneratesecret --grace``, ``createclient --secret-lifetime`` and ``--rate-limit`` (CONTRACT "Management commands")."""

import json
from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from clients.models import Application, ClientSecret
from clients.services import IssuedKeys


def run(*args: str) -> dict:
    out = StringIO()
    call_command(*args, stdout=out)
    assert out.getvalue().count("\n") == 1
    return json.loads(out.getvalue())


def test_regeneratesecret_with_a_grace_keeps_the_old_secret_until_the_time_it_prints(make_keys, request_token, clock):
    old = make_keys(owner=None)
    before = timezone.now()
    data = run("regeneratesecret", old.client_id, "--grace", "3600")
    assert set(data) == {"client_id", "client_secret", "previous_secret_expires_at"}
    expires = datetime.fromisoformat(data["previous_secret_expires_at"])
    assert expires.utcoffset() == timedelta(0)  # ISO 8601 with its offset
    assert before + timedelta(seconds=3600) <= expires <= timezone.now() + timedelta(seconds=3600)
    new = IssuedKeys(data["client_id"], data["client_secret"], "production")
    assert [request_token(keys).status_code for keys in (old, new)] == [200, 200]
    clock.now = expires.timestamp()
    assert [request_token(keys).status_code for keys in (old, new)] == [401, 200]


def test_regeneratesecret_past_the_limit_is_a_clear_error(make_keys, request_token, settings):
    settings.OAUTH_MAX_LIVE_SECRETS = 2
    keys = make_keys()
    run("regeneratesecret", keys.client_id, "--grace", "60")
    with pytest.raises(CommandError, match=r"would hold 3 live secrets; at most 2 \(OAUTH_MAX_LIVE_SECRETS\)") as refused:
        run("regeneratesecret", keys.client_id, "--grace", "60")
    assert refused.value.returncode == 1
    assert ClientSecret.objects.count() == 2 and request_token(keys).status_code == 200


def test_createclient_secret_lifetime_sets_the_first_secrets_expiry(db, request_token, clock):
    data = run("createclient", "billing", "--secret-lifetime", "120")
    secret = ClientSecret.objects.get()
    assert (secret.expires_at - secret.created_at) == timedelta(seconds=120)
    keys = IssuedKeys(data["client_id"], data["client_secret"], "production")
    assert request_token(keys).status_code == 200
    clock.now = secret.expires_at.timestamp()
    assert request_token(keys).json()["error"] == "invalid_client"


@pytest.mark.parametrize("value", ["0", "-5", "2147483648"])
def test_createclient_refuses_a_secret_lifetime_out_of_bounds(db, value):
    with pytest.raises(CommandError, match="--secret-lifetime must be between 1 and 2147483647 seconds"):
        run("createclient", "billing", f"--secret-lifetime={value}")
    assert not Application.objects.exists()


def test_createclient_rate_limit_is_the_applications(db):
    run("createclient", "billing", "--rate-limit", "100/minute")
    assert Application.objects.get().token_rate_limit == "100/minute"


@pytest.mark.parametrize("value", ["lots", "0/minute", "off"])
def test_createclient_refuses_a_malformed_rate_limit(db, value):
    with pytest.raises(CommandError, match="token_rate_limit: "):
        run("createclient", "billing", f"--rate-limit={value}")
    assert not Application.objects.exists()
