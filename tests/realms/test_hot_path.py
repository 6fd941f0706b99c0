"""A warm token request at a realm's endpoint costs what one at the default realm's does (issue 14, issue 12).

The realm is looked up in the process's copy of the realms (``clients.realms``), its keys in its
own ``KeyStore``: once warm, a JWT token request at ``/realms/alpha/oauth/token`` asks the
database nothing, as ``tests/endpoints/test_hot_path.py`` checks for the default realm's.
"""

import jwt

from tests.conftest import issued_count
from tokens import keystore
from tokens.keystore import key_store_for

from .conftest import JWKS, TOKEN, hello, post_form


def test_a_warm_jwt_request_at_a_realm_costs_no_query(
    flushed_later, make_realm, api_client, django_assert_max_num_queries
):
    alpha = make_realm("alpha", token_format="jwt")
    warm = post_form(api_client, alpha.url(TOKEN), alpha.client, grant_type="client_credentials")
    assert warm.status_code == 200  # this process now knows the realm, the client and the realm's key
    with django_assert_max_num_queries(0):
        response = post_form(api_client, alpha.url(TOKEN), alpha.client, grant_type="client_credentials")
    assert response.status_code == 200
    token = response.json()["access_token"]
    kid = jwt.get_unverified_header(token)["kid"]
    claims = jwt.decode(token, key_store_for("alpha").find(kid).public_key, algorithms=["RS256"],
                        options={"verify_aud": False})
    assert (claims["iss"], claims["client_id"]) == (alpha.issuer, alpha.client.client_id)
    assert kid in {key["kid"] for key in api_client.get(alpha.url(JWKS)).json()["keys"]}
    assert issued_count() == 2


def test_a_warm_hello_with_a_realms_jwt_costs_no_query(make_realm, api_client, django_assert_max_num_queries):
    alpha = make_realm("alpha", token_format="jwt")
    token = post_form(api_client, alpha.url(TOKEN), alpha.client, grant_type="client_credentials").json()["access_token"]
    assert hello(api_client, token).status_code == 200
    with django_assert_max_num_queries(0):
        response = hello(api_client, token)
    assert (response.status_code, response.json()["client_id"]) == (200, alpha.client.client_id)


def test_an_unknown_realm_in_a_url_costs_no_query_once_the_realms_are_known(
    make_realm, api_client, django_assert_max_num_queries
):
    make_realm("alpha")
    assert api_client.get(f"/realms/alpha{JWKS}").status_code == 200
    with django_assert_max_num_queries(0):
        answers = [api_client.get(f"/realms/made-up-{n}{JWKS}") for n in range(20)]
    assert {answer.status_code for answer in answers} == {404}
    assert answers[0].json() == {"error": "invalid_request", "error_description": "No such realm."}
    # Nor any memory: key stores are made for realms that exist, never for a name in a URL.
    assert not [name for name in keystore._key_stores if name.startswith("made-up-")]
