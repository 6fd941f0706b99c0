"""A state change and its audit row commit together or not at all (issuance, revocation, revoking all).

RFC 6749 §5.2 and RFC 7009 §2.2: a request the database failed is answered 503
``temporarily_unavailable``, and then nothing of it is stored. Issue 11 #14 and #16: a token row
was stored, live, for a request answered 503, and a revocation committed without its audit row.
"""

from urllib.parse import urlencode

import pytest
from django.db import DatabaseError

from audit.models import AuditAction, AuditEvent
from clients import services as client_services
from clients.models import KeyPair
from tests.conftest import basic_auth, is_revoked, issued_count
from tokens import records, services
from tokens.models import AccessToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def failing_audit(monkeypatch):
    """Make the audit INSERT of one action fail in one module, as a connection dropped before it would."""

    def arm(module, action: AuditAction) -> None:
        real = module.record_event

        def record_event(event_action, **fields):
            if event_action == action:
                raise DatabaseError("connection lost")
            return real(event_action, **fields)

        monkeypatch.setattr(module, "record_event", record_event)

    return arm


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_a_token_whose_audit_row_fails_is_neither_stored_nor_counted(
    make_keys, request_token, failing_audit, settings, token_format
):
    settings.OAUTH_AUDIT_TOKEN_ISSUANCE = True
    keys = make_keys(token_format=token_format)
    failing_audit(services, AuditAction.TOKEN_ISSUED)
    response = request_token(keys)
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"
    assert "access_token" not in response.json()
    assert not AccessToken.objects.exists()
    assert issued_count() == 0


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_a_revocation_whose_audit_row_fails_revokes_nothing(make_keys, request_token, api_client, failing_audit, token_format):
    keys = make_keys(token_format=token_format)
    token = request_token(keys).json()["access_token"]
    failing_audit(records, AuditAction.TOKEN_REVOKED)
    response = api_client.post(
        "/oauth/revoke", urlencode({"token": token}), content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic_auth(keys.client_id, keys.client_secret),
    )
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"
    assert not is_revoked(token)  # the client's retry will find it to revoke
    assert api_client.get("/api/hello", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


def test_revoking_all_tokens_whose_audit_row_fails_changes_nothing(make_keys, request_token, api_client, failing_audit):
    keys = make_keys()
    token = request_token(keys).json()["access_token"]
    application = KeyPair.objects.get(client_id=keys.client_id).application
    failing_audit(client_services, AuditAction.TOKEN_REVOKED)
    with pytest.raises(DatabaseError):
        client_services.revoke_tokens(application=application)
    application.refresh_from_db()
    assert application.tokens_not_before is None
    assert api_client.get("/api/hello", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


def test_revoking_all_tokens_is_one_update_with_its_audit_row(make_keys, request_token, django_assert_num_queries):
    keys = make_keys()
    for _ in range(3):
        assert request_token(keys).status_code == 200
    application = KeyPair.objects.get(client_id=keys.client_id).application
    with django_assert_num_queries(4):  # savepoint, UPDATE, audit INSERT, release: whatever the number of tokens
        client_services.revoke_tokens(application=application)
    event = AuditEvent.objects.get(action=AuditAction.TOKEN_REVOKED)
    assert event.application_id == application.pk and "tokens_issued_before" in event.details
