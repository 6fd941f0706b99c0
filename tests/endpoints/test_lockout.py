"""Brute force: failed client authentications are counted per client id and per address (RFC 6749 §10.10).

Threshold and window come from OAUTH_LOCKOUT_THRESHOLD / OAUTH_LOCKOUT_WINDOW. Past the threshold,
wrong credentials get 429 (RFC 6585 §4) with Retry-After and an RFC 6749 §5.2 body; right
credentials are never refused by a lockout (CONTRACT "Client credentials over their life").
"""

import pytest

from audit.models import AuditAction, AuditEvent
from clients.services import IssuedKeys
from tests.conftest import basic_auth
from clients import lockout
from tokens import throttling


pytestmark = pytest.mark.usefixtures("small_lockout")


@pytest.fixture
def frozen_clock(monkeypatch):
    now = [1_000_000.0]
    monkeypatch.setattr(lockout, "clock", lambda: now[0])
    monkeypatch.setattr(throttling, "clock", lambda: now[0])
    return now


def wrong_secret(keys: IssuedKeys) -> IssuedKeys:
    return IssuedKeys(keys.client_id, "not-the-secret", keys.environment)


def fail(request_token, keys, times, address="10.0.0.1"):
    for _ in range(times):
        response = request_token(wrong_secret(keys), headers={"REMOTE_ADDR": address})
        assert response.status_code == 401, response.content


def test_past_the_threshold_wrong_secrets_get_429_with_retry_after(make_keys, request_token, frozen_clock):
    keys = make_keys()
    fail(request_token, keys, 3)
    frozen_clock[0] += 15
    response = request_token(wrong_secret(keys), headers={"REMOTE_ADDR": "10.0.0.1"})
    assert response.status_code == 429
    assert response["Retry-After"] == "45"
    assert response.json() == {
        "error": "temporarily_unavailable",
        "error_description": "Too many failed authentication attempts; try again later.",
    }
    assert response["Cache-Control"] == "no-store"


def test_the_429_body_follows_the_negotiated_format(make_keys, request_token):
    keys = make_keys()
    fail(request_token, keys, 3)
    response = request_token(wrong_secret(keys), format="xml", headers={"REMOTE_ADDR": "10.0.0.1"})
    assert response.status_code == 429
    assert response["Content-Type"].startswith("application/xml")
    assert b"<oauth><error>temporarily_unavailable</error>" in response.content
    response = request_token(
        wrong_secret(keys), headers={"REMOTE_ADDR": "10.0.0.1", "HTTP_ACCEPT": "application/x-www-form-urlencoded"}
    )
    assert response.content.startswith(b"error=temporarily_unavailable&error_description=")


def post_as(api_client, path, authorization, address):
    body = "grant_type=client_credentials" if path == "/oauth/token" else "token=abc"
    return api_client.post(
        path, body, content_type="application/x-www-form-urlencoded", HTTP_AUTHORIZATION=authorization,
        REMOTE_ADDR=address,
    )


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/introspect", "/oauth/revoke"])
@pytest.mark.parametrize("address", ["10.0.0.1", "10.0.0.2"], ids=["attacker_address", "own_address"])
def test_a_right_secret_is_never_refused_by_a_lockout(make_keys, api_client, path, address):
    """Anyone who knows a client id could otherwise stop that client, a resource server's introspection included."""
    keys = make_keys(is_resource_server=True)
    wrong, right = basic_auth(keys.client_id, "not-the-secret"), basic_auth(keys.client_id, keys.client_secret)
    statuses = [post_as(api_client, path, wrong, "10.0.0.1").status_code for _ in range(20)]
    assert statuses == [401] * 3 + [429] * 17
    response = post_as(api_client, path, right, address)
    assert response.status_code == 200, response.content
    assert "Retry-After" not in response
    if path == "/oauth/token":
        assert response.json()["token_type"] == "Bearer"
    if path == "/oauth/introspect":
        assert response.json() == {"active": False}


def test_a_right_secret_costs_no_lockout_lookup(make_keys, request_token, monkeypatch):
    keys = make_keys()
    looked_up = []
    monkeypatch.setattr(lockout, "locked_for", lambda **kwargs: looked_up.append(kwargs) or None)
    assert request_token(keys).status_code == 200
    assert looked_up == []
    assert request_token(wrong_secret(keys)).status_code == 401
    assert len(looked_up) == 1


def test_other_clients_from_other_addresses_are_not_affected(make_keys, request_token, make_application):
    locked, other = make_keys(), make_keys(make_application("other"))
    fail(request_token, locked, 3, address="10.0.0.1")
    assert request_token(wrong_secret(other), headers={"REMOTE_ADDR": "10.0.0.2"}).status_code == 401


def test_failures_from_one_address_lock_that_address_for_every_wrong_secret(make_keys, request_token, make_application):
    keys = [make_keys(make_application(f"app{n}")) for n in range(4)]
    for each in keys[:3]:  # one failure per client id: no id reaches the threshold
        fail(request_token, each, 1, address="10.0.0.66")
    assert request_token(wrong_secret(keys[3]), headers={"REMOTE_ADDR": "10.0.0.66"}).status_code == 429
    assert request_token(wrong_secret(keys[3]), headers={"REMOTE_ADDR": "10.0.0.67"}).status_code == 401
    assert request_token(keys[3], headers={"REMOTE_ADDR": "10.0.0.66"}).status_code == 200


def test_unknown_client_ids_count_too(make_keys, request_token):
    ghost = IssuedKeys("no-such-client", "whatever", "production")
    fail(request_token, ghost, 3, address="10.0.0.5")
    assert request_token(ghost, headers={"REMOTE_ADDR": "10.0.0.6"}).status_code == 429


def test_a_wrong_secret_gets_401_again_once_the_lockout_ends(make_keys, request_token, frozen_clock):
    keys = make_keys()
    fail(request_token, keys, 3)
    assert request_token(wrong_secret(keys), headers={"REMOTE_ADDR": "10.0.0.1"}).status_code == 429
    frozen_clock[0] += 61
    response = request_token(wrong_secret(keys), headers={"REMOTE_ADDR": "10.0.0.1"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_the_count_starts_afresh_after_a_lockout(make_keys, request_token, frozen_clock):
    keys = make_keys()
    fail(request_token, keys, 3)
    frozen_clock[0] += 61
    fail(request_token, keys, 3)  # three failures in the new window: 401 each, then locked again
    assert request_token(wrong_secret(keys), headers={"REMOTE_ADDR": "10.0.0.1"}).status_code == 429


def test_threshold_zero_switches_lockout_off(make_keys, request_token, settings):
    settings.OAUTH_LOCKOUT_THRESHOLD = 0
    keys = make_keys()
    fail(request_token, keys, 15)  # past any threshold, each wrong secret is still a plain 401, never 429


def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(make_keys, request_token, make_application):
    keys = [make_keys(make_application(f"app{n}")) for n in range(4)]
    for n, each in enumerate(keys[:3]):  # the attacker varies X-Forwarded-For: it is not believed
        spoofed = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": f"203.0.113.{n}"}
        assert request_token(wrong_secret(each), headers=spoofed).status_code == 401
    assert request_token(wrong_secret(keys[3]), headers={"REMOTE_ADDR": "10.0.0.1"}).status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_address_is_counted(make_keys, request_token, make_application, settings):
    settings.OAUTH_TRUSTED_PROXIES = ["10.0.0.0/8"]
    keys = [make_keys(make_application(f"app{n}")) for n in range(4)]
    via_proxy = {"REMOTE_ADDR": "10.1.1.1", "HTTP_X_FORWARDED_FOR": "198.51.100.7"}
    for each in keys[:3]:
        assert request_token(wrong_secret(each), headers=via_proxy).status_code == 401
    assert request_token(wrong_secret(keys[3]), headers=via_proxy).status_code == 429
    # Another caller behind the same proxy is not locked out.
    other = {**via_proxy, "HTTP_X_FORWARDED_FOR": "198.51.100.8"}
    assert request_token(wrong_secret(keys[3]), headers=other).status_code == 401
    failed = AuditEvent.objects.filter(action=AuditAction.CLIENT_AUTH_FAILED).values_list("address", flat=True)
    assert list(failed).count("198.51.100.7") == 3


def test_token_rate_limit_is_per_client_and_answers_429(make_keys, request_token, make_application, settings, frozen_clock):
    settings.OAUTH_TOKEN_RATE_LIMIT = "2/minute"
    frozen_clock[0] = 6_000_000.0 + 50  # 10 s before the minute ends
    busy, quiet = make_keys(), make_keys(make_application("quiet"))
    nat = {"REMOTE_ADDR": "192.0.2.1"}  # both behind one NAT address
    assert [request_token(busy, headers=nat).status_code for _ in range(2)] == [200, 200]
    response = request_token(busy, headers=nat)
    assert response.status_code == 429
    assert response["Retry-After"] == "10"
    assert response.json()["error"] == "temporarily_unavailable"
    assert request_token(quiet, headers=nat).status_code == 200
    frozen_clock[0] += 10  # the next minute
    assert request_token(busy, headers=nat).status_code == 200


def test_token_rate_limit_is_off_by_default(make_keys, request_token):
    keys = make_keys()
    assert {request_token(keys).status_code for _ in range(12)} == {200}


def test_an_unreachable_cache_lets_requests_through_and_says_so(make_keys, request_token, monkeypatch, settings, caplog):
    settings.OAUTH_TOKEN_RATE_LIMIT = "1/minute"

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    for operation in ("get_many", "add", "incr", "set"):
        monkeypatch.setattr(f"django.core.cache.cache.{operation}", down)
    keys = make_keys()
    fail(request_token, keys, 4)  # counting fails quietly: still 401, never 500
    assert [request_token(keys).status_code for _ in range(2)] == [200, 200]
    assert "shared cache unreachable (ConnectionError, noticed by throttling)" in caplog.text
    assert caplog.text.count("shared cache unreachable") == 1  # once per outage, not per request
    assert "Traceback" not in caplog.text
