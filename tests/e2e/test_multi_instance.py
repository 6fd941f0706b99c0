"""Several instances, one truth: two gunicorn instances sharing the database (and Redis, if set).

What one instance does (issue, revoke, rotate the signing key) every other honours within the
bounds the README states under "Running in production". In CI this runs against PostgreSQL and
Redis; on SQLite the two instances share one database file and, with no ``REDIS_URL``, keep
their caches in their own memory, the zero-configuration way to run two instances on one host.
So it runs on both rather than being skipped on SQLite.
"""

import os
import re
import time

import jwt
import pytest
import requests

from .instances import eventually, shared_setup

KEY_CACHE_SECONDS = 1  # OAUTH_KEY_CACHE_SECONDS for the instances: short, so the test is too
# OAUTH_TOKEN_STATE_CACHE_SECONDS: the longest a process without Redis may take a revoked token
# for live (on another host; on one host the stamp file in var/ makes it at once, as with Redis).
TOKEN_STATE_CACHE_SECONDS = 1
# OAUTH_REVOCATION_POLL_SECONDS: with Redis, the longest any process may take a revoked token for live.
REVOCATION_POLL_SECONDS = 1
SHARED_CACHE = bool(os.environ.get("REDIS_URL"))
ISSUER = "http://127.0.0.1"  # one issuer for both, as behind a load balancer


@pytest.fixture(scope="module")
def cluster():
    bounds = {
        "OAUTH_KEY_CACHE_SECONDS": str(KEY_CACHE_SECONDS),
        "OAUTH_TOKEN_STATE_CACHE_SECONDS": str(TOKEN_STATE_CACHE_SECONDS),
        "OAUTH_REVOCATION_POLL_SECONDS": str(REVOCATION_POLL_SECONDS),
    }
    with shared_setup(**bounds, OAUTH_ISSUER=ISSUER) as setup:
        # One application that is also a resource server: it gets, introspects and revokes its tokens.
        client = setup.create_client("service", "--scopes", "read", "--resource-server")
        first, second = setup.start(workers=2), setup.start(workers=2)
        yield setup, client, first, second


def issue(instance, client) -> str:
    response = requests.post(
        f"{instance.url}/oauth/token", data={"grant_type": "client_credentials"},
        auth=(client["client_id"], client["client_secret"]), timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def introspect(instance, client, token: str) -> dict:
    response = requests.post(
        f"{instance.url}/oauth/introspect", data={"token": token},
        auth=(client["client_id"], client["client_secret"]), timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def hello(instance, token: str) -> requests.Response:
    return requests.get(f"{instance.url}/api/hello", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def kid_of(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def test_a_token_issued_on_one_instance_is_checked_and_revoked_on_the_other(cluster):
    setup, client, first, second = cluster
    token = issue(first, client)

    assert introspect(second, client, token)["client_id"] == client["client_id"]
    assert introspect(second, client, token)["active"] is True
    for instance in (first, second):  # both now hold warm caches for this token
        answer = hello(instance, token)
        assert answer.status_code == 200, answer.text
        assert answer.json()["client_id"] == client["client_id"]

    revoked = requests.post(
        f"{second.url}/oauth/revoke", data={"token": token},
        auth=(client["client_id"], client["client_secret"]), timeout=10,
    )
    assert revoked.status_code == 200

    for instance in (first, second):
        assert introspect(instance, client, token) == {"active": False}  # the database: at once

    def refused_everywhere() -> bool:
        # Several requests per instance, so that each of its workers answers at least once.
        answers = [hello(instance, token) for instance in (first, second) for _ in range(6)]
        return all(a.status_code == 401 and 'error="invalid_token"' in a.headers["WWW-Authenticate"] for a in answers)

    bound = REVOCATION_POLL_SECONDS if SHARED_CACHE else TOKEN_STATE_CACHE_SECONDS
    assert eventually(refused_everywhere, within=bound + 0.5)


def test_after_rotatekeys_both_sign_with_the_new_key_and_accept_the_old_one(cluster):
    setup, client, first, second = cluster
    old_token = issue(first, client)
    for instance in (first, second):
        assert hello(instance, old_token).status_code == 200  # the old key is now cached everywhere

    output = setup.manage("rotatekeys")
    new_kid = re.search(r"New signing key (\S+)", output).group(1)
    assert new_kid != kid_of(old_token)

    # Within the stated bound every worker of every instance signs with the new key.
    time.sleep(KEY_CACHE_SECONDS + 0.5)
    for instance in (first, second):
        assert {kid_of(issue(instance, client)) for _ in range(6)} == {new_kid}

    new_token = issue(first, client)
    for instance in (first, second):
        assert hello(instance, new_token).status_code == 200
        assert hello(instance, old_token).status_code == 200
        assert introspect(instance, client, old_token)["active"] is True
        assert introspect(instance, client, new_token)["active"] is True

