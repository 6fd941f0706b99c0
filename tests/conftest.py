"""Factories as fixtures, shared by every test package."""

import base64
import io
from datetime import UTC, datetime
from urllib.parse import quote_plus, urlencode

import jwt
import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from clients.models import KeyPair
from clients.realms import drop_known_realms
from clients.registry import drop_known_clients
from clients.services import IssuedKeys, create_application, generate_keys
from cluster.announcements import clients_changed, realms_changed, signing_keys_changed, tokens_revoked
from cluster.shared_cache import forget_shared_cache_outage
from tokens.caches import forget_token_facts
from tokens.keystore import invalidate_key_stores
from tokens.models import AccessToken, IssuanceCount
from tokens.protocol.formats import hash_token, looks_like_jwt
from tests.e2e.redis_server import RedisServer
from tokens import usage
from tokens.usage import discard_pending_counts, flush_issuance_counts


@pytest.fixture(autouse=True, scope="session")
def _clear_only_our_cache_keys():
    """With Redis, ``cache.clear()`` is FLUSHDB: it would empty the whole shared database, other
    users' keys included. The tests clear only this project's keys (its ``KEY_PREFIX``)."""
    try:
        from django_redis.cache import RedisCache
    except ImportError:  # pragma: no cover - django-redis is a dependency
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(RedisCache, "clear", lambda self: self.delete_pattern("*"))
        yield


def _forget_everything() -> None:
    for announcement in (signing_keys_changed, clients_changed, tokens_revoked, realms_changed):
        announcement.forget()
    invalidate_key_stores()  # every realm's: a realm of an earlier test may come back with the same name
    forget_shared_cache_outage()
    cache.clear()
    forget_token_facts()
    drop_known_clients()
    drop_known_realms()
    discard_pending_counts()


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Each test starts with no cached keys, clients, tokens or counters (the database is rolled back too)."""
    _forget_everything()
    yield
    _forget_everything()  # once the settings fixture (set up later) has restored the cache settings


@pytest.fixture(autouse=True)
def _issuance_counted_at_once(settings):
    """Issuance counts are stored at once: a flushing thread would write outside the test's transaction."""
    settings.OAUTH_USAGE_FLUSH_SECONDS = 0


@pytest.fixture
def without_shared_cache(settings):
    """The cache is this process's own, as without REDIS_URL, even when the suite runs with Redis (CI's second run)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    """A redis-server of the test module's own on a free port: never the machine's shared one."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def flushed_later(settings, monkeypatch):
    """Issuance counted in memory as in production, without the flushing thread (it would write outside the test)."""
    settings.OAUTH_USAGE_FLUSH_SECONDS = 3600
    monkeypatch.setattr(usage._Counts, "_start", lambda self: None)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def make_application(db):
    """Register an application as an operator would, adding its scopes to the registry (restricted)."""

    def make(name: str = "billing", *, scopes: str = "read write", default_scopes: str | None = "read", **fields):
        fields.setdefault("create_missing_scopes", not fields.get("self_service"))
        return create_application(name=name, scopes=scopes, default_scopes=default_scopes, **fields)

    return make


@pytest.fixture
def make_keys(db, make_application):
    """Register an application (or use the one given) and return its production keys."""

    def make(application=None, *, environment: str = "production", **fields) -> IssuedKeys:
        return generate_keys(application=application or make_application(**fields), environment=environment)

    return make


def basic_auth(client_id: str, client_secret: str) -> str:
    """The ``Authorization`` value of RFC 6749 §2.3.1: form-urlencode both, then base64."""
    raw = f"{quote_plus(client_id)}:{quote_plus(client_secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def issued_count() -> int:
    """How many tokens were issued, as the issuance counters say (the portal's "tokens issued")."""
    flush_issuance_counts()
    return sum(IssuanceCount.objects.values_list("count", flat=True))


def is_revoked(token: str) -> bool:
    """Whether token was revoked one by one: its record (opaque) or its jti (JWT) is marked revoked."""
    if looks_like_jwt(token):
        jti = jwt.decode(token, options={"verify_signature": False})["jti"]
        return AccessToken.objects.filter(jti=jti, revoked_at__isnull=False).exists()
    return AccessToken.objects.filter(token_hash=hash_token(token), revoked_at__isnull=False).exists()


def revoke_directly(token: str) -> None:
    """Mark token revoked in the database as another process would, announcing nothing."""
    now = timezone.now()
    if not looks_like_jwt(token):
        assert AccessToken.objects.filter(token_hash=hash_token(token)).update(revoked_at=now) == 1
        return
    claims = jwt.decode(token, options={"verify_signature": False})
    key_pair = KeyPair.objects.get(client_id=claims["client_id"])
    AccessToken.objects.create(
        application_id=key_pair.application_id, key_pair=key_pair, client_id=claims["client_id"],
        environment=claims.get("env", ""), scope=claims.get("scope", ""), token_format="jwt", jti=claims["jti"],
        issued_at=datetime.fromtimestamp(claims["iat"], UTC), expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        revoked_at=now,
    )


def introspect(api_client, caller, token: str) -> dict:
    """POST /oauth/introspect as the resource server caller (RFC 7662 §2.1); the 200 answer's body."""
    response = api_client.post(
        "/oauth/introspect", urlencode({"token": token}), content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic_auth(caller.client_id, caller.client_secret),
    )
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def request_token(api_client):
    """POST /oauth/token with Basic credentials (or none) and form fields."""

    def request(keys: IssuedKeys | None = None, path: str = "/oauth/token", **fields):
        fields.setdefault("grant_type", "client_credentials")
        headers = {"HTTP_AUTHORIZATION": basic_auth(keys.client_id, keys.client_secret)} if keys else {}
        extra = fields.pop("headers", {})
        body = urlencode(fields, doseq=True)
        return api_client.post(path, body, content_type="application/x-www-form-urlencoded", **headers, **extra)

    return request


@pytest.fixture
def small_lockout(settings):
    """Lock out after 3 failures for 60 seconds, so tests stay short."""
    settings.OAUTH_LOCKOUT_THRESHOLD = 3
    settings.OAUTH_LOCKOUT_WINDOW = 60


def chunked(body: bytes, *, terminated: bool = True) -> dict:
    """WSGI environ entries of a chunked request (RFC 9112 §7.1) as gunicorn hands it over.

    No ``CONTENT_LENGTH``, the de-chunked bytes in ``wsgi.input`` and ``wsgi.input_terminated``;
    ``terminated=False`` is a server that does not promise the stream ends with the body. For
    ``api_client.generic("POST", path, b"", content_type=..., **chunked(body))``: an empty
    ``data`` keeps the test client from adding a Content-Length (DRF's client still sets the type).
    """
    environ = {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": io.BytesIO(body)}
    if terminated:
        environ["wsgi.input_terminated"] = True
    return environ
