"""Revoking every token of an application or of one key pair (portal, admin, "Revoke keys")."""

from datetime import timedelta

from django.utils import timezone

from tokens.models import AccessToken
from clients.services import revoke_tokens


def issue(request_token, keys) -> str:
    response = request_token(keys)
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def test_revoke_tokens_of_an_application_revokes_only_its_live_tokens(make_keys, make_application, request_token):
    application = make_application("billing")
    production = make_keys(application)
    sandbox = make_keys(application, environment="sandbox")
    other = make_keys(make_application("other"))
    for keys in (production, production, sandbox, other):
        issue(request_token, keys)
    AccessToken.objects.filter(client_id=sandbox.client_id).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert revoke_tokens(application=application) == 2
    assert AccessToken.objects.filter(client_id=production.client_id, revoked_at__isnull=False).count() == 2
    assert AccessToken.objects.get(client_id=sandbox.client_id).revoked_at is None  # expired: left alone
    assert AccessToken.objects.get(client_id=other.client_id).revoked_at is None
    assert revoke_tokens(application=application) == 0


def test_revoke_tokens_of_one_key_pair_leaves_the_other_environment(make_keys, make_application, request_token):
    application = make_application("billing")
    production = make_keys(application)
    sandbox = make_keys(application, environment="sandbox")
    issue(request_token, production)
    issue(request_token, sandbox)
    key_pair = application.key_pairs.get(client_id=sandbox.client_id)

    assert revoke_tokens(application=application, key_pair=key_pair) == 1
    assert AccessToken.objects.get(client_id=sandbox.client_id).revoked_at is not None
    assert AccessToken.objects.get(client_id=production.client_id).revoked_at is None


def test_revoke_tokens_works_in_batches(make_keys, request_token, monkeypatch):
    monkeypatch.setattr("tokens.services.REVOKE_BATCH_SIZE", 2)
    keys = make_keys()
    for _ in range(5):
        issue(request_token, keys)
    application = AccessToken.objects.first().application
    assert revoke_tokens(application=application) == 5
    assert not AccessToken.objects.filter(revoked_at__isnull=True).exists()
