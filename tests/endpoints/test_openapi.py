"""The OpenAPI 3 description at /api/schema/ (the schemathesis run against a live server is
e2e/test_openapi_live.py)."""

import pytest
import yaml
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

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
