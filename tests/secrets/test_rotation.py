"""Several secrets per key pair: regenerating with a grace period, expiry and the live-secret limit.

CONTRACT.md "Client credentials over their life": during the grace the previous secrets and the
new one both authenticate; past its grace or its expiry a secret is ``invalid_client``, and the
audit trail names it by its label.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from clients.models import ClientSecret
from clients.registry import drop_known_clients, find_client
from clients.secret_store import EXPIRED_SECRETS_KEPT
from clients.services import IssuedKeys, TooManySecrets, generate_keys, regenerate_secret

from .conftest import key_pair_of


def failures() -> list[dict]:
    return list(AuditEvent.objects.filter(action=AuditAction.CLIENT_AUTH_FAILED).order_by("id").values_list(
        "details", flat=True))


def test_during_the_grace_both_secrets_work_and_the_old_one_fails_right_after(make_keys, request_token, clock):
    old = make_keys()
    assert request_token(old).status_code == 200  # this process knows the client and its one secret
    new = regenerate_secret(key_pair=key_pair_of(old), grace=3600)
    assert new.client_id == old.client_id and new.client_secret != old.client_secret
    assert [request_token(keys).status_code for keys in (old, new, old)] == [200, 200, 200]
    assert len(find_client(old.client_id).secrets) == 2

    ends = new.previous_secret_expires_at.timestamp()
    clock.now = ends - 0.001
    assert request_token(old).status_code == 200
    clock.now = ends  # the grace is over
    refused = request_token(old)
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_client")
    assert request_token(new).status_code == 200
    old_label = ClientSecret.objects.exclude(label=new.secret_label).get().label
    assert failures() == [{"reason": "secret_expired", "secret": old_label}]


def test_another_process_that_knew_only_the_old_secret_learns_the_new_one(make_keys, request_token, clock):
    old = make_keys()
    assert request_token(old).status_code == 200
    known_before = find_client(old.client_id)
    new = regenerate_secret(key_pair=key_pair_of(old), grace=60)
    # The clients announcement (cluster.announcements) makes every process read the client again.
    assert find_client(old.client_id) is not known_before
    drop_known_clients()  # as a process started after the regeneration: reads both from the database
    assert [request_token(keys).status_code for keys in (new, old)] == [200, 200]
    clock.advance(61)
    assert [request_token(keys).status_code for keys in (new, old)] == [200, 401]


def test_without_a_grace_the_previous_secret_stops_at_once(make_keys, request_token):
    old = make_keys()
    new = regenerate_secret(key_pair=key_pair_of(old))
    assert new.previous_secret_expires_at is None
    assert [request_token(keys).status_code for keys in (old, new)] == [401, 200]
    assert failures()[0]["reason"] == "secret_expired"


def test_a_wrong_secret_is_not_called_expired(make_keys, request_token):
    keys = make_keys()
    regenerate_secret(key_pair=key_pair_of(keys), grace=60)
    assert request_token(IssuedKeys(keys.client_id, "not-a-secret-of-it", "production")).status_code == 401
    assert failures() == [{"reason": "wrong_secret"}]


def test_a_secret_with_a_lifetime_expires(make_application, request_token, clock):
    keys = generate_keys(application=make_application(), secret_lifetime=600)
    secret = ClientSecret.objects.get()
    assert secret.expires_at is not None and abs((secret.expires_at - secret.created_at).total_seconds() - 600) < 1
    assert request_token(keys).status_code == 200
    clock.advance(601)
    assert request_token(keys).json()["error"] == "invalid_client"
    assert failures() == [{"reason": "secret_expired", "secret": keys.secret_label}]


def test_a_grace_never_extends_a_secret_that_expires_sooner(make_application):
    keys = generate_keys(application=make_application(), secret_lifetime=60)
    first = ClientSecret.objects.get()
    new = regenerate_secret(key_pair=key_pair_of(keys), grace=86400)
    first.refresh_from_db()
    assert new.previous_secret_expires_at == first.expires_at  # still its own 60 s, not a day
    assert first.expires_at - first.created_at == timedelta(seconds=60)


def test_regenerating_reports_when_the_previous_secrets_stop(make_keys):
    keys = make_keys()
    before = timezone.now()
    new = regenerate_secret(key_pair=key_pair_of(keys), grace=3600)
    assert before + timedelta(seconds=3600) <= new.previous_secret_expires_at <= timezone.now() + timedelta(seconds=3600)
    assert ClientSecret.objects.get(label=keys.secret_label).expires_at == new.previous_secret_expires_at
    assert ClientSecret.objects.get(label=new.secret_label).expires_at is None


def test_the_number_of_live_secrets_is_limited(make_keys, request_token, settings):
    settings.OAUTH_MAX_LIVE_SECRETS = 3
    keys = make_keys()
    pair = key_pair_of(keys)
    kept = [regenerate_secret(key_pair=pair, grace=3600) for _ in range(2)]  # three live secrets
    with pytest.raises(TooManySecrets, match=r"would hold 4 live secrets; at most 3 \(OAUTH_MAX_LIVE_SECRETS\)"):
        regenerate_secret(key_pair=key_pair_of(keys), grace=3600)
    assert ClientSecret.objects.count() == 3  # nothing changed
    assert {request_token(each).status_code for each in (keys, *kept)} == {200}
    last = regenerate_secret(key_pair=key_pair_of(keys))  # at once: the others stop, one live secret
    assert [request_token(each).status_code for each in (keys, *kept, last)] == [401, 401, 401, 200]


def test_a_grace_out_of_bounds_is_refused(make_keys):
    keys = make_keys()
    for grace in (-1, 2**31):
        with pytest.raises(ValueError, match="grace must be between 0 and 2147483647 seconds"):
            regenerate_secret(key_pair=key_pair_of(keys), grace=grace)
    assert ClientSecret.objects.count() == 1


def test_long_expired_secrets_are_deleted_when_regenerating(make_keys):
    keys = make_keys()
    pair = key_pair_of(keys)
    regenerate_secret(key_pair=pair)
    ClientSecret.objects.filter(label=keys.secret_label).update(
        expires_at=timezone.now() - EXPIRED_SECRETS_KEPT - timedelta(minutes=1))
    recent = regenerate_secret(key_pair=key_pair_of(keys))
    assert keys.secret_label not in set(ClientSecret.objects.values_list("label", flat=True))
    assert ClientSecret.objects.count() == 2 and ClientSecret.objects.filter(label=recent.secret_label).exists()


def test_audit_rows_name_secrets_by_label_never_by_value(make_keys):
    keys = make_keys()
    new = regenerate_secret(key_pair=key_pair_of(keys), grace=60)
    generated = AuditEvent.objects.get(action=AuditAction.SECRET_GENERATED)
    regenerated = AuditEvent.objects.get(action=AuditAction.SECRET_REGENERATED)
    assert generated.details == {"secret": keys.secret_label}
    assert regenerated.details == {"secret": new.secret_label, "previous_secrets": [keys.secret_label],
                                   "previous_secret_expires_at": new.previous_secret_expires_at.isoformat()}
    stored = " ".join(str(details) for details in AuditEvent.objects.values_list("details", flat=True))
    for secret in (keys.client_secret, new.client_secret, *ClientSecret.objects.values_list("secret_hash", flat=True)):
        assert secret not in stored


def test_labels_are_random_and_say_nothing_of_the_secret(make_application):
    labels = set()
    for number in range(20):
        keys = generate_keys(application=make_application(f"app-{number}"))
        assert len(keys.secret_label) == 8 and int(keys.secret_label, 16) >= 0
        assert keys.secret_label not in keys.client_secret
        labels.add(keys.secret_label)
    assert len(labels) == 20
