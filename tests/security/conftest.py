"""Shared by the security tests."""

import pytest


@pytest.fixture
def small_lockout(settings):
    """Lock out after 3 failures for 60 seconds, so tests stay short."""
    settings.OAUTH_LOCKOUT_THRESHOLD = 3
    settings.OAUTH_LOCKOUT_WINDOW = 60
