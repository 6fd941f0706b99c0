"""private_key_jwt at introspection (RFC 7662 §2.1) and revocation (RFC 7009 §2.1): each accepts its own URL as aud."""

import pytest

from clients.models import KeyPair

from .conftest import ISSUER


@pytest.fixture
def signed_resource_server(make_signer, register):
    signer = make_signer("RS256")
    return signer, register(signer, name="gateway", is_resource_server=True)


def a_token(signer, client_id, post_assertion) -> str:
    response = post_assertion(signer.assertion(client_id))
    assert response.status_code == 200
    return response.json()["access_token"]


@pytest.mark.parametrize("audience", [f"{ISSUER}/oauth/introspect", f"{ISSUER}/oauth/token", ISSUER])
def test_introspection_with_an_assertion(audience, signed_resource_server, post_assertion):
    signer, client_id = signed_resource_server
    token = a_token(signer, client_id, post_assertion)
    response = post_assertion(signer.assertion(client_id, audience=audience), path="/oauth/introspect", token=token)
    assert response.status_code == 200
    assert response.json()["active"] is True and response.json()["client_id"] == client_id


def test_introspection_refuses_the_revocation_url_as_aud(signed_resource_server, post_assertion):
    signer, client_id = signed_resource_server
    token = a_token(signer, client_id, post_assertion)
    response = post_assertion(signer.assertion(client_id, audience=f"{ISSUER}/oauth/revoke"),
                              path="/oauth/introspect", token=token)
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


def test_revocation_with_an_assertion(signed_resource_server, post_assertion):
    signer, client_id = signed_resource_server
    token = a_token(signer, client_id, post_assertion)
    revoked = post_assertion(signer.assertion(client_id, audience=f"{ISSUER}/oauth/revoke"), path="/oauth/revoke", token=token)
    assert (revoked.status_code, revoked.content) == (200, b"")
    answer = post_assertion(signer.assertion(client_id), path="/oauth/introspect", token=token).json()
    assert answer == {"active": False}


def test_revocation_with_a_replayed_assertion_is_invalid_client(signed_resource_server, post_assertion):
    signer, client_id = signed_resource_server
    token = a_token(signer, client_id, post_assertion)
    assertion = signer.assertion(client_id, audience=f"{ISSUER}/oauth/revoke")
    assert post_assertion(assertion, path="/oauth/revoke", token=token).status_code == 200
    again = post_assertion(assertion, path="/oauth/revoke", token=token)
    assert (again.status_code, again.json()["error"]) == (401, "invalid_client")
    assert KeyPair.objects.filter(client_id=client_id).exists()
