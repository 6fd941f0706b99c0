"""The key pair lookup compiled once per process gives what the ORM gives, in one query."""

from clients.models import KeyPair
from clients.prepared import PreparedLookup


def test_finds_the_key_pair_with_its_application_in_one_query(make_keys, django_assert_num_queries):
    keys = make_keys(name="billing", scopes="read write")
    lookup = PreparedLookup(KeyPair, "client_id", select_related=["application"])
    expected = KeyPair.objects.select_related("application").get(client_id=keys.client_id)

    with django_assert_num_queries(1):
        key_pair = lookup.get(keys.client_id)
        application = key_pair.application  # loaded by the same query

    assert key_pair == expected
    assert key_pair.secret_hash == expected.secret_hash
    assert key_pair.created_at == expected.created_at  # converted like the ORM does (SQLite keeps text)
    assert application.name == "billing"
    assert application.scopes == "read write"
    assert application.is_active is True


def test_second_lookup_reuses_the_compiled_sql_and_sees_new_rows(make_keys):
    lookup = PreparedLookup(KeyPair, "client_id", select_related=["application"])
    first = make_keys(name="first")
    assert lookup.get(first.client_id).application.name == "first"
    second = make_keys(name="second")
    assert lookup.get(second.client_id).application.name == "second"


def test_unknown_value_is_none(db):
    lookup = PreparedLookup(KeyPair, "client_id", select_related=["application"])
    assert lookup.get("no-such-client") is None
