"""A secret's last use: noted in memory by the request, stored by the usage counters' flush.

Issue 15: "last use (recorded cheaply: in the batched usage counters, not a write per request)".
"""

from datetime import UTC, datetime

from django.db import DatabaseError
from django.db.models import QuerySet

from clients import secret_store
from clients.models import ClientSecret
from clients.registry import find_client
from clients.services import regenerate_secret
from tokens import usage

from .conftest import key_pair_of


def test_a_warm_request_writes_nothing_and_the_flush_stores_the_minute(
    flushed_later, make_keys, request_token, django_assert_num_queries
):
    keys = make_keys()
    assert request_token(keys).status_code == 200
    with django_assert_num_queries(0):
        for _ in range(5):
            assert request_token(keys).status_code == 200
    assert ClientSecret.objects.get().last_used_at is None  # nothing stored yet
    usage.flush_issuance_counts()
    used = ClientSecret.objects.get().last_used_at
    now = datetime.now(UTC)
    assert used is not None and used.second == 0 and 0 <= (now - used).total_seconds() < 61


def test_a_minute_already_stored_is_not_written_again(flushed_later, make_keys, request_token, django_assert_num_queries):
    keys = make_keys()
    assert request_token(keys).status_code == 200
    usage.flush_issuance_counts()
    minute = ClientSecret.objects.get().last_used_at
    secret = find_client(keys.client_id).secrets[0]
    secret_store.record_secret_use(secret, now=minute.timestamp() + 30)
    with django_assert_num_queries(0):
        secret_store.flush_secret_uses()


def test_each_secret_used_during_a_grace_has_its_own_last_use(flushed_later, make_keys, request_token):
    old = make_keys()
    new = regenerate_secret(key_pair=key_pair_of(old), grace=3600)
    assert request_token(new).status_code == 200
    usage.flush_issuance_counts()
    used = dict(ClientSecret.objects.values_list("label", "last_used_at"))
    assert used[old.secret_label] is None and used[new.secret_label] is not None


def test_a_last_use_never_moves_back(db, make_keys):
    keys = make_keys()
    secret = find_client(keys.client_id).secrets[0]
    later, earlier = 1_900_000_020.0, 1_800_000_000.0
    secret_store.record_secret_use(secret, now=later)
    secret_store.flush_secret_uses()
    secret_store.discard_secret_uses()  # another process, which used it earlier and flushes later
    secret_store.record_secret_use(secret, now=earlier)
    secret_store.flush_secret_uses()
    assert ClientSecret.objects.get().last_used_at == datetime.fromtimestamp(later - later % 60, UTC)


def test_uses_the_database_refused_are_kept_for_the_next_flush(flushed_later, make_keys, request_token, monkeypatch):
    keys = make_keys()
    assert request_token(keys).status_code == 200
    real_update = QuerySet.update

    def refusing(self, **kwargs):
        if self.model is ClientSecret:
            raise DatabaseError("connection lost")
        return real_update(self, **kwargs)

    monkeypatch.setattr(QuerySet, "update", refusing)
    usage.flush_issuance_counts()  # never raises
    assert ClientSecret.objects.get().last_used_at is None
    monkeypatch.setattr(QuerySet, "update", real_update)
    usage.flush_issuance_counts()
    assert ClientSecret.objects.get().last_used_at is not None
