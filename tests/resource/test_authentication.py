"""RFC 6750 §2.1 and §3.1: BearerTokenAuthentication and RequiredScopes on other projects' views."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from cluster.announcements import tokens_revoked
from tests import forged
from tests.conftest import revoke_directly
from resource_server.authentication import BearerTokenAuthentication, TokenClient
from tokens.caches import REVOKED_SINCE_MARGIN, is_revoked
from tokens.models import AccessToken
from resource_server.permissions import RequiredScopes
from tokens.protocol.formats import TokenClaims

pytestmark = pytest.mark.django_db
factory = APIRequestFactory()


class Reports(APIView):
    """Reads need ``read``; writes need ``write`` and ``admin``."""

    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [RequiredScopes]
    required_scopes = ["read"]
    required_scopes_by_method = {"POST": ["write", "admin"]}

    def get(self, request):
        assert isinstance(request.user, TokenClient) and isinstance(request.auth, TokenClaims)
        return Response({"client_id": request.user.client_id, "scopes": sorted(request.user.scope)})

    def post(self, request):
        return Response({"ok": True})


class Denied(BasePermission):
    message = "Only on Tuesdays."

    def has_permission(self, request, view):
        return False


class Plain(APIView):
    """A view using DRF's own permissions, so DRF itself raises NotAuthenticated / PermissionDenied."""

    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [IsAuthenticated, Denied]

    def get(self, request):
        return Response({})


def call(view, token=None, method="get"):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    request = getattr(factory, method)("/reports", **headers)
    response = view.as_view()(request)
    response.render()
    return response


def test_required_scopes_apply_to_every_method_without_an_entry(issue, make_keys):
    keys = make_keys()
    response = call(Reports, issue(keys=keys, scope="read"))
    assert response.status_code == 200
    assert response.data == {"client_id": keys.client_id, "scopes": ["read"]}
    refused = call(Reports, issue(scope="write"))
    assert refused.status_code == 403
    assert refused["WWW-Authenticate"].endswith('scope="read"')


def test_a_per_method_entry_wins_and_names_every_needed_scope(issue, make_application, make_keys):
    keys = make_keys(make_application(scopes="read write admin"))
    refused = call(Reports, issue(keys=keys, scope="write"), method="post")
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused["WWW-Authenticate"]
    assert refused["WWW-Authenticate"].endswith('scope="admin write"')
    assert refused.data["scope"] == "admin write"
    assert call(Reports, issue(keys=keys, scope="write admin"), method="post").status_code == 200


def test_drf_not_authenticated_gets_the_bare_bearer_challenge():
    response = call(Plain)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_drf_permission_denied_gets_the_insufficient_scope_shape(issue):
    response = call(Plain, issue())
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == 'Bearer realm="api", error="insufficient_scope", error_description="Only on Tuesdays."'
    assert response.data == {"error": "insufficient_scope", "error_description": "Only on Tuesdays."}


def test_with_drfs_default_exception_handler_the_challenge_is_still_rfc_6750(issue, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "EXCEPTION_HANDLER": "rest_framework.views.exception_handler"}
    invalid = call(Reports, "garbage")
    assert invalid.status_code == 401
    assert invalid["WWW-Authenticate"].startswith('Bearer realm="api", error="invalid_token"')
    assert invalid.data["error"] == "invalid_token"
    missing = call(Reports)
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"] == 'Bearer realm="api"'
    scope = call(Reports, issue(scope="write"))
    assert scope.status_code == 403
    assert scope["WWW-Authenticate"].endswith('scope="read"')


def claims_of(token: str) -> TokenClaims:
    return TokenClaims(**{name: value for name, value in forged.claims_of(token).items() if name in TokenClaims.__slots__})


def test_the_revoked_set_is_read_once_and_again_only_after_the_setting(issue, settings, django_assert_num_queries):
    settings.OAUTH_TOKEN_STATE_CACHE_SECONDS = 300
    token, now = issue(), timezone.now()
    with django_assert_num_queries(1):  # read in full once...
        assert not is_revoked(claims_of(token), realm="default", now=now)
        assert not is_revoked(claims_of(token), realm="default", now=now)
    revoke_directly(token)  # another host, no shared cache: nothing announced
    with django_assert_num_queries(0):
        assert not is_revoked(claims_of(token), realm="default", now=now)  # stale within the bound
    later = time.monotonic() + 301
    with pytest.MonkeyPatch.context() as patch, django_assert_num_queries(1):
        patch.setattr("tokens.caches.time.monotonic", lambda: later)
        assert is_revoked(claims_of(token), realm="default", now=now)  # ...and in full again once the setting has passed


def test_a_revoked_entry_ends_with_the_token(issue):
    token = issue()
    revoke_directly(token)
    claims = claims_of(token)
    assert is_revoked(claims, realm="default", now=timezone.now())
    assert not is_revoked(claims, realm="default", now=timezone.now() + timedelta(seconds=claims.exp - claims.iat + 1))


def test_a_revocation_on_this_host_is_seen_at_once(issue, settings, tmp_path, django_assert_num_queries):
    settings.VAR_DIR = tmp_path
    token, now = issue(), timezone.now()
    assert not is_revoked(claims_of(token), realm="default", now=now)
    # Another worker process of this host revokes: its memory is not ours, but the stamp is shared.
    revoke_directly(token)
    tokens_revoked.announce()
    with django_assert_num_queries(1):  # only what was revoked since the last read
        assert is_revoked(claims_of(token), realm="default", now=now)
    with django_assert_num_queries(0):
        assert is_revoked(claims_of(token), realm="default", now=now)


def test_a_revocation_stamped_before_the_last_read_is_still_read_within_the_margin(issue, settings, tmp_path):
    # The revoking host's clock may be behind ours, or its transaction long: its revoked_at is older
    # than our last read although that read could not see it.
    settings.VAR_DIR = tmp_path
    token, now = issue(), timezone.now()
    assert not is_revoked(claims_of(token), realm="default", now=now)
    revoke_directly(token)
    AccessToken.objects.update(revoked_at=timezone.now() - REVOKED_SINCE_MARGIN + timedelta(seconds=5))
    tokens_revoked.announce()
    assert is_revoked(claims_of(token), realm="default", now=now)
