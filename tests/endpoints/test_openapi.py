"""The OpenAPI 3 description at /api/schema/, and a schemathesis run against a live server.

Schemathesis generates requests from the schema (valid and invalid bodies, query strings, headers)
and checks that no answer is a server error and every answer matches the schema: documented
status, content type, headers and body.
"""

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from clients.services import create_application, generate_keys
from tests.conftest import basic_auth

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_the_schema_describes_the_public_endpoints(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    document = yaml.safe_load(response.content)
    assert document["openapi"].startswith("3.")
    assert {"/oauth/token", "/.well-known/jwks.json", "/.well-known/oauth-authorization-server", "/healthz"} <= set(
        document["paths"]
    )
    token = document["paths"]["/oauth/token"]["post"]
    assert set(token["requestBody"]["content"]) == {"application/x-www-form-urlencoded", "application/json"}
    assert {"200", "400", "401", "413", "429"} <= set(token["responses"])
    assert set(token["responses"]["200"]["content"]) == {
        "application/json",
        "application/x-www-form-urlencoded",
        "application/xml",
    }
    assert document["components"]["securitySchemes"]["clientSecretBasic"]["scheme"] == "basic"


@pytest.mark.parametrize(
    "accept, content_type",
    [
        ("", "application/vnd.oai.openapi; charset=utf-8"),
        ("application/vnd.oai.openapi;q=0.1, application/json", "application/json"),
        ("application/json;q=0, */*", "application/vnd.oai.openapi; charset=utf-8"),
        ("application/*;q=0.5, application/yaml;q=0.5", "application/yaml; charset=utf-8"),
        ("application/yaml, application/json", "application/yaml; charset=utf-8"),  # equal: the view's order
        ("text/html", "application/vnd.oai.openapi; charset=utf-8"),  # nothing acceptable: the first, not 406
    ],
)
def test_the_schema_format_follows_accept_q_values(client, accept, content_type):
    response = client.get("/api/schema/", HTTP_ACCEPT=accept)
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert yaml.safe_load(response.content)["openapi"].startswith("3.")  # YAML reads JSON too


def test_the_schema_keeps_drf_indent_parameter(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json; indent=2, application/yaml;q=0.5")
    assert response["Content-Type"] == "application/json"
    assert response.content.startswith(b'{\n  "openapi"')


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
