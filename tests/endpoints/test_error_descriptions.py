"""RFC 6749 §5.2: ``error_description`` holds only %x20-21 / %x23-5B / %x5D-7E on every endpoint.

Input a client sent and the server echoes (a grant type, a parameter name, the HTTP method) keeps
its allowed characters; each other character shows as one ``?``, in JSON, urlencoded and XML alike.
"""

import json
import re
import xml.etree.ElementTree as ET
from urllib.parse import parse_qsl, urlencode

import pytest

from tests.conftest import basic_auth

ALLOWED = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")
ENDPOINTS = ["/oauth/token", "/oauth/introspect", "/oauth/revoke"]
FORMATS = ["json", "urlencoded", "xml"]

# A quote, a backslash, a non-ASCII letter, a line separator and a control character.
HOSTILE = 'x"y\\z\u00e9\u2028\x01'
ESCAPED = "x?y?z???"


def read_error(response, response_format: str) -> dict[str, str]:
    """The error body, parsed as the format asked for (which the Content-Type must confirm)."""
    media_type = response["Content-Type"].split(";")[0]
    if response_format == "json":
        assert media_type == "application/json"
        return json.loads(response.content)
    if response_format == "urlencoded":
        assert media_type == "application/x-www-form-urlencoded"
        return dict(parse_qsl(response.content.decode("ascii")))
    assert media_type == "application/xml"
    return {child.tag: child.text or "" for child in ET.fromstring(response.content)}


def assert_description(response, response_format: str, status: int, error: str, description: str) -> None:
    assert response.status_code == status, response.content
    body = read_error(response, response_format)
    assert ALLOWED.fullmatch(body["error_description"]), body
    assert body == {"error": error, "error_description": description}


@pytest.fixture
def caller(make_keys):
    return make_keys(is_resource_server=True)


def post(api_client, path: str, response_format: str, body: bytes | str, content_type: str, keys=None):
    headers = {"HTTP_AUTHORIZATION": basic_auth(keys.client_id, keys.client_secret)} if keys else {}
    return api_client.generic("POST", f"{path}?format={response_format}", body, content_type=content_type, **headers)


@pytest.mark.parametrize("response_format", FORMATS)
def test_an_unsupported_grant_type_is_echoed_in_allowed_characters(api_client, caller, response_format):
    body = urlencode({"grant_type": HOSTILE})
    response = post(api_client, "/oauth/token", response_format, body, "application/x-www-form-urlencoded", caller)
    assert_description(
        response, response_format, 400, "unsupported_grant_type", f"The grant type '{ESCAPED}' is not supported."
    )


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("response_format", FORMATS)
def test_a_repeated_parameter_name_is_echoed_in_allowed_characters(api_client, caller, path, response_format):
    body = urlencode([(HOSTILE, "a"), (HOSTILE, "b")])
    response = post(api_client, path, response_format, body, "application/x-www-form-urlencoded", caller)
    assert_description(
        response, response_format, 400, "invalid_request", f"The parameter '{ESCAPED}' is given more than once."
    )


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("response_format", FORMATS)
def test_a_json_parameter_that_is_not_text_is_named_in_allowed_characters(api_client, caller, path, response_format):
    body = json.dumps({HOSTILE: {"nested": True}})
    response = post(api_client, path, response_format, body, "application/json", caller)
    assert_description(response, response_format, 400, "invalid_request", f"The parameter '{ESCAPED}' must be a string.")


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("response_format", FORMATS)
def test_a_lone_surrogate_in_a_json_name_is_echoed_as_a_question_mark(api_client, caller, path, response_format):
    body = '{"a\\ud800b": "\\udfff"}'  # JSON escapes that decode to lone surrogates
    response = post(api_client, path, response_format, body, "application/json", caller)
    assert_description(response, response_format, 400, "invalid_request", "The parameter 'a?b' is not valid Unicode text.")


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("response_format", FORMATS)
@pytest.mark.parametrize(("method", "shown"), [("GET", "GET"), ('GE"T\\\u00e9\x01', "GE?T???")])
def test_the_method_of_a_405_is_named_in_allowed_characters(api_client, db, path, response_format, method, shown):
    response = api_client.generic(method, f"{path}?format={response_format}")
    assert_description(response, response_format, 405, "invalid_request", f"Method '{shown}' not allowed.")
    assert response["Allow"] == "POST"


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("response_format", FORMATS)
def test_hostile_credentials_are_never_echoed(api_client, caller, path, response_format):
    headers = {"HTTP_AUTHORIZATION": basic_auth(HOSTILE, HOSTILE)}
    body = urlencode({"grant_type": "client_credentials", "token": "x"})
    response = api_client.post(
        f"{path}?format={response_format}", body, content_type="application/x-www-form-urlencoded", **headers
    )
    assert_description(response, response_format, 401, "invalid_client", "Client authentication failed.")
