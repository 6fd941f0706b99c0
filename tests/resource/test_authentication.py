"""RFC 6750 §2.1 and §3.1: BearerTokenAuthentication and RequiredScopes on other projects' views."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from tokens.authentication import BearerTokenAuthentication, TokenClient
from tokens.models import AccessToken
from tokens.permissions import RequiredScopes
from tokens.protocol.formats import TokenClaims
from cluster.announcements import tokens_revoked
from tokens.token_state import LIVE, REVOKED, forget_token_states, remember_state, revocations_version, token_state

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


def claims_of(row: AccessToken) -> TokenClaims:
    """The claims a token with this record carries."""
    return TokenClaims(
        iss="", sub=row.client_id, client_id=row.client_id, aud="", iat=int(row.issued_at.timestamp()),
        exp=int(row.expires_at.timestamp()), jti=row.jti, scope=row.scope, env=row.environment,
    )


def test_a_token_state_is_kept_no_longer_than_the_setting_nor_the_token(settings, django_assert_num_queries):
    settings.OAUTH_TOKEN_STATE_CACHE_SECONDS = 300
    now = timezone.now().replace(microsecond=0)
    start = int(now.timestamp())
    short = TokenClaims(iss="", sub="c", client_id="c", aud="", iat=start, exp=start + 2, jti="short", scope="", env="")
    long = TokenClaims(iss="", sub="c", client_id="c", aud="", iat=start, exp=start + 3600, jti="long", scope="", env="")
    for claims, state in ((short, LIVE), (long, REVOKED)):
        remember_state(claims.jti, state, ("c", "", start, claims.exp, ""), version=revocations_version(), now=now)
    with django_assert_num_queries(0):
        assert token_state(short, now=now) == LIVE
        assert token_state(long, now=now) == REVOKED
    with django_assert_num_queries(2):  # past the token's expiry, then past the setting: asked again
        token_state(short, now=now + timedelta(seconds=3))
        token_state(long, now=now + timedelta(seconds=301))


def test_a_miss_asks_the_database_and_remembers_the_answer(issue, django_assert_num_queries):
    issue()
    row = AccessToken.objects.get()
    now = timezone.now()
    with django_assert_num_queries(1):
        assert token_state(claims_of(row), now=now) == LIVE
        assert token_state(claims_of(row), now=now) == LIVE
    AccessToken.objects.update(revoked_at=now)
    assert token_state(claims_of(row), now=now) == LIVE  # stale within the bound
    forget_token_states()
    assert token_state(claims_of(row), now=now) == REVOKED


def test_a_revocation_on_this_host_is_seen_at_once(issue, settings, tmp_path, django_assert_num_queries):
    settings.VAR_DIR = tmp_path
    issue()
    row = AccessToken.objects.get()
    now = timezone.now()
    assert token_state(claims_of(row), now=now) == LIVE  # kept as live here
    # Another worker process of this host revokes: its memory is not ours, but the stamp is shared.
    AccessToken.objects.update(revoked_at=now)
    tokens_revoked.announce()
    with django_assert_num_queries(1):
        assert token_state(claims_of(row), now=now) == REVOKED
    with django_assert_num_queries(0):
        assert token_state(claims_of(row), now=now) == REVOKED
