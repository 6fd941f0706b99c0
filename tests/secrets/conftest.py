"""Fixtures of the secrets' tests: a clock for expiry, and keys with their key pair."""

import time

import pytest

from clients import services
from clients.models import KeyPair


@pytest.fixture
def clock(monkeypatch):
    """The authentication clock (seconds since the epoch), starting now; move it with ``clock.advance(s)``."""

    class Clock:
        def __init__(self) -> None:
            self.now = time.time()

        def advance(self, seconds: float) -> None:
            self.now += seconds

    clock = Clock()
    monkeypatch.setattr(services, "clock", lambda: clock.now)
    return clock


def key_pair_of(keys) -> KeyPair:
    return KeyPair.objects.select_related("application").get(client_id=keys.client_id)
