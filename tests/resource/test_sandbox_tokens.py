"""Sandbox tokens (RFC 9068 §2.2 ``aud``): their own audience, refused by the DRF class unless a view opts in.

Production and sandbox keys share the issuer, the signing keys and the JWKS; the audience is what
tells their tokens apart, to this project's resource side and to any JOSE library.
"""

import jwt
import pytest
from django.conf import settings
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from api.views import MESSAGE
from resource_server.authentication import BearerTokenAuthentication
from resource_server.permissions import RequiredScopes

pytestmark = pytest.mark.django_db
factory = APIRequestFactory()


class Payments(APIView):
    """A production API: takes the defaults, so refuses sandbox tokens."""

    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [RequiredScopes]

    def get(self, request):
        return Response({"client_id": request.auth.client_id, "env": request.auth.env})


class PaymentsTestbed(Payments):
    accept_sandbox_tokens = True


def call(view, token: str):
    request = factory.get("/payments", HTTP_AUTHORIZATION=f"Bearer {token}")
    response = view.as_view()(request)
    response.render()
    return response


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_a_view_that_does_not_opt_in_refuses_sandbox_tokens(make_keys, issue, token_format):
    token = issue(keys=make_keys(token_format=token_format, environment="sandbox"))
    response = call(Payments, token)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", error="invalid_token", '
        'error_description="Sandbox tokens are not accepted by this resource."'
    )
    assert response.data == {
        "error": "invalid_token",
        "error_description": "Sandbox tokens are not accepted by this resource.",
    }


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_a_view_that_opts_in_accepts_sandbox_tokens_and_sees_env(make_keys, issue, token_format):
    keys = make_keys(token_format=token_format, environment="sandbox")
    response = call(PaymentsTestbed, issue(keys=keys))
    assert response.status_code == 200
    assert response.data == {"client_id": keys.client_id, "env": "sandbox"}


@pytest.mark.parametrize("view", [Payments, PaymentsTestbed])
def test_production_tokens_are_accepted_either_way(make_keys, issue, view):
    keys = make_keys(environment="production")
    response = call(view, issue(keys=keys))
    assert response.status_code == 200
    assert response.data == {"client_id": keys.client_id, "env": "production"}


def test_api_hello_is_a_demo_resource_that_takes_sandbox_tokens_and_says_so(make_keys, issue, hello):
    keys = make_keys(environment="sandbox")
    response = hello(issue(keys=keys))
    assert response.status_code == 200
    assert response.json() == {"message": MESSAGE, "client_id": keys.client_id, "scope": "read", "env": "sandbox", "iss": settings.OAUTH_ISSUER}


def test_a_jose_library_verifying_the_production_audience_refuses_sandbox_tokens(
    api_client, make_keys, issue, settings
):
    sandbox_token = issue(keys=make_keys(environment="sandbox"))
    production_token = issue(keys=make_keys(environment="production"))
    jwks = jwt.PyJWKSet.from_dict(api_client.get("/.well-known/jwks.json").json())

    def verify(token, audience):
        key = jwks[jwt.get_unverified_header(token)["kid"]].key
        return jwt.decode(token, key, algorithms=["RS256"], audience=audience, issuer=settings.OAUTH_ISSUER)

    with pytest.raises(jwt.InvalidAudienceError):
        verify(sandbox_token, settings.OAUTH_AUDIENCE)
    assert verify(production_token, settings.OAUTH_AUDIENCE)["env"] == "production"
    assert verify(sandbox_token, settings.OAUTH_AUDIENCE + "/sandbox")["env"] == "sandbox"
    with pytest.raises(jwt.InvalidAudienceError):
        verify(production_token, settings.OAUTH_AUDIENCE + "/sandbox")


def test_the_sandbox_audience_can_be_set(make_keys, issue, settings, api_client):
    settings.OAUTH_SANDBOX_AUDIENCE = "https://sandbox.example.com"
    token = issue(keys=make_keys(environment="sandbox"))
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == "https://sandbox.example.com"
    assert call(PaymentsTestbed, token).status_code == 200
    assert call(Payments, token).status_code == 401
