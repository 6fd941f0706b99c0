"""Queries compiled once per process give what the ORM gives, in one query."""

from django.db.models import Subquery

from clients.models import KeyPair
from clients.prepared import PreparedQuery
from tokens.models import AccessToken


def key_pair_with_application(client_id):
    return KeyPair.objects.select_related("application").filter(client_id=client_id)


def test_finds_the_key_pair_with_its_application_in_one_query(make_keys, django_assert_num_queries):
    keys = make_keys(name="billing", scopes="read write")
    query = PreparedQuery(KeyPair, key_pair_with_application)
    expected = KeyPair.objects.select_related("application").get(client_id=keys.client_id)

    with django_assert_num_queries(1):
        key_pair = query.first(keys.client_id)
        application = key_pair.application  # loaded by the same query

    assert key_pair == expected
    assert key_pair.secret_hash == expected.secret_hash
    assert key_pair.created_at == expected.created_at  # converted like the ORM does (SQLite keeps text)
    assert application.name == "billing"
    assert application.scopes == "read write"
    assert application.is_active is True


def test_second_use_reuses_the_compiled_sql_and_sees_new_rows(make_keys):
    query = PreparedQuery(KeyPair, key_pair_with_application)
    first = make_keys(name="first")
    assert query.first(first.client_id).application.name == "first"
    second = make_keys(name="second")
    assert query.first(second.client_id).application.name == "second"


def test_unknown_value_is_none(db):
    assert PreparedQuery(KeyPair, key_pair_with_application).first("no-such-client") is None


def test_two_values_and_an_annotation(make_keys, request_token):
    keys = make_keys(name="billing")
    request_token(keys)
    jti = AccessToken.objects.get().jti

    def with_scope_of_token(client_id, token_jti):
        scope = AccessToken.objects.filter(jti=token_jti).values("scope")[:1]
        return key_pair_with_application(client_id).annotate(token_scope=Subquery(scope))

    query = PreparedQuery(KeyPair, with_scope_of_token)
    assert query.first(keys.client_id, jti).token_scope == "read"
    assert query.first(keys.client_id, "no-such-jti").token_scope is None


def test_prepared_insert_stores_what_create_would(make_keys):
    from datetime import UTC, datetime

    from clients.prepared import PreparedInsert

    keys = make_keys(name="billing")
    key_pair = KeyPair.objects.get(client_id=keys.client_id)
    insert = PreparedInsert(AccessToken, ["application_id", "key_pair_id", "client_id", "environment", "scope",
                                          "token_format", "jti", "token_hash", "issued_at", "expires_at"])
    issued = datetime(2026, 11, 23, 13, 0, 0, 123456, tzinfo=UTC)
    for jti, token_hash in [("j1", None), ("j2", "a" * 64)]:
        insert.insert(application_id=key_pair.application_id, key_pair_id=key_pair.pk, client_id=keys.client_id,
                      environment="production", scope="read", token_format="jwt", jti=jti, token_hash=token_hash,
                      issued_at=issued, expires_at=issued.replace(hour=14))

    rows = {row.jti: row for row in AccessToken.objects.all()}
    assert rows["j1"].token_hash is None and rows["j2"].token_hash == "a" * 64
    assert rows["j1"].issued_at == issued  # microseconds and time zone survive the round trip
    assert rows["j1"].expires_at == issued.replace(hour=14)
    assert rows["j1"].application_id == key_pair.application_id and rows["j1"].key_pair_id == key_pair.pk
    assert rows["j1"].revoked_at is None
