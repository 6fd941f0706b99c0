"""RFC 9110 §12.5.1 on the OAuth endpoints: ``Accept`` q-values choose the format of answers and errors.

``format`` first, then ``Accept`` with its q-values, else JSON (CONTRACT.md, "Token response" and
"Errors"); never a 406 and never a 500, whatever the header holds.
"""

import json
import xml.etree.ElementTree as ET
from urllib.parse import parse_qsl, urlencode

import pytest

from tests.conftest import basic_auth

JSON, FORM, XML = "application/json", "application/x-www-form-urlencoded", "application/xml"

Q_VALUES = [
    ("application/xml;q=0.1, application/json;q=1.0", JSON),
    ("application/json;q=0.1, application/xml", XML),
    ("application/json;q=0.2, application/x-www-form-urlencoded;q=0.3, application/xml;q=0.25", FORM),
    ("application/xml;q=0, */*", JSON),
    ("application/json;q=0, */*", FORM),
    ("application/json;q=0, application/x-www-form-urlencoded;q=0, */*;q=0.1", XML),
    ("application/xml, application/x-www-form-urlencoded", FORM),  # equal: the server's order
    ("application/json;q=0", JSON),  # nothing acceptable: JSON rather than 406
    ('application/json;q=0.5, application/xml;foo="a,b";q=0.1', JSON),  # a quoted comma ends no range
]


def read(response) -> dict[str, str]:
    """The body parsed by its Content-Type (one of the three formats)."""
    media_type = response["Content-Type"].split(";")[0]
    if media_type == JSON:
        return json.loads(response.content)
    if media_type == FORM:
        return dict(parse_qsl(response.content.decode("ascii")))
    root = ET.fromstring(response.content)
    assert root.tag == "oauth"
    return {child.tag: child.text for child in root}


def post(api_client, path: str, fields: dict[str, str], accept: str, keys=None):
    headers = {"HTTP_ACCEPT": accept}
    if keys is not None:
        headers["HTTP_AUTHORIZATION"] = basic_auth(keys.client_id, keys.client_secret)
    return api_client.post(path, urlencode(fields), content_type=FORM, **headers)


@pytest.mark.parametrize("accept, media_type", Q_VALUES)
def test_token_response_follows_accept_q_values(make_keys, api_client, accept, media_type):
    response = post(api_client, "/oauth/token", {"grant_type": "client_credentials"}, accept, make_keys())
    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == media_type
    answer = read(response)
    assert answer["token_type"] == "Bearer" and answer["scope"] == "read"
    assert "Accept" in response["Vary"].split(", ")


@pytest.mark.parametrize("accept, media_type", Q_VALUES)
@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/introspect", "/oauth/revoke"])
def test_errors_follow_accept_q_values(db, api_client, path, accept, media_type):
    response = post(api_client, path, {"grant_type": "client_credentials", "token": "x"}, accept)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="oauth"'
    assert response["Content-Type"].split(";")[0] == media_type
    assert read(response)["error"] == "invalid_client"


@pytest.mark.parametrize("accept, media_type", Q_VALUES)
def test_method_not_allowed_follows_accept_q_values(api_client, accept, media_type):
    response = api_client.get("/oauth/introspect", HTTP_ACCEPT=accept)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response["Content-Type"].split(";")[0] == media_type
    assert read(response)["error"] == "invalid_request"


def test_introspection_answer_follows_accept_q_values(make_keys, make_application, api_client):
    token = read(post(api_client, "/oauth/token", {"grant_type": "client_credentials"}, JSON, make_keys()))["access_token"]
    gateway = make_keys(make_application("gateway", is_resource_server=True))
    response = post(api_client, "/oauth/introspect", {"token": token}, "application/json;q=0.5, application/xml", gateway)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml; charset=utf-8"
    assert read(response)["active"] == "true"


def test_format_parameter_beats_a_q_valued_accept(make_keys, api_client):
    fields = {"grant_type": "client_credentials", "format": "urlencoded"}
    response = post(api_client, "/oauth/token", fields, "application/x-www-form-urlencoded;q=0, application/xml", make_keys())
    assert response.status_code == 200
    assert response["Content-Type"] == FORM
    assert read(response)["token_type"] == "Bearer"


@pytest.mark.parametrize(
    "accept, media_type",
    [
        ("application/xml;q=abc", JSON),
        ("application/xml;q=1e400", JSON),
        ("application/xml;q=-1, application/x-www-form-urlencoded;q=0.5", FORM),
        ("application/xml; q*=bogus''1", JSON),
        (",,, ;;; ,", JSON),
        ("application/xml;q=0.5;" + "a=b;" * 5000, JSON),
        (", ".join(["text/html;q=0.5"] * 500 + ["application/xml"]), JSON),
    ],
)
def test_malformed_accept_headers_answer_in_json_not_500(db, api_client, accept, media_type):
    response = post(api_client, "/oauth/token", {"grant_type": "client_credentials"}, accept)
    assert response.status_code == 401
    assert response["Content-Type"].split(";")[0] == media_type
    assert read(response)["error"] == "invalid_client"
