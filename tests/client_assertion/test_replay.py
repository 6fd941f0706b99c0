"""A jti is accepted once across processes and instances (RFC 7523 §3 item 7): shared cache first, else the database.

The shared cache is a redis-server of this module's own. "Two instances" are two Django cache
clients on it (two connection pools, as two hosts have); "two processes" are two Python
interpreters with REDIS_URL set. A cache that fails falls back on the database: never open.
"""

import os
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from django_redis.cache import RedisCache
from django.utils import timezone

from clients import client_assertions
from clients.models import UsedClientAssertion
from cluster.shared_cache import forget_shared_cache_outage
from tokens.protocol.client_assertion import VerifiedAssertion
from tokens.services import clear_tokens


@pytest.fixture
def shared_redis(redis_server, settings):
    settings.CACHES = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": redis_server.url}}
    return redis_server


def a_jti(exp_in: int = 60) -> VerifiedAssertion:
    return VerifiedAssertion(client_id="client", jti=str(uuid.uuid4()), exp=int(time.time()) + exp_in)


def test_two_cache_clients_accept_a_jti_once(shared_redis, settings, db, monkeypatch):
    instance_b = RedisCache(shared_redis.url, {})  # another instance's own client and pool
    verified, now = a_jti(), int(time.time())
    assert client_assertions.use_jti(verified, now=now) is True
    monkeypatch.setattr(client_assertions, "caches", {"default": instance_b})
    assert client_assertions.use_jti(verified, now=now) is False
    assert not UsedClientAssertion.objects.exists()  # the cache answered: no row


def test_with_the_cache_down_the_database_remembers(settings, db, monkeypatch):
    settings.CACHES = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0",
                                   "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2}}}
    verified, now = a_jti(), int(time.time())
    try:
        assert client_assertions.use_jti(verified, now=now) is True
        assert client_assertions.use_jti(verified, now=now) is False  # fails closed, not open
        assert UsedClientAssertion.objects.count() == 1
    finally:
        forget_shared_cache_outage()


def test_without_a_shared_cache_the_database_remembers_and_cleartokens_forgets(db, without_shared_cache):
    verified, now = a_jti(exp_in=10), int(time.time())
    assert client_assertions.use_jti(verified, now=now) is True
    assert client_assertions.use_jti(verified, now=now) is False
    row = UsedClientAssertion.objects.get()
    assert row.expires_at > timezone.now()
    clear_tokens(now=timezone.now() + timezone.timedelta(minutes=5))
    assert not UsedClientAssertion.objects.exists()


def test_a_jti_is_usable_again_once_its_assertion_expired(db, without_shared_cache):
    first, now = a_jti(exp_in=10), int(time.time())
    assert client_assertions.use_jti(first, now=now) is True
    later = now + 120  # past exp + skew: the earlier assertion can no longer be replayed
    again = VerifiedAssertion(client_id=first.client_id, jti=first.jti, exp=later + 60)
    assert client_assertions.use_jti(again, now=later) is True
    assert client_assertions.use_jti(again, now=later) is False


def test_two_processes_accept_a_jti_once(shared_redis):
    """Two interpreters, each with its own connection to the shared Redis, race on one jti; exactly one wins."""
    jti = str(uuid.uuid4())
    script = textwrap.dedent(f"""
        import os, time, django
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oauthserver.settings")
        django.setup()
        from clients.client_assertions import use_jti
        from tokens.protocol.client_assertion import VerifiedAssertion
        now = int(time.time())
        print(use_jti(VerifiedAssertion(client_id="client", jti={jti!r}, exp=now + 60), now=now))
    """)
    root = Path(__file__).resolve().parents[2]
    environment = {**os.environ, "REDIS_URL": shared_redis.url}
    runs = [subprocess.Popen([sys.executable, "-c", script], cwd=root, stdout=subprocess.PIPE, text=True,
                             env=environment) for _ in range(2)]
    answers = sorted(run.communicate(timeout=60)[0].strip().splitlines()[-1] for run in runs)
    assert answers == ["False", "True"]
