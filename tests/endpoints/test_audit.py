"""The audit trail: an AuditEvent row and one JSON line on stdout per security-relevant event."""

import importlib
import json

import pytest
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditAction, AuditEvent
from audit.services import digest_unknown_identifier, recent_events, record_application_change, record_event
from clients.services import IssuedKeys, regenerate_secret
from clients.models import Application, KeyPair
from tokens.keystore import rotate_signing_key

scrub_migration = importlib.import_module("audit.migrations.0003_digest_unknown_identifiers")


def audit_lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


def test_issuing_a_token_records_client_env_scope_jti_and_address(make_keys, request_token, capsys, settings):
    settings.OAUTH_AUDIT_TOKEN_ISSUANCE = True
    keys = make_keys()
    capsys.readouterr()
    response = request_token(keys, scope="read write", headers={"REMOTE_ADDR": "192.0.2.10"})
    assert response.status_code == 200
    event = AuditEvent.objects.get(action=AuditAction.TOKEN_ISSUED)
    assert (event.client_id, event.environment, event.address) == (keys.client_id, "production", "192.0.2.10")
    assert event.details["scope"] == "read write" and len(event.details["jti"]) >= 16
    assert event.application.name == "billing" and event.user is None and event.actor == keys.client_id
    [line] = [line for line in audit_lines(capsys) if line["event"] == "token_issued"]
    assert line["jti"] == event.details["jti"] and line["address"] == "192.0.2.10"
    assert response.json()["access_token"] not in json.dumps(line)


def test_issuance_rows_are_off_by_default_leaving_the_log_line(make_keys, request_token, capsys):
    keys = make_keys()
    capsys.readouterr()
    assert request_token(keys).status_code == 200
    assert not AuditEvent.objects.filter(action=AuditAction.TOKEN_ISSUED).exists()
    assert [line["event"] for line in audit_lines(capsys)].count("token_issued") == 1


@pytest.mark.parametrize(("token_format", "inserts"), [("jwt", ["audit"]), ("opaque", ["tokens", "audit"])])
def test_with_audit_rows_the_token_path_adds_one_insert(
    make_keys, request_token, settings, flushed_later, token_format, inserts
):
    settings.OAUTH_AUDIT_TOKEN_ISSUANCE = True
    keys = make_keys(token_format=token_format)
    assert request_token(keys).status_code == 200  # warms the client and the signing key
    with CaptureQueriesContext(connection) as queries:
        assert request_token(keys).status_code == 200
    # The inserts are one transaction (here a savepoint inside the test's own transaction).
    statements = [query["sql"] for query in queries.captured_queries if "SAVEPOINT" not in query["sql"]]
    assert [statement.split('"')[1].split("_")[0] for statement in statements] == inserts, statements


@pytest.mark.parametrize(
    ("presented", "reason"),
    [("wrong", "wrong_secret"), ("unknown", "unknown_client"), ("disabled", "application_disabled")],
)
def test_failed_client_authentication_records_reason_and_address(make_keys, request_token, presented, reason):
    keys = make_keys()
    if presented == "wrong":
        attempt = IssuedKeys(keys.client_id, "bad-secret", "production")
    elif presented == "unknown":
        attempt = IssuedKeys("x" * 300, "bad-secret", "production")
    else:
        Application.objects.update(is_active=False)
        attempt = keys
    assert request_token(attempt, headers={"REMOTE_ADDR": "198.51.100.1"}).status_code == 401
    event = AuditEvent.objects.get(action=AuditAction.CLIENT_AUTH_FAILED)
    assert event.details == {"reason": reason}
    assert event.address == "198.51.100.1"
    if presented == "unknown":  # an id that matches nothing may be a secret: only a digest of it
        assert event.client_id.startswith("unknown:") and len(event.client_id) == 20
    else:
        assert event.client_id == attempt.client_id
    assert "bad-secret" not in json.dumps(event.details) + event.client_id


def test_key_management_is_recorded_with_the_acting_user(make_keys, capsys):
    keys = make_keys()
    key_pair = KeyPair.objects.get(client_id=keys.client_id)
    regenerate_secret(key_pair=key_pair)
    rotate_signing_key()
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == [
        AuditAction.APPLICATION_CREATED,
        AuditAction.SECRET_GENERATED,
        AuditAction.SECRET_REGENERATED,
        AuditAction.SIGNING_KEY_ROTATED,
    ]
    regenerated = AuditEvent.objects.get(action=AuditAction.SECRET_REGENERATED)
    assert regenerated.client_id == keys.client_id and regenerated.actor == keys.client_id
    assert keys.client_secret not in capsys.readouterr().out


def test_record_event_names_the_signed_in_user_of_the_request(db, rf):
    from audit.context import _current_request

    user = get_user_model().objects.create_user("alice", password="pw-long-enough-1")
    request = rf.post("/portal/", REMOTE_ADDR="192.0.2.99")
    request.user = user
    token = _current_request.set(request)
    try:
        event = record_event(AuditAction.APPLICATION_CHANGED, details={"fields": ["name"]})
    finally:
        _current_request.reset(token)
    assert (event.user, event.address, event.actor) == (user, "192.0.2.99", "alice")


def test_recent_events_are_the_applications_own_newest_first(make_keys, make_application):
    mine, theirs = make_keys(), make_keys(make_application("theirs"))
    application = KeyPair.objects.get(client_id=mine.client_id).application
    events = list(recent_events(application, limit=5))
    assert [event.action for event in events] == [AuditAction.SECRET_GENERATED, AuditAction.APPLICATION_CREATED]
    assert all(event.application_id == application.id for event in events)
    assert theirs.client_id not in {event.client_id for event in events}


def test_application_edits_are_changes_and_disabling_is_its_own_event(make_application):
    application = make_application()
    assert record_application_change(application, changed_fields=[]) is None
    changed = record_application_change(application, changed_fields=["scopes", "name"])
    assert (changed.action, changed.details) == (AuditAction.APPLICATION_CHANGED, {"fields": ["name", "scopes"]})
    application.is_active = False
    disabled = record_application_change(application, changed_fields=["is_active"])
    assert disabled.action == AuditAction.APPLICATION_DISABLED and disabled.application == application


def test_the_migration_digests_unknown_ids_and_usernames_recorded_before(make_keys, django_user_model):
    """Rows written before unknown identifiers were digested may hold a secret sent in the wrong field."""
    keys = make_keys()
    django_user_model.objects.create_user("operator", password="a long enough password 3")
    AuditEvent.objects.create(action=AuditAction.CLIENT_AUTH_FAILED, client_id=keys.client_secret)
    AuditEvent.objects.create(action=AuditAction.CLIENT_AUTH_FAILED, client_id=keys.client_id)
    AuditEvent.objects.create(action=AuditAction.SIGN_IN_FAILED, details={"username": "my password 123"})
    AuditEvent.objects.create(action=AuditAction.SIGN_IN_FAILED, details={"username": "operator"})

    scrub_migration.digest_unknown_identifiers(django_apps, None)

    failed = AuditEvent.objects.order_by("id")
    client_ids = failed.filter(action=AuditAction.CLIENT_AUTH_FAILED).values_list("client_id", flat=True)
    assert list(client_ids) == [digest_unknown_identifier(keys.client_secret), keys.client_id]
    usernames = [event.details["username"] for event in failed.filter(action=AuditAction.SIGN_IN_FAILED)]
    assert usernames == [digest_unknown_identifier("my password 123"), "operator"]
