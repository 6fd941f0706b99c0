"""RFC 6750 §3: ``error_description`` and ``scope`` of a resource's answers stay in %x20-21 / %x23-5B / %x5D-7E.

The same characters in the ``WWW-Authenticate`` challenge (a quoted-string with nothing to
escape) and in the JSON body, whether the text comes from the request, a view's permission
message or a view's required scopes.
"""

import re

import pytest
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from resource_server.authentication import BearerTokenAuthentication
from resource_server.permissions import RequiredScopes

pytestmark = pytest.mark.django_db
factory = APIRequestFactory()

ALLOWED = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")
CHALLENGE = re.compile(r'Bearer realm="api"(, [a-z_]+="[\x20\x21\x23-\x5b\x5d-\x7e]*")*')


class Picky(BasePermission):
    message = 'Only "admins" \\ r\u00e9serv\u00e9\u2028here.'

    def has_permission(self, request, view):
        return False


class Guarded(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [Picky]

    def get(self, request):
        return Response({})


class OddScope(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [RequiredScopes]
    required_scopes = ['caf\u00e9"\\']

    def get(self, request):
        return Response({})


def call(view, token: str) -> Response:
    response = view.as_view()(factory.get("/x", HTTP_AUTHORIZATION=f"Bearer {token}"))
    response.render()
    return response


def assert_confined(response) -> None:
    assert ALLOWED.fullmatch(response.data["error_description"]), response.data
    assert CHALLENGE.fullmatch(response["WWW-Authenticate"]), response["WWW-Authenticate"]


def test_a_permission_message_is_confined_in_body_and_challenge(issue):
    response = call(Guarded, issue())
    assert response.status_code == 403
    assert_confined(response)
    assert response.data == {"error": "insufficient_scope", "error_description": "Only ?admins? ? r?serv??here."}
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", error="insufficient_scope", error_description="Only ?admins? ? r?serv??here."'
    )


def test_an_odd_required_scope_is_confined_in_body_and_challenge(issue):
    response = call(OddScope, issue())
    assert response.status_code == 403
    assert_confined(response)
    assert response.data["scope"] == "caf???"
    assert response["WWW-Authenticate"].endswith(', scope="caf???"')


@pytest.mark.parametrize(("method", "shown"), [("DELETE", "DELETE"), ('DE"L\\\u00c9\x01', "DE?L???")])
def test_the_method_of_a_405_on_api_hello_is_named_in_allowed_characters(issue, api_client, method, shown):
    response = api_client.generic(method, "/api/hello", HTTP_AUTHORIZATION=f"Bearer {issue()}")
    assert response.status_code == 405
    assert response.json() == {"error": "invalid_request", "error_description": f"Method '{shown}' not allowed."}


@pytest.mark.parametrize("authorization", ['Bearer a"b \\c', "Bearer \u00e9 \u2028", 'Bearer "x"'])
def test_hostile_bearer_headers_get_confined_answers(hello, authorization):
    response = hello(HTTP_AUTHORIZATION=authorization.encode().decode("latin-1"))
    assert response.status_code == 401
    assert ALLOWED.fullmatch(response.json()["error_description"])
    assert CHALLENGE.fullmatch(response["WWW-Authenticate"]), response["WWW-Authenticate"]
