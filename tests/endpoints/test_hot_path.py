"""What a warm request costs: queries (``django_assert_num_queries``) and round trips to Redis.

Issue 12's budgets: a JWT token request writes nothing and asks nothing (0 queries, 0 round
trips); an opaque one is one INSERT; introspection at most one query (an opaque token's record;
``test_introspection.py``); ``/api/hello`` with a JWT nothing. Redis here is a redis-server of this module's own, whose
command counter says how many round trips a request made.
"""

import jwt
import pytest
import redis
from django.db import DatabaseError

from tests.conftest import issued_count
from tokens import usage
from tokens.keystore import key_store
from tokens.models import IssuanceCount


@pytest.fixture
def shared_redis(redis_server, settings):
    """Django's cache on the private Redis, as with REDIS_URL; polls far apart, as a warm process sees them."""
    settings.CACHES = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": redis_server.url}}
    settings.OAUTH_REVOCATION_POLL_SECONDS = 3600
    return redis.Redis(port=redis_server.port)


def commands_processed(client: redis.Redis) -> int:
    """Commands the server has answered, not counting the INFO that asks."""
    return client.info("stats")["total_commands_processed"]


def test_a_warm_jwt_request_costs_no_query_and_no_round_trip(
    shared_redis, flushed_later, make_keys, request_token, django_assert_num_queries
):
    keys = make_keys()
    assert request_token(keys).status_code == 200  # this process now knows the client and the signing key
    before = commands_processed(shared_redis)
    with django_assert_num_queries(0):
        response = request_token(keys)
    assert commands_processed(shared_redis) - before == 1  # the INFO above: nothing from the request
    token = response.json()["access_token"]
    claims = jwt.decode(token, key_store.find(jwt.get_unverified_header(token)["kid"]).public_key,
                        algorithms=["RS256"], audience=jwt.decode(token, options={"verify_signature": False})["aud"])
    assert claims["client_id"] == keys.client_id
    assert issued_count() == 2  # counted in memory, stored at the next flush, one statement for both


def test_issuance_counts_are_stored_in_one_statement_per_flush(
    flushed_later, make_keys, request_token, django_assert_max_num_queries
):
    keys = make_keys()
    for _ in range(3):
        assert request_token(keys).status_code == 200
    with django_assert_max_num_queries(2) as captured:
        usage.flush_issuance_counts()
    # The counts' upsert, and the secret's last use (stored once per secret and minute: clients.secret_store).
    statements = [query["sql"].split()[:3] for query in captured.captured_queries]
    assert statements[0][:2] == ["INSERT", "INTO"] and statements[1:] == [["UPDATE", '"clients_clientsecret"', "SET"]]
    row = IssuanceCount.objects.get()
    assert (row.count, row.token_format, row.environment, row.minute.second) == (3, "jwt", "production", 0)
    for _ in range(2):
        assert request_token(keys).status_code == 200
    usage.flush_issuance_counts()
    assert IssuanceCount.objects.get().count == 5  # added to the same minute's row, not replacing it


def test_a_warm_opaque_request_is_one_insert(shared_redis, flushed_later, make_keys, request_token, django_assert_num_queries):
    keys = make_keys(token_format="opaque")
    assert request_token(keys).status_code == 200
    before = commands_processed(shared_redis)
    with django_assert_num_queries(1) as captured:
        assert request_token(keys).status_code == 200
    assert captured.captured_queries[0]["sql"].startswith("INSERT INTO")
    assert commands_processed(shared_redis) - before == 1


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_a_warm_hello_costs_no_query_and_no_round_trip(
    shared_redis, make_keys, request_token, api_client, token_format, django_assert_num_queries
):
    token = request_token(make_keys(token_format=token_format)).json()["access_token"]
    assert api_client.get("/api/hello", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    before = commands_processed(shared_redis)
    with django_assert_num_queries(0):
        response = api_client.get("/api/hello", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200 and response.json()["client_id"]
    assert commands_processed(shared_redis) - before == 1


def test_a_warm_jwt_introspection_costs_no_query_and_no_round_trip(
    shared_redis, make_keys, make_application, request_token, api_client, django_assert_num_queries
):
    from tests.conftest import introspect

    gateway = make_keys(make_application("gateway", is_resource_server=True))
    token = request_token(make_keys()).json()["access_token"]
    assert introspect(api_client, gateway, token)["active"] is True
    before = commands_processed(shared_redis)
    with django_assert_num_queries(0):
        assert introspect(api_client, gateway, token)["active"] is True
    assert commands_processed(shared_redis) - before == 1


def test_wrong_credentials_do_ask_redis_for_the_lockout(shared_redis, make_keys, request_token):
    # The other side of "right credentials cost no round trip": the budget above is not Redis being unused.
    keys = make_keys()
    assert request_token(keys).status_code == 200
    before = commands_processed(shared_redis)
    assert request_token(type(keys)(keys.client_id, "wrong", keys.environment)).status_code == 401
    assert commands_processed(shared_redis) - before > 1


def test_a_flush_the_database_refuses_keeps_its_counts_for_the_next(flushed_later, make_keys, request_token, monkeypatch, caplog):
    keys = make_keys()
    for _ in range(2):
        assert request_token(keys).status_code == 200
    real = usage._upsert

    def down(pending):
        raise DatabaseError("connection lost")

    monkeypatch.setattr(usage, "_upsert", down)
    usage.flush_issuance_counts()  # never raises
    assert not IssuanceCount.objects.exists()
    assert "could not store issuance counts (DatabaseError)" in caplog.text
    monkeypatch.setattr(usage, "_upsert", real)
    usage.flush_issuance_counts()
    assert IssuanceCount.objects.get().count == 2  # nothing lost
