"""Shared by the admin tests."""

from tests.portal.conftest import fast_password_hashing  # noqa: F401 (autouse)
