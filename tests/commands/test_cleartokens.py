"""``cleartokens`` (CONTRACT.md): expired and revoked token rows go, in batches; so do keys out of the JWKS.

A revoked JWT's row is what refuses it, so it stays until the token expires.
"""

from datetime import timedelta
from io import StringIO

import time

import jwt
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.conftest import basic_auth, revoke_directly
from tokens.caches import forget_token_facts
from tokens.keystore import rotate_signing_key
from clients.models import KeyPair
from tokens import usage
from tokens.models import AccessToken, IssuanceCount, SigningKey
from tokens.services import clear_tokens


def issue_many(make_keys, request_token, count: int, **fields) -> list[str]:
    keys = make_keys(**fields)
    return [request_token(keys).json()["access_token"] for _ in range(count)]


def test_expired_and_revoked_rows_go_and_live_ones_stay(make_keys, request_token, api_client):
    issue_many(make_keys, request_token, 6, token_format="opaque")
    ids = list(AccessToken.objects.order_by("id").values_list("id", flat=True))
    now = timezone.now()
    AccessToken.objects.filter(id__in=ids[:2]).update(expires_at=now - timedelta(seconds=1))
    AccessToken.objects.filter(id__in=ids[2:4]).update(revoked_at=now)
    jwts = issue_many(make_keys, request_token, 2)
    for token in jwts:
        revoke_directly(token)
    expired_jwt, kept_jwt = AccessToken.objects.filter(token_format="jwt").order_by("id").values_list("id", flat=True)
    AccessToken.objects.filter(id=expired_jwt).update(expires_at=now - timedelta(seconds=1))
    out = StringIO()

    call_command("cleartokens", stdout=out)

    assert out.getvalue().strip() == "Removed 5 expired or revoked tokens and 0 retired signing keys."
    assert list(AccessToken.objects.order_by("id").values_list("id", flat=True)) == [*ids[4:], kept_jwt]
    call_command("cleartokens", stdout=out)
    assert "Removed 0 expired" in out.getvalue()


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_a_revoked_token_stays_refused_after_cleartokens(make_keys, request_token, api_client, token_format):
    (token,) = issue_many(make_keys, request_token, 1, token_format=token_format)
    revoke_directly(token)
    clear_tokens()
    forget_token_facts()  # as a process starting afresh
    response = api_client.get("/api/hello", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401


def test_deletes_in_batches_of_the_given_size(make_keys, request_token, django_assert_num_queries):
    issue_many(make_keys, request_token, 5, token_format="opaque")
    AccessToken.objects.update(expires_at=timezone.now())
    rotate_signing_key()  # a live key: nothing to drop
    # 3 batches of 2, 2 and 1 rows: a select and a delete each, the empty select, the orphan
    # counts' delete, the used client assertions' delete (private_key_jwt), the key delete, the used DPoP
    # proofs' delete.
    with django_assert_num_queries(3 * 2 + 1 + 1 + 1 + 1 + 1):
        cleared = clear_tokens(batch_size=2)
    assert (cleared.tokens, cleared.signing_keys) == (5, 0)
    assert not AccessToken.objects.exists()


def test_retired_keys_whose_tokens_have_all_expired_leave_the_jwks_and_the_table(make_keys, request_token, client):
    (token,) = issue_many(make_keys, request_token, 1)
    old_kid = jwt.get_unverified_header(token)["kid"]
    rotate_signing_key()
    recent_kid = rotate_signing_key().kid  # retired just now by the next rotation: still published
    active_kid = rotate_signing_key().kid
    assert clear_tokens().signing_keys == 0  # every retired key may still have live tokens

    SigningKey.objects.filter(kid=old_kid).update(published_until=timezone.now() - timedelta(seconds=1))
    out = StringIO()
    call_command("cleartokens", stdout=out)

    assert "and 1 retired signing keys" in out.getvalue()
    assert not SigningKey.objects.filter(kid=old_kid).exists()
    published = {key["kid"] for key in client.get("/.well-known/jwks.json").json()["keys"]}
    assert old_kid not in published
    assert {recent_kid, active_kid} <= published


def test_issuance_counts_of_a_deleted_application_go(make_keys, request_token, flushed_later):
    keys = make_keys()
    assert request_token(keys).status_code == 200
    KeyPair.objects.get(client_id=keys.client_id).application.delete()  # its counts go with it...
    usage.flush_issuance_counts()  # ...but this process had one more to store
    assert IssuanceCount.objects.count() == 1
    clear_tokens()
    assert not IssuanceCount.objects.exists()


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_a_process_that_saw_a_revocation_keeps_refusing_once_cleartokens_removed_the_row(
    make_keys, request_token, api_client, token_format, monkeypatch
):
    # Found by a tester: a worker that kept an opaque token's claims accepted it again once
    # cleartokens deleted its revoked row and the worker read the revoked set afresh.
    keys = make_keys(token_format=token_format)
    token = request_token(keys).json()["access_token"]
    hello = lambda: api_client.get("/api/hello", HTTP_AUTHORIZATION=f"Bearer {token}").status_code  # noqa: E731
    assert hello() == 200  # this process now keeps the token's claims
    revoked = api_client.post("/oauth/revoke", f"token={token}", content_type="application/x-www-form-urlencoded",
                              HTTP_AUTHORIZATION=basic_auth(keys.client_id, keys.client_secret))
    assert revoked.status_code == 200 and hello() == 401
    AccessToken.objects.filter(revoked_at__isnull=False).delete()  # cleartokens, JWT rows included
    later = time.monotonic() + 31  # past every per-process bound: the revoked set read afresh
    monkeypatch.setattr("tokens.caches.time.monotonic", lambda: later)
    assert hello() == 401


def test_an_opaque_token_whose_record_is_gone_is_unknown_after_the_bound(make_keys, request_token, api_client, monkeypatch):
    token = request_token(make_keys(token_format="opaque")).json()["access_token"]
    hello = lambda: api_client.get("/api/hello", HTTP_AUTHORIZATION=f"Bearer {token}").status_code  # noqa: E731
    assert hello() == 200
    AccessToken.objects.all().delete()
    assert hello() == 200  # its claims, kept by this process within the bound
    later = time.monotonic() + 31
    monkeypatch.setattr("tokens.caches.time.monotonic", lambda: later)
    assert hello() == 401


@pytest.mark.parametrize("size", ["0", "-5"])
def test_a_batch_size_below_one_is_refused(size, db):
    with pytest.raises(CommandError, match="at least 1"):
        call_command("cleartokens", "--batch-size", size)
