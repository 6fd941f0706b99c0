"""Fixtures of the live tests."""

import pytest

from .instances import shared_setup


@pytest.fixture(scope="module")
def setup():
    """A migrated database of the test module's own, default settings, and the instances it starts."""
    with shared_setup() as shared:
        yield shared
