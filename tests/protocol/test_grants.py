"""RFC 6749 §4.4 (client credentials grant), without HTTP."""

import pytest

from tokens.protocol.errors import InvalidRequest, InvalidScope, UnauthorizedClient, UnsupportedGrantType
from tokens.protocol.grants import (
    RegisteredClient,
    TokenPolicy,
    TokenRequest,
    build_token_response,
    grant_client_credentials,
    read_token_request,
)
from tokens.protocol.params import collect_params

POLICY = TokenPolicy(default_lifetime=3600, max_lifetime=86400, default_token_format="jwt")
CLIENT = RegisteredClient(
    client_id="abc",
    environment="production",
    allowed_scopes=frozenset({"read", "write"}),
    default_scopes=frozenset({"read"}),
    client_credentials_enabled=True,
    token_format="",
    lifetime=None,
)


def request(**params) -> TokenRequest:
    return read_token_request({"grant_type": "client_credentials", **params}, POLICY)


def test_missing_grant_type_is_invalid_request():
    with pytest.raises(InvalidRequest, match="grant_type"):
        read_token_request({}, POLICY)


def test_unknown_grant_type_is_unsupported():
    with pytest.raises(UnsupportedGrantType):
        read_token_request({"grant_type": "password"}, POLICY)


def test_an_echoed_grant_type_keeps_only_allowed_characters():
    with pytest.raises(UnsupportedGrantType) as caught:
        read_token_request({"grant_type": 'x"y\\z\u00e9\u2028'}, POLICY)
    assert caught.value.description == "The grant type 'x?y?z??' is not supported."


def test_an_echoed_parameter_name_keeps_only_allowed_characters():
    with pytest.raises(InvalidRequest) as caught:
        collect_params([('sc"o\\pe\u00e9', "a"), ('sc"o\\pe\u00e9', "b")])
    assert caught.value.description == "The parameter 'sc?o?pe?' is given more than once."


def test_grant_switched_off_server_wide_is_unsupported():
    policy = TokenPolicy(3600, 86400, "jwt", client_credentials_enabled=False)
    with pytest.raises(UnsupportedGrantType):
        read_token_request({"grant_type": "client_credentials"}, policy)


@pytest.mark.parametrize("value", ["0", "-5", "1.5", "ten", "\u0663"])
def test_validity_period_must_be_a_positive_integer(value):
    with pytest.raises(InvalidRequest, match="validity_period"):
        request(validity_period=value)


def test_unknown_format_is_invalid_request():
    with pytest.raises(InvalidRequest, match="format"):
        request(format="yaml")


def test_client_with_grant_switched_off_is_unauthorized_client():
    client = RegisteredClient(**{**_fields(CLIENT), "client_credentials_enabled": False})
    with pytest.raises(UnauthorizedClient):
        grant_client_credentials(request(), client, POLICY)


def test_lifetime_comes_from_request_then_client_then_server():
    client = RegisteredClient(**{**_fields(CLIENT), "lifetime": 600})
    assert grant_client_credentials(request(validity_period="60"), client, POLICY).lifetime == 60
    assert grant_client_credentials(request(), client, POLICY).lifetime == 600
    assert grant_client_credentials(request(), CLIENT, POLICY).lifetime == 3600


@pytest.mark.parametrize("value", ["86401", "9" * 5000])
def test_longer_validity_period_is_capped(value):
    assert grant_client_credentials(request(validity_period=value), CLIENT, POLICY).lifetime == 86400


def test_client_lifetime_is_capped_too():
    client = RegisteredClient(**{**_fields(CLIENT), "lifetime": 10**6})
    assert grant_client_credentials(request(), client, POLICY).lifetime == 86400


def test_token_format_from_client_else_server():
    opaque_client = RegisteredClient(**{**_fields(CLIENT), "token_format": "opaque"})
    assert grant_client_credentials(request(), opaque_client, POLICY).token_format == "opaque"
    assert grant_client_credentials(request(), CLIENT, POLICY).token_format == "jwt"


def test_scope_not_allowed_is_invalid_scope():
    with pytest.raises(InvalidScope):
        grant_client_credentials(request(scope="read admin"), CLIENT, POLICY)


def test_response_has_the_section_5_1_fields_and_no_refresh_token():
    grant = grant_client_credentials(request(scope="write read"), CLIENT, POLICY)
    body = build_token_response("tok", grant).as_dict()
    assert body == {"access_token": "tok", "token_type": "Bearer", "expires_in": 3600, "scope": "read write"}


def _fields(client: RegisteredClient) -> dict:
    return {name: getattr(client, name) for name in client.__slots__}
