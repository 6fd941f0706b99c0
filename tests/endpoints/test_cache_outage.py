"""A shared cache (Redis) that fails: every endpoint answers as it would without it, never 500.

RFC 6749 §5.2, RFC 7662 §2.2, RFC 7009 §2.2 and RFC 6750 §3.1 answers, whatever the cache does:
its uses degrade to the database or, for throttling, fail open, and the outage is logged once
(``cluster.shared_cache``). The cache here is django-redis pointed at a port nothing listens on.
"""

import logging
import socket
from urllib.parse import urlencode

import pytest
from django.core.cache import caches
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from tests.conftest import basic_auth
from tokens.models import AccessToken

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when this returns: connections are refused


@pytest.fixture
def unreachable_cache(settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    settings.OAUTH_TOKEN_RATE_LIMIT = "1000/minute"  # throttling asks the cache on every token request
    caplog.set_level(logging.WARNING)
    with pytest.raises(Exception):  # noqa: B017 (whatever django-redis raises: the cache is down)
        caches["default"].get("probe")
    return caplog


@pytest.fixture
def post(api_client):
    def call(path: str, keys, **fields):
        return api_client.post(
            path, urlencode(fields), content_type="application/x-www-form-urlencoded",
            HTTP_AUTHORIZATION=basic_auth(keys.client_id, keys.client_secret),
        )

    return call


def hello(api_client, token: str):
    return api_client.get("/api/hello", HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_every_endpoint_answers_while_the_cache_is_down(
    unreachable_cache, make_keys, post, api_client, token_format
):
    keys = make_keys(token_format=token_format, is_resource_server=True)
    issued = post("/oauth/token", keys, grant_type="client_credentials")
    assert issued.status_code == 200, issued.content
    token = issued.json()["access_token"]

    for _ in range(3):  # each time from the database
        answer = hello(api_client, token)
        assert answer.status_code == 200, answer.content
        assert answer.json()["client_id"] == keys.client_id
    introspected = post("/oauth/introspect", keys, token=token)
    assert introspected.status_code == 200
    assert introspected.json()["active"] is True and introspected.json()["client_id"] == keys.client_id

    revoked = post("/oauth/revoke", keys, token=token)
    assert revoked.status_code == 200 and revoked.content == b""
    refused = hello(api_client, token)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused["WWW-Authenticate"]
    assert post("/oauth/introspect", keys, token=token).json() == {"active": False}
    assert AuditEvent.objects.filter(action=AuditAction.TOKEN_REVOKED, client_id=keys.client_id).count() == 1

    outage_lines = [r.getMessage() for r in unreachable_cache.records if "shared cache" in r.getMessage()]
    assert len(outage_lines) == 1, outage_lines  # once per outage, not once per request
    assert all(record.exc_info is None for record in unreachable_cache.records)  # no tracebacks


def test_wrong_secrets_are_still_refused_while_throttling_fails_open(unreachable_cache, make_keys, post):
    keys = make_keys()
    wrong = type(keys)(keys.client_id, "wrong", keys.environment)
    for _ in range(3):
        response = post("/oauth/token", wrong, grant_type="client_credentials")
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"


def test_a_revoked_token_stays_revoked_when_the_cache_comes_back(make_keys, post, api_client, settings, unreachable_cache):
    keys = make_keys()
    token = post("/oauth/token", keys, grant_type="client_credentials").json()["access_token"]
    assert hello(api_client, token).status_code == 200
    assert post("/oauth/revoke", keys, token=token).status_code == 200
    del settings.CACHES  # the cache is back (the test's own)
    assert hello(api_client, token).status_code == 401
    assert AccessToken.objects.get().revoked_at <= timezone.now()


def test_an_outage_is_logged_once_even_when_throttling_has_nothing_to_ask(unreachable_cache, settings, monkeypatch, make_keys, post, api_client):
    # With no rate limit, issuing a token asks the cache nothing: that must not count as "back".
    settings.OAUTH_TOKEN_RATE_LIMIT = ""
    monkeypatch.setattr("cluster.shared_cache.RETRY_SECONDS", 0.0)  # every call may try the cache again
    keys = make_keys()
    for _ in range(4):
        assert post("/oauth/token", keys, grant_type="client_credentials").status_code == 200
        wrong = api_client.post("/oauth/token", "grant_type=client_credentials", content_type="application/x-www-form-urlencoded",
                                HTTP_AUTHORIZATION=basic_auth(keys.client_id, "wrong"))
        assert wrong.status_code == 401  # the failure count is lost, failing open
    messages = [record.getMessage() for record in unreachable_cache.records]
    assert sum("shared cache unreachable" in message for message in messages) == 1, messages
    assert not any("reachable again" in message for message in messages), messages
