"""A schemathesis run against a live server, from the OpenAPI 3 description at /api/schema/.

Schemathesis generates requests from the schema (valid and invalid bodies, query strings, headers)
and checks that no answer is a server error and every answer matches the schema: documented
status, content type, headers and body.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from clients.services import create_application, generate_keys
from tests.conftest import basic_auth
from tests.endpoints.test_openapi import CHECKS


@pytest.fixture
def known_client(transactional_db):
    application = create_application(name="fuzz", scopes="read write", default_scopes="read", create_missing_scopes=True, is_resource_server=True)
    keys = generate_keys(application=application)
    return basic_auth(keys.client_id, keys.client_secret)


@pytest.mark.django_db(transaction=True)
def test_the_live_server_honours_its_schema(live_server, known_client, settings):
    # Lazy pytest loading (schemathesis.pytest.from_fixture) breaks on pytest 9, so each operation's
    # strategy is driven here; the example count keeps the run at a few seconds.
    settings.OAUTH_LOCKOUT_THRESHOLD = 0  # nearly every generated request fails authentication
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {operation.path for operation in operations} >= {"/oauth/token", "/oauth/introspect", "/oauth/revoke", "/healthz"}
    seen = set()
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
        )
        def honours_schema(case):
            seen.add((case.path, case.call_and_validate(checks=CHECKS).status_code))
            if case.method == "POST":
                # The same request as a registered client, so that successful answers are checked too.
                response = case.call_and_validate(checks=CHECKS, headers={"Authorization": known_client})
                seen.add((case.path, response.status_code))

        honours_schema()
    assert {("/oauth/token", 200), ("/oauth/token", 400), ("/oauth/token", 401)} <= seen, seen
    assert {("/oauth/introspect", 200), ("/oauth/revoke", 200), ("/api/hello", 401)} <= seen, seen
