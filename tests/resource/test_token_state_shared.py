"""What each process keeps of tokens and clients, with a shared cache: it polls for announcements.

Revocations and client changes are announced by a random value in the shared cache
(``cluster.announcements``), never a counter, so that a cache that restarts empty cannot replay
the value a process last read. Nothing of a token is kept in the shared cache.

The shared cache here is Django's file-based cache, which every process of a host shares as it
would share Redis, so these run in both CI passes (SQLite with no Redis, PostgreSQL with it).
"""

import time

import pytest
from django.core.cache import cache, caches
from django.utils import timezone

from clients.models import Application
from clients.registry import drop_known_clients
from clients.services import revoke_tokens
from cluster.announcements import clients_changed, tokens_revoked
from tests.conftest import revoke_directly
from tokens.caches import forget_token_facts
from tokens.verification import live_claims

pytestmark = pytest.mark.django_db

REVOCATIONS_KEY = "oauth:announcement:token-revocations"
CLIENTS_KEY = "oauth:announcement:clients"


@pytest.fixture(autouse=True)
def shared_cache(settings, tmp_path):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(tmp_path)}}
    settings.OAUTH_REVOCATION_POLL_SECONDS = 0.3
    for announcement in (tokens_revoked, clients_changed):
        announcement._polled_at = float("-inf")  # this process has not read this cache yet
    forget_token_facts()
    yield
    forget_token_facts()


@pytest.fixture
def live_token(issue) -> str:
    return issue()


def is_live(token: str) -> bool:
    return live_claims(token, realm=None, now=timezone.now()) is not None


@pytest.fixture
def cache_reads(monkeypatch):
    """Keys this process asks the shared cache for."""
    reads = []
    backend = caches["default"]
    real_get = backend.get
    monkeypatch.setattr(backend, "get", lambda key, *a, **k: (reads.append(key), real_get(key, *a, **k))[1])
    return reads


def test_what_this_process_read_costs_no_round_trip(live_token, cache_reads, django_assert_num_queries, settings):
    settings.OAUTH_REVOCATION_POLL_SECONDS = 5  # however slow the machine, the checks stay within one interval
    forget_token_facts()
    drop_known_clients()
    with django_assert_num_queries(2):  # the revoked set and the client
        assert is_live(live_token)
    cache_reads.clear()
    with django_assert_num_queries(0):
        for _ in range(5):
            assert is_live(live_token)
    assert cache_reads == []  # within the poll interval: not even the announcements' values


def test_a_revocation_by_this_process_is_seen_at_once(live_token):
    assert is_live(live_token)
    revoke_tokens(application=Application.objects.get())
    assert not is_live(live_token)


def wait_until_refused(token: str, bound: float) -> None:
    deadline = time.monotonic() + bound
    while is_live(token):
        assert time.monotonic() < deadline, "the change was not seen within the poll interval"
        time.sleep(0.05)


def test_a_revocation_by_another_process_is_seen_within_the_poll_interval(live_token):
    assert is_live(live_token)
    # Another host revokes: the database and the shared cache, not our memory nor our stamp file.
    revoke_directly(live_token)
    cache.set(REVOCATIONS_KEY, "another host's announcement", None)
    wait_until_refused(live_token, 0.3 + 0.5)


def test_a_client_disabled_by_another_process_is_seen_within_the_poll_interval(live_token):
    assert is_live(live_token)
    Application.objects.update(is_active=False)  # no signal here: as another host's change
    cache.set(CLIENTS_KEY, "another host's announcement", None)
    wait_until_refused(live_token, 0.3 + 0.5)


def test_a_cache_that_restarts_empty_cannot_hide_a_revocation(live_token):
    """Issue 11 #15: a counter restarting at 0 climbed back to the value a process had last read."""
    cache.set(REVOCATIONS_KEY, "before the restart", None)
    time.sleep(0.35)
    assert is_live(live_token)  # read after the value above
    cache.clear()  # the restart
    revoke_directly(live_token)
    cache.set(REVOCATIONS_KEY, "another host's announcement after the restart", None)
    time.sleep(0.35)
    assert not is_live(live_token)


def test_a_zero_interval_asks_the_shared_cache_every_time(live_token, settings, cache_reads):
    settings.OAUTH_REVOCATION_POLL_SECONDS = 0
    for _ in range(3):
        assert is_live(live_token)
    assert cache_reads.count(REVOCATIONS_KEY) == 3
    assert cache_reads.count(CLIENTS_KEY) == 3


def test_this_process_keeps_what_it_read_no_longer_than_the_setting(live_token, settings, monkeypatch):
    settings.OAUTH_TOKEN_STATE_CACHE_SECONDS = 1
    assert is_live(live_token)
    revoke_directly(live_token)  # and no announcement reaches us
    assert is_live(live_token)  # stale within the bound
    later = time.monotonic() + 2
    monkeypatch.setattr("tokens.caches.time.monotonic", lambda: later)
    assert not is_live(live_token)


def test_a_client_is_read_again_after_the_setting(live_token, settings, monkeypatch):
    settings.OAUTH_TOKEN_STATE_CACHE_SECONDS = 1
    drop_known_clients()  # issuing the token read it under the default
    assert is_live(live_token)
    Application.objects.update(is_active=False)  # and no announcement reaches us
    assert is_live(live_token)
    later = time.monotonic() + 2
    monkeypatch.setattr("clients.registry.time.monotonic", lambda: later)
    assert not is_live(live_token)


def test_an_api_project_without_the_setting_polls_every_second(live_token, settings, cache_reads):
    del settings.OAUTH_REVOCATION_POLL_SECONDS  # an API project's settings written before it existed
    for _ in range(3):
        assert is_live(live_token)
    assert cache_reads.count(REVOCATIONS_KEY) == 1  # then kept for a second


def test_a_slow_poll_cannot_bring_back_the_value_a_revocation_replaced(live_token, monkeypatch):
    """Two threads of one process (gthread) poll at once: the one that read first finishes last."""
    cache.set(REVOCATIONS_KEY, "before", None)
    time.sleep(0.35)
    assert is_live(live_token)  # read with "before" as the revocations' version
    time.sleep(0.35)
    backend = caches["default"]
    real_get = backend.get
    gets = []

    def get(key, *args, **kwargs):
        value = real_get(key, *args, **kwargs)
        if key == REVOCATIONS_KEY:
            gets.append(value)
            if len(gets) == 1:  # this poll read "before"; until it stores it, another host revokes...
                revoke_directly(live_token)
                cache.set(REVOCATIONS_KEY, "after", None)
                tokens_revoked.version()  # ...and another thread of this process polls and reads "after"
        return value

    monkeypatch.setattr(backend, "get", get)
    tokens_revoked.version()
    assert gets == ["before", "after"]
    assert not is_live(live_token)
