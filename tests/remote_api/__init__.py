"""A separate API project, as a team would write one: it protects its views with ``resource_server`` alone.

No app of the authorization server installed, no database, no key-encryption key; configured by
environment variables (``settings.py``) so that tests and ``make bench`` can serve it in each mode.
"""
