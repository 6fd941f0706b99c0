"""Several instances, one truth: two gunicorn instances sharing the database (and Redis, if set).

What one instance does (issue, revoke, rotate the signing key) every other honours within the
bounds docs/production.md states ("How stale can an instance be?"). In CI this runs against PostgreSQL and
Redis; on SQLite the two instances share one database file and, with no ``REDIS_URL``, keep
their caches in their own memory, the zero-configuration way to run two instances on one host.
So it runs on both rather than being skipped on SQLite.
"""

import os
import re
import threading
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
# How soon a key rotation reaches an instance on another host: through Redis within the poll bound,
# else when its copy of the keys is OAUTH_KEY_CACHE_SECONDS old.
PROPAGATION_SECONDS = (REVOCATION_POLL_SECONDS if SHARED_CACHE else KEY_CACHE_SECONDS) + 0.5
# Short lifetimes, so the test can watch tokens signed by a retired key verify until their exp.
MAX_LIFETIME_SECONDS = 6
ISSUER = "http://127.0.0.1"  # one issuer for both, as behind a load balancer


@pytest.fixture(scope="module")
def cluster():
    bounds = {
        "OAUTH_KEY_CACHE_SECONDS": str(KEY_CACHE_SECONDS),
        "OAUTH_TOKEN_STATE_CACHE_SECONDS": str(TOKEN_STATE_CACHE_SECONDS),
        "OAUTH_REVOCATION_POLL_SECONDS": str(REVOCATION_POLL_SECONDS),
        "OAUTH_ACCESS_TOKEN_LIFETIME": str(MAX_LIFETIME_SECONDS),
        "OAUTH_MAX_ACCESS_TOKEN_LIFETIME": str(MAX_LIFETIME_SECONDS),
    }
    with shared_setup(**bounds, OAUTH_ISSUER=ISSUER) as setup:
        # One application that is also a resource server: it gets, introspects and revokes its tokens.
        client = setup.create_client("service", "--scopes", "read", "--resource-server")
        # The second instance is on another (simulated) host: no stamp files shared with the first.
        first, second = setup.start(workers=2), setup.start(workers=2, host="b")
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

    def refused_everywhere() -> bool:
        # Several requests per instance, so that each of its workers answers at least once.
        answers = [hello(instance, token) for instance in (first, second) for _ in range(6)]
        answered = [introspect(instance, client, token) for instance in (first, second) for _ in range(6)]
        return all(a.status_code == 401 and 'error="invalid_token"' in a.headers["WWW-Authenticate"] for a in answers) \
            and all(a == {"active": False} for a in answered)

    bound = REVOCATION_POLL_SECONDS if SHARED_CACHE else TOKEN_STATE_CACHE_SECONDS
    assert eventually(refused_everywhere, within=bound + 0.5)


def jwks_kids(instance) -> set[str]:
    return {key["kid"] for key in requests.get(f"{instance.url}/.well-known/jwks.json", timeout=10).json()["keys"]}


def test_rotatekeys_signs_from_now_on_with_a_key_published_ahead_and_old_tokens_verify_until_exp(cluster):
    """Issue 10's live check: tokens are issued on both instances before, during and after the command."""
    setup, client, first, second = cluster
    old_token = issue(first, client)
    for instance in (first, second):
        assert hello(instance, old_token).status_code == 200  # the old key is now cached everywhere
    published_before = {instance.url: jwks_kids(instance) for instance in (first, second)}

    issued: list[tuple[float, str, str]] = []  # (when the request started, instance url, token)
    stop = threading.Event()

    def keep_issuing(instance) -> None:
        while not stop.is_set():
            started = time.monotonic()
            issued.append((started, instance.url, issue(instance, client)))

    workers = [threading.Thread(target=keep_issuing, args=(instance,)) for instance in (first, second)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(0.3)
        output = setup.manage("rotatekeys")
        rotated_at = time.monotonic()
        time.sleep(PROPAGATION_SECONDS + 1)
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    new_kid = re.search(r"Signing key (\S+) \(", output).group(1)
    assert new_kid != kid_of(old_token)

    for instance in (first, second):
        # The key that takes over was in this instance's JWKS before the rotation.
        assert new_kid in published_before[instance.url]
    after = [(started, url, token) for started, url, token in issued if started > rotated_at]
    assert {kid_of(token) for _, url, token in after if url == first.url} == {new_kid}  # same host: at once
    settled = [token for started, _, token in after if started > rotated_at + PROPAGATION_SECONDS]
    assert settled and {kid_of(token) for token in settled} == {new_kid}
    assert {kid_of(token) for *_, token in issued} <= set().union(*published_before.values())

    # Every token, whichever key signed it, verifies everywhere until its exp: for each key, its
    # last token, in its last seconds, on both instances and with a JOSE library against each
    # instance's JWKS.
    def exp_of(token: str) -> int:
        return jwt.decode(token, options={"verify_signature": False})["exp"]

    tokens = [old_token] + [token for *_, token in issued]
    last_of_each_key = sorted({kid_of(token): token for token in sorted(tokens, key=exp_of)}.values(), key=exp_of)
    assert len(last_of_each_key) == 2
    for token in last_of_each_key:
        time.sleep(max(0.0, exp_of(token) - 3 - time.time()))
        for instance in (first, second):
            started = time.time()
            keys = jwt.PyJWKSet.from_dict(requests.get(f"{instance.url}/.well-known/jwks.json", timeout=10).json())
            # The key was still published then; the leeway only spares the check a slow machine.
            claims = jwt.decode(token, keys[kid_of(token)].key, algorithms=["RS256"], audience=ISSUER, leeway=10)
            assert claims["client_id"] == client["client_id"] and started < exp_of(token)
            # Asked later than half a second before exp, the token may rightly have expired meanwhile.
            asked_at, status = time.time(), hello(instance, token).status_code
            assert status == 200 or asked_at > exp_of(token) - 0.5
            asked_at, answer = time.time(), introspect(instance, client, token)
            assert answer["active"] is True or asked_at > exp_of(token) - 0.5


# Changes made by an operator (a management command: another process, on the first instance's
# host) to a client: each takes its tokens, and for some its keys, out of use everywhere.
CLIENT_CHANGES = {
    "revoke all tokens": "revoke_tokens(application=pair.application)",
    "revoke keys": "revoke_keys(key_pair=pair)",
    "disable the application": "set_application_active(application=pair.application, is_active=False)",
}


@pytest.mark.parametrize("change", CLIENT_CHANGES)
def test_a_change_to_a_client_reaches_every_instance_within_the_bound(cluster, change):
    setup, gateway, first, second = cluster
    client = setup.create_client(f"changed-{change.replace(' ', '-')}", "--scopes", "read")
    tokens = [issue(instance, client) for instance in (first, second)]
    for instance in (first, second):
        for token in tokens:  # every worker of both instances now holds the client and the tokens warm
            for _ in range(4):
                assert hello(instance, token).status_code == 200
            assert introspect(instance, gateway, token)["active"] is True

    setup.manage(
        "shell", "-c",
        "from clients.models import KeyPair; from clients.services import revoke_keys, revoke_tokens, "
        f"set_application_active; pair = KeyPair.objects.get(client_id={client['client_id']!r}); "
        + CLIENT_CHANGES[change],
    )

    def refused_everywhere() -> bool:
        answers = [hello(instance, token) for instance in (first, second) for token in tokens for _ in range(4)]
        answered = [introspect(instance, gateway, token) for instance in (first, second) for token in tokens]
        return all(a.status_code == 401 for a in answers) and all(a == {"active": False} for a in answered)

    bound = REVOCATION_POLL_SECONDS if SHARED_CACHE else TOKEN_STATE_CACHE_SECONDS
    assert eventually(refused_everywhere, within=bound + 0.5)
    if change != "revoke all tokens":  # the keys themselves stop working too
        refused = [requests.post(f"{instance.url}/oauth/token", data={"grant_type": "client_credentials"},
                                 auth=(client["client_id"], client["client_secret"]), timeout=10)
                   for instance in (first, second) for _ in range(4)]
        assert {response.status_code for response in refused} == {401}
    else:  # and a token asked for now works everywhere
        fresh = issue(second, client)
        assert all(hello(instance, fresh).status_code == 200 for instance in (first, second) for _ in range(4))


COUNTED = (
    "from django.db.models import Sum; from tokens.models import IssuanceCount; "
    "print(IssuanceCount.objects.filter(application__name='counted').aggregate(n=Sum('count'))['n'] or 0)"
)


def test_tokens_issued_on_running_instances_are_counted_within_the_flush_interval(cluster):
    setup, _, first, second = cluster
    client = setup.create_client("counted", "--scopes", "read")
    for instance in (first, second, first):
        issue(instance, client)
    # Every worker flushes its counts every OAUTH_USAGE_FLUSH_SECONDS (5 s here): no stop needed.
    assert eventually(lambda: setup.manage("shell", "-c", COUNTED) == "3", within=5 + 3, interval=0.5)
