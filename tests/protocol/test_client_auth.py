"""RFC 6749 §2.3.1: client credentials from HTTP Basic (form-urlencoded, then base64) or the body."""

import base64

import pytest

from tests.conftest import basic_auth
from tokens.protocol.client_auth import parse_basic_authorization, read_client_credentials
from tokens.protocol.errors import InvalidClient, InvalidRequest


def test_basic_credentials_are_urldecoded_after_base64():
    header = basic_auth("my client:1", "s3cr+t/with%=:colon")
    assert parse_basic_authorization(header) == ("my client:1", "s3cr+t/with%=:colon")


def test_basic_scheme_is_case_insensitive():
    header = "basic " + base64.b64encode(b"abc:def").decode()
    assert parse_basic_authorization(header) == ("abc", "def")


def test_plus_in_basic_credentials_decodes_to_space():
    header = "Basic " + base64.b64encode(b"a+b:c%2Bd").decode()
    assert parse_basic_authorization(header) == ("a b", "c+d")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer abc",
        "Basic",
        "Basic !!!notbase64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
    ],
)
def test_malformed_basic_header_is_invalid_client(header):
    with pytest.raises(InvalidClient) as caught:
        parse_basic_authorization(header)
    assert caught.value.status_code == 401
    assert caught.value.headers == {"WWW-Authenticate": 'Basic realm="oauth"'}


def test_body_credentials_are_client_secret_post():
    credentials = read_client_credentials(authorization=None, params={"client_id": "a", "client_secret": "b"})
    assert (credentials.client_id, credentials.client_secret, credentials.method) == ("a", "b", "client_secret_post")


def test_basic_credentials_are_client_secret_basic():
    credentials = read_client_credentials(authorization=basic_auth("a", "b"), params={})
    assert credentials.method == "client_secret_basic"


def test_two_methods_at_once_is_invalid_request():
    with pytest.raises(InvalidRequest, match="one client authentication method"):
        read_client_credentials(authorization=basic_auth("a", "b"), params={"client_secret": "b"})


def test_body_client_id_that_differs_from_basic_is_invalid_request():
    with pytest.raises(InvalidRequest):
        read_client_credentials(authorization=basic_auth("a", "b"), params={"client_id": "other"})


def test_body_client_id_repeating_basic_is_accepted():
    credentials = read_client_credentials(authorization=basic_auth("a", "b"), params={"client_id": "a"})
    assert credentials.client_id == "a"


@pytest.mark.parametrize("params", [{}, {"client_id": "a"}, {"client_secret": "b"}])
def test_missing_credentials_are_invalid_client(params):
    with pytest.raises(InvalidClient):
        read_client_credentials(authorization=None, params=params)


@pytest.mark.parametrize("params", [{}, {"client_id": "a"}])
def test_no_client_authentication_at_all_is_challenged_with_basic(params):
    # §5.2: a client that sent no credentials learns which scheme to use.
    with pytest.raises(InvalidClient) as caught:
        read_client_credentials(authorization=None, params=params)
    assert caught.value.method == "none"
    assert caught.value.headers == {"WWW-Authenticate": 'Basic realm="oauth"'}


def test_a_body_secret_without_a_client_id_is_not_challenged():
    # The client chose body authentication (client_secret_post): a Basic challenge would mislead it.
    with pytest.raises(InvalidClient) as caught:
        read_client_credentials(authorization=None, params={"client_secret": "b"})
    assert caught.value.method == "client_secret_post"
    assert caught.value.status_code == 401
    assert caught.value.headers == {}


def test_repr_never_shows_the_secret():
    credentials = read_client_credentials(authorization=None, params={"client_id": "a", "client_secret": "hunter2"})
    assert "hunter2" not in repr(credentials)
