"""Token response formats: `format` (body, then query), then `Accept`, else JSON (CONTRACT.md)."""

import xml.etree.ElementTree as ET
from urllib.parse import parse_qs

import pytest

from tests.conftest import basic_auth


def post(api_client, keys, body: str, path: str = "/oauth/token", **headers):
    return api_client.post(
        path, body, content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic_auth(keys.client_id, keys.client_secret), **headers,
    )


def test_xml_format_in_body(make_keys, api_client):
    response = post(api_client, make_keys(), "grant_type=client_credentials&format=xml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "oauth"
    assert [child.tag for child in root] == ["access_token", "token_type", "expires_in", "scope"]
    assert root.findtext("token_type") == "Bearer"
    assert root.findtext("expires_in") == "3600"


def test_urlencoded_format_in_query_string(make_keys, api_client):
    response = post(api_client, make_keys(), "grant_type=client_credentials", path="/oauth/token?format=urlencoded")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-www-form-urlencoded"
    fields = parse_qs(response.content.decode())
    assert fields["token_type"] == ["Bearer"]
    assert fields["expires_in"] == ["3600"]
    assert fields["scope"] == ["read"]
    assert len(fields["access_token"][0]) > 100


@pytest.mark.parametrize(
    "accept, content_type",
    [
        ("application/xml", "application/xml"),
        ("application/x-www-form-urlencoded", "application/x-www-form-urlencoded"),
        ("text/html, application/xml;q=0.9", "application/xml"),
        ("application/json", "application/json"),
        ("text/html", "application/json"),
        ("*/*", "application/json"),
    ],
)
def test_accept_header_chooses_when_no_format(make_keys, api_client, accept, content_type):
    response = post(api_client, make_keys(), "grant_type=client_credentials", HTTP_ACCEPT=accept)
    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == content_type


def test_format_parameter_beats_accept(make_keys, api_client):
    response = post(api_client, make_keys(), "grant_type=client_credentials&format=json", HTTP_ACCEPT="application/xml")
    assert response["Content-Type"] == "application/json"
    assert response.json()["token_type"] == "Bearer"


def test_errors_come_in_the_requested_format_xml(make_keys, api_client):
    response = post(api_client, make_keys(), "grant_type=client_credentials&scope=admin&format=xml")
    assert response.status_code == 400
    root = ET.fromstring(response.content)
    assert root.findtext("error") == "invalid_scope"
    assert "admin" in root.findtext("error_description")


def test_errors_come_in_the_requested_format_urlencoded(make_keys, api_client):
    keys = make_keys()
    response = api_client.post(
        "/oauth/token?format=urlencoded", "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded", HTTP_AUTHORIZATION=basic_auth(keys.client_id, "bad"),
    )
    assert response.status_code == 401
    assert parse_qs(response.content.decode())["error"] == ["invalid_client"]
    assert response["WWW-Authenticate"] == 'Basic realm="oauth"'


def test_unknown_format_is_invalid_request_in_json(make_keys, api_client):
    response = post(api_client, make_keys(), "grant_type=client_credentials&format=yaml")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "format" in response.json()["error_description"]


def test_xml_escapes_values(make_keys, api_client):
    response = post(api_client, make_keys(), "grant_type=client_credentials&scope=<x>&format=xml")
    root = ET.fromstring(response.content)  # would raise if '<x>' were not escaped
    assert root.findtext("error") == "invalid_scope"
    assert "<x>" in root.findtext("error_description")
