"""A state change and its audit row commit together or not at all (token issuance and revocation).

RFC 6749 §5.2 and RFC 7009 §2.2: a request the database failed is answered 503
``temporarily_unavailable``, and then nothing of it is stored. Issue 11 #14 and #16: a token row
was stored, live, for a request answered 503, and a revocation committed without its audit row.
"""

from urllib.parse import urlencode

import pytest
from django.db import DatabaseError

from audit.models import AuditAction, AuditEvent
from tests.conftest import basic_auth
from tokens import services
from tokens.models import AccessToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def failing_audit(monkeypatch):
    """Make the audit INSERT of one action fail, as a connection dropped before it would."""

    def arm(action: AuditAction) -> None:
        real = services.record_event

        def record_event(event_action, **fields):
            if event_action == action:
                raise DatabaseError("connection lost")
            return real(event_action, **fields)

        monkeypatch.setattr(services, "record_event", record_event)

    return arm


def test_a_token_whose_audit_row_fails_is_not_stored(make_keys, request_token, failing_audit):
    keys = make_keys()
    failing_audit(AuditAction.TOKEN_ISSUED)
    response = request_token(keys)
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"
    assert "access_token" not in response.json()
    assert not AccessToken.objects.exists()


def test_a_revocation_whose_audit_row_fails_revokes_nothing(make_keys, request_token, api_client, failing_audit):
    keys = make_keys()
    token = request_token(keys).json()["access_token"]
    failing_audit(AuditAction.TOKEN_REVOKED)
    response = api_client.post(
        "/oauth/revoke", urlencode({"token": token}), content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic_auth(keys.client_id, keys.client_secret),
    )
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"
    assert AccessToken.objects.get().revoked_at is None  # the client's retry will find it to revoke
    assert api_client.get("/api/hello", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


def test_revoking_in_batches_commits_each_batch_with_its_audit_row(make_keys, request_token, monkeypatch):
    monkeypatch.setattr(services, "REVOKE_BATCH_SIZE", 2)
    keys = make_keys()
    for _ in range(3):
        assert request_token(keys).status_code == 200
    application = AccessToken.objects.first().application
    assert services.revoke_tokens(application=application) == 3
    counts = sorted(AuditEvent.objects.filter(action=AuditAction.TOKEN_REVOKED).values_list("details__tokens_revoked", flat=True))
    assert counts == [1, 2]
