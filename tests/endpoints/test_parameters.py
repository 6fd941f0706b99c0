"""RFC 6749 §3.1/§3.2 on every OAuth endpoint: each parameter at most once, body and query together.

Only ``format`` is read from a query string; credentials and tokens there are ignored. RFC 8707
§2: ``resource`` is the one parameter that may be given several times.
"""

import json
import xml.etree.ElementTree as ET
from urllib.parse import parse_qsl, urlencode

import pytest

from tests.conftest import basic_auth, is_revoked, issued_count
from clients.models import Application
from clients.registry import forget_clients
from tokens.models import AccessToken
from tokens.services import validate_access_token

ENDPOINTS = ["/oauth/token", "/oauth/introspect", "/oauth/revoke"]
MEDIA_TYPES = {"json": "application/json", "xml": "application/xml", "urlencoded": "application/x-www-form-urlencoded"}


@pytest.fixture
def send(api_client, caller):
    """POST (name, value) pairs as a form or as a JSON object (repeats kept), Basic by default."""

    def post(path: str, pairs: list[tuple[str, str]], *, query: str = "", kind: str = "form", accept: str = "", auth=True):
        if kind == "json":  # an object with repeated keys, as a careless client may write it
            content_type = "application/json"
            body = "{" + ", ".join(f"{json.dumps(name)}: {json.dumps(value)}" for name, value in pairs) + "}"
        else:
            content_type, body = "application/x-www-form-urlencoded", urlencode(pairs)
        headers = {"HTTP_ACCEPT": accept} if accept else {}
        if auth:
            headers["HTTP_AUTHORIZATION"] = basic_auth(caller.client_id, caller.client_secret)
        url = f"{path}?{query}" if query else path
        return api_client.generic("POST", url, body.encode() if pairs else b"", content_type=content_type, **headers)

    return post


def valid_fields(path: str, token: str) -> list[tuple[str, str]]:
    return [("grant_type", "client_credentials")] if path == "/oauth/token" else [("token", token)]


def answer_of(response) -> dict[str, str]:
    """The body by its Content-Type: JSON, form-urlencoded or the ``<oauth>`` XML document."""
    media_type = response["Content-Type"].split(";")[0]
    if media_type == MEDIA_TYPES["json"]:
        return response.json()
    if media_type == MEDIA_TYPES["urlencoded"]:
        return dict(parse_qsl(response.content.decode("ascii")))
    assert media_type == MEDIA_TYPES["xml"], media_type
    root = ET.fromstring(response.content)
    assert root.tag == "oauth"
    return {child.tag: child.text or "" for child in root}


def assert_refused_for_repeating(response, name: str, media_type: str, tokens_before: int) -> None:
    """400 invalid_request naming the parameter, in the media type expected; nothing issued or revoked."""
    assert response.status_code == 400, response.content
    assert response["Content-Type"].split(";")[0] == media_type
    assert response["Cache-Control"] == "no-store"
    answer = answer_of(response)
    assert answer["error"] == "invalid_request"
    assert name in answer["error_description"] and "more than once" in answer["error_description"]
    assert issued_count() == tokens_before
    assert not AccessToken.objects.filter(revoked_at__isnull=False).exists()


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize(
    "query", ["format=xml&format=json", "format=json&format=json", "format=&format=urlencoded", "format=xml&x=1&format=xml"]
)
def test_format_twice_in_the_query_string_is_invalid_request_in_json(send, token, path, query):
    response = send(path, valid_fields(path, token), query=query)
    assert_refused_for_repeating(response, "format", MEDIA_TYPES["json"], tokens_before=1)


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("kind", ["form", "json"])
@pytest.mark.parametrize(("in_query", "in_body"), [("xml", "json"), ("json", "json"), ("urlencoded", "")])
def test_format_in_the_query_string_and_in_the_body_is_invalid_request(send, token, path, kind, in_query, in_body):
    response = send(path, [*valid_fields(path, token), ("format", in_body)], query=f"format={in_query}", kind=kind)
    assert_refused_for_repeating(response, "format", MEDIA_TYPES["json"], tokens_before=1)


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("answer_format", MEDIA_TYPES)
def test_a_repeated_format_is_answered_as_accept_asks(send, token, path, answer_format):
    # A repeated format names no format at all, so Accept decides, as for an unknown format.
    pairs = [*valid_fields(path, token), ("format", "xml")]
    response = send(path, pairs, query="format=urlencoded", accept=MEDIA_TYPES[answer_format])
    assert_refused_for_repeating(response, "format", MEDIA_TYPES[answer_format], tokens_before=1)


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("kind", ["form", "json"])
@pytest.mark.parametrize("answer_format", MEDIA_TYPES)
@pytest.mark.parametrize("format_in", ["body", "query"])
def test_a_parameter_twice_in_the_body_is_invalid_request_in_the_format_asked(
    send, token, path, kind, answer_format, format_in
):
    fields = valid_fields(path, token)
    pairs = [*fields, *fields] + ([("format", answer_format)] if format_in == "body" else [])
    query = f"format={answer_format}" if format_in == "query" else ""
    response = send(path, pairs, query=query, kind=kind)
    assert_refused_for_repeating(response, fields[0][0], MEDIA_TYPES[answer_format], tokens_before=1)


@pytest.mark.parametrize("kind", ["form", "json"])
def test_body_credentials_given_twice_are_invalid_request(send, caller, kind):
    credentials = [("client_id", caller.client_id), ("client_secret", caller.client_secret)]
    pairs = [("grant_type", "client_credentials"), *credentials, ("client_secret", caller.client_secret)]
    response = send("/oauth/token", pairs, kind=kind, auth=False)
    assert_refused_for_repeating(response, "client_secret", MEDIA_TYPES["json"], tokens_before=0)
    assert caller.client_secret not in response.content.decode()


@pytest.mark.parametrize("kind", ["form", "json"])
def test_resource_may_be_given_several_times_at_the_token_endpoint(send, caller, kind):
    Application.objects.filter(key_pairs__client_id=caller.client_id).update(
        audiences="https://api.example.com https://files.example.com")
    forget_clients()
    resources = [("resource", "https://api.example.com"), ("resource", "https://files.example.com")]
    response = send("/oauth/token", [("grant_type", "client_credentials"), *resources], kind=kind)
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "Bearer"
    assert issued_count() == 1
    assert validate_access_token(response.json()["access_token"], audiences=["https://files.example.com"]).aud == (
        "https://api.example.com", "https://files.example.com")


def test_resource_given_several_times_is_no_error_at_introspection_and_revocation(send, token):
    resources = [("resource", "https://api.example.com"), ("resource", "https://files.example.com")]
    introspected = send("/oauth/introspect", [("token", token), *resources])
    assert introspected.status_code == 200 and introspected.json()["active"] is True
    revoked = send("/oauth/revoke", [("token", token), *resources])
    assert revoked.status_code == 200 and revoked.content == b""
    assert is_revoked(token)


# Only format is read from a query string (STYLE: no tokens in query strings).


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("answer_format", ["xml", "urlencoded"])
def test_format_in_the_query_string_is_honoured_on_every_endpoint(api_client, caller, path, answer_format):
    response = api_client.post(
        f"{path}?format={answer_format}", "token=x&grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded", HTTP_AUTHORIZATION=basic_auth(caller.client_id, "wrong"),
    )
    assert response.status_code == 401
    assert response["Content-Type"].split(";")[0] == MEDIA_TYPES[answer_format]
    assert answer_of(response)["error"] == "invalid_client"


def test_client_credentials_in_the_query_string_are_ignored(send, caller):
    query = urlencode({"client_id": caller.client_id, "client_secret": caller.client_secret})
    response = send("/oauth/token", [("grant_type", "client_credentials")], query=query, auth=False)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response["WWW-Authenticate"] == 'Basic realm="oauth"'
    assert issued_count() == 0


def test_a_client_secret_in_the_query_string_is_no_second_authentication_method(send, caller):
    # Ignored like any unknown parameter: Basic alone authenticates, so this is not "two methods".
    query = urlencode({"client_id": caller.client_id, "client_secret": "anything"})
    response = send("/oauth/token", [("grant_type", "client_credentials")], query=query)
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "Bearer"


def test_the_grant_type_in_the_query_string_is_ignored(send):
    response = send("/oauth/token", [], query="grant_type=client_credentials")
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": "The grant_type parameter is required."}
    assert issued_count() == 0


@pytest.mark.parametrize("path", ["/oauth/introspect", "/oauth/revoke"])
def test_a_token_in_the_query_string_is_ignored(send, token, path):
    response = send(path, [], query=urlencode({"token": token}))
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": "The token parameter is required."}
    assert token not in response.content.decode()
    assert not is_revoked(token)
    assert send("/oauth/introspect", [("token", token)]).json()["active"] is True


@pytest.mark.parametrize("path", ENDPOINTS)
def test_parameters_repeated_in_the_query_string_other_than_format_are_ignored(send, token, path):
    query = "scope=admin&scope=read&token=a&token=b&grant_type=x&grant_type=y&client_secret=1&client_secret=2"
    response = send(path, valid_fields(path, token), query=query)
    assert response.status_code == 200, response.content
    if path == "/oauth/token":
        assert response.json()["scope"] == "read"  # the default: the query's scope was not read
    if path == "/oauth/introspect":
        assert response.json()["active"] is True


def test_a_query_string_of_many_fields_is_still_read_for_format(send):
    # More fields than Django's DATA_UPLOAD_MAX_NUMBER_FIELDS (1000) made request.GET raise.
    response = send("/oauth/token", [("grant_type", "client_credentials")], query="x&" * 1500 + "format=xml")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].split(";")[0] == MEDIA_TYPES["xml"]
    assert answer_of(response)["token_type"] == "Bearer"
