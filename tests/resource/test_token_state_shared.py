"""Token state with a shared cache: each process keeps what it read, and polls for revocations.

Revocations are announced by a random value in the shared cache (``cluster.announcements``),
never a counter, so that a cache that restarts empty cannot replay the value a process last read.

The shared cache here is Django's file-based cache, which every process of a host shares as it
would share Redis, so these run in both CI passes (SQLite with no Redis, PostgreSQL with it).
"""

import time
from datetime import timedelta

import pytest
from django.core.cache import cache, caches
from django.utils import timezone

from cluster.announcements import tokens_revoked
from tokens.models import AccessToken
from tokens.protocol.formats import TokenClaims
from clients.services import revoke_tokens
from tokens.token_state import LIVE, REVOKED, forget_token_states, token_state

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def shared_cache(settings, tmp_path):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(tmp_path)}}
    settings.OAUTH_REVOCATION_POLL_SECONDS = 0.3
    tokens_revoked._polled_at = float("-inf")  # this process has not read this cache yet
    forget_token_states()
    yield
    forget_token_states()


REVOCATIONS_KEY = "oauth:announcement:token-revocations"


@pytest.fixture
def live_token(issue) -> TokenClaims:
    issue()
    row = AccessToken.objects.get()
    return TokenClaims(
        iss="", sub=row.client_id, client_id=row.client_id, aud="", iat=int(row.issued_at.timestamp()),
        exp=int(row.expires_at.timestamp()), jti=row.jti, scope=row.scope, env=row.environment,
    )


@pytest.fixture
def cache_reads(monkeypatch):
    """Keys this process asks the shared cache for."""
    reads = []
    backend = caches["default"]
    real_get = backend.get
    monkeypatch.setattr(backend, "get", lambda key, *a, **k: (reads.append(key), real_get(key, *a, **k))[1])
    return reads


def test_a_state_this_process_read_costs_no_round_trip(live_token, cache_reads, django_assert_num_queries, settings):
    settings.OAUTH_REVOCATION_POLL_SECONDS = 5  # however slow the machine, the checks stay within one interval
    with django_assert_num_queries(1):
        assert token_state(live_token, now=timezone.now()) == LIVE
    cache_reads.clear()
    with django_assert_num_queries(0):
        for _ in range(5):
            assert token_state(live_token, now=timezone.now()) == LIVE
    assert cache_reads == []  # within the poll interval: not even the revocations' value


def test_a_revocation_by_this_process_is_seen_at_once(live_token):
    assert token_state(live_token, now=timezone.now()) == LIVE
    revoke_tokens(application=AccessToken.objects.get().application)
    assert token_state(live_token, now=timezone.now()) == REVOKED


def test_a_revocation_by_another_process_is_seen_within_the_poll_interval(live_token):
    assert token_state(live_token, now=timezone.now()) == LIVE
    # Another host revokes: the database and the shared cache, not our memory nor our stamp file.
    AccessToken.objects.update(revoked_at=timezone.now())
    cache.set(REVOCATIONS_KEY, "another host's announcement", None)
    deadline = time.monotonic() + 0.3 + 0.5
    while token_state(live_token, now=timezone.now()) == LIVE:
        assert time.monotonic() < deadline, "the revocation was not seen within the poll interval"
        time.sleep(0.05)
    assert token_state(live_token, now=timezone.now()) == REVOKED


def test_a_cache_that_restarts_empty_cannot_hide_a_revocation(live_token):
    """Issue 11 #15: a counter restarting at 0 climbed back to the value a process had last read."""
    cache.set(REVOCATIONS_KEY, "before the restart", None)
    time.sleep(0.35)
    assert token_state(live_token, now=timezone.now()) == LIVE  # read after the value above
    cache.clear()  # the restart
    AccessToken.objects.update(revoked_at=timezone.now())
    cache.set(REVOCATIONS_KEY, "another host's announcement after the restart", None)
    time.sleep(0.35)
    assert token_state(live_token, now=timezone.now()) == REVOKED


def test_a_live_state_written_into_the_shared_cache_revives_nothing(live_token):
    revoke_tokens(application=AccessToken.objects.get().application)
    forget_token_states()
    cache.set(f"oauth:token-state:{live_token.jti}", (LIVE, time.time()), 30)  # what once counted
    assert token_state(live_token, now=timezone.now()) == REVOKED


def test_a_zero_interval_asks_the_shared_cache_every_time(live_token, settings, cache_reads):
    settings.OAUTH_REVOCATION_POLL_SECONDS = 0
    for _ in range(3):
        assert token_state(live_token, now=timezone.now()) == LIVE
    assert cache_reads.count(REVOCATIONS_KEY) == 3


def test_this_process_keeps_a_state_no_longer_than_the_setting(live_token, settings):
    settings.OAUTH_TOKEN_STATE_CACHE_SECONDS = 1
    assert token_state(live_token, now=timezone.now()) == LIVE
    AccessToken.objects.update(revoked_at=timezone.now())  # and no announcement reaches us
    later = timezone.now() + timedelta(seconds=2)
    assert token_state(live_token, now=later) == REVOKED


def test_an_api_project_without_the_setting_polls_every_second(live_token, settings, cache_reads):
    del settings.OAUTH_REVOCATION_POLL_SECONDS  # an API project's settings written before it existed
    for _ in range(3):
        assert token_state(live_token, now=timezone.now()) == LIVE
    assert cache_reads.count(REVOCATIONS_KEY) == 1  # then kept for a second


def test_a_slow_poll_cannot_bring_back_the_value_a_revocation_replaced(live_token, monkeypatch):
    """Two threads of one process (gthread) poll at once: the one that read first finishes last."""
    cache.set(REVOCATIONS_KEY, "before", None)
    time.sleep(0.35)
    assert token_state(live_token, now=timezone.now()) == LIVE  # kept, with "before" as its version
    time.sleep(0.35)
    backend = caches["default"]
    real_get = backend.get
    gets = []

    def get(key, *args, **kwargs):
        value = real_get(key, *args, **kwargs)
        gets.append(value)
        if len(gets) == 1:  # this poll read "before"; until it stores it, another host revokes...
            AccessToken.objects.update(revoked_at=timezone.now())
            cache.set(REVOCATIONS_KEY, "after", None)
            tokens_revoked.version()  # ...and another thread of this process polls and reads "after"
        return value

    monkeypatch.setattr(backend, "get", get)
    tokens_revoked.version()
    assert gets == ["before", "after"]
    assert token_state(live_token, now=timezone.now()) == REVOKED
