"""Token state with a shared cache: each process keeps what it read, and polls for revocations.

The shared cache here is Django's file-based cache, which every process of a host shares as it
would share Redis, so these run in both CI passes (SQLite with no Redis, PostgreSQL with it).
"""

import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from tokens import token_state as states
from tokens.models import AccessToken
from tokens.services import revoke_tokens
from tokens.token_state import LIVE, REVOKED, forget_token_states, token_state

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def shared_cache(settings, tmp_path):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(tmp_path)}}
    settings.OAUTH_REVOCATION_POLL_SECONDS = 0.3
    forget_token_states()
    yield
    forget_token_states()


@pytest.fixture
def live_token(issue):
    issue()
    row = AccessToken.objects.get()
    return row.jti, int(row.expires_at.timestamp())


@pytest.fixture
def cache_reads(monkeypatch):
    """Keys this process asks the shared cache for."""
    reads = []
    backend = states.caches["default"]
    real_get = backend.get
    monkeypatch.setattr(backend, "get", lambda key, *a, **k: (reads.append(key), real_get(key, *a, **k))[1])
    return reads


def test_a_state_this_process_read_costs_no_round_trip(live_token, cache_reads, django_assert_num_queries):
    jti, exp = live_token
    with django_assert_num_queries(1):
        assert token_state(jti=jti, expires_at=exp, now=timezone.now()) == LIVE
    cache_reads.clear()
    with django_assert_num_queries(0):
        for _ in range(5):
            assert token_state(jti=jti, expires_at=exp, now=timezone.now()) == LIVE
    assert not [key for key in cache_reads if "token-state" in key]


def test_a_revocation_by_this_process_is_seen_at_once(live_token):
    jti, exp = live_token
    assert token_state(jti=jti, expires_at=exp, now=timezone.now()) == LIVE
    revoke_tokens(application=AccessToken.objects.get().application)
    assert token_state(jti=jti, expires_at=exp, now=timezone.now()) == REVOKED


def test_a_revocation_by_another_process_is_seen_within_the_poll_interval(live_token):
    jti, exp = live_token
    assert token_state(jti=jti, expires_at=exp, now=timezone.now()) == LIVE
    # Another process revokes: the database, the shared cache and the generation, not our memory.
    AccessToken.objects.update(revoked_at=timezone.now())
    cache.set(states._key(jti), (REVOKED, time.time()), 30)
    cache.add(states._GENERATION_KEY, 0, None)
    cache.incr(states._GENERATION_KEY)
    deadline = time.monotonic() + 0.3 + 0.5
    while token_state(jti=jti, expires_at=exp, now=timezone.now()) == LIVE:
        assert time.monotonic() < deadline, "the revocation was not seen within the poll interval"
        time.sleep(0.05)
    assert token_state(jti=jti, expires_at=exp, now=timezone.now()) == REVOKED


def test_a_zero_interval_asks_the_shared_cache_every_time(live_token, settings, cache_reads):
    settings.OAUTH_REVOCATION_POLL_SECONDS = 0
    jti, exp = live_token
    for _ in range(3):
        assert token_state(jti=jti, expires_at=exp, now=timezone.now()) == LIVE
    assert len([key for key in cache_reads if "token-state" in key]) == 3


def test_this_process_keeps_a_state_no_longer_than_the_cache_would(live_token, settings):
    settings.OAUTH_TOKEN_STATE_CACHE_SECONDS = 1
    jti, exp = live_token
    assert token_state(jti=jti, expires_at=exp, now=timezone.now()) == LIVE
    AccessToken.objects.update(revoked_at=timezone.now())  # no shared cache entry, no generation
    cache.clear()
    later = timezone.now() + timedelta(seconds=2)
    assert token_state(jti=jti, expires_at=exp, now=later) == REVOKED


def test_an_api_project_without_the_setting_polls_every_second(live_token, settings, cache_reads):
    del settings.OAUTH_REVOCATION_POLL_SECONDS  # an API project's settings written before it existed
    jti, exp = live_token
    for _ in range(3):
        assert token_state(jti=jti, expires_at=exp, now=timezone.now()) == LIVE
    assert states._poll_seconds() == 1.0
    assert len([key for key in cache_reads if "token-state" in key]) == 1  # kept by this process after one read
