"""Factories as fixtures, shared by every test package."""

import base64
import io
from urllib.parse import quote_plus, urlencode

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from clients.services import IssuedKeys, create_application, generate_keys
from tokens.keystore import key_store
from cluster.shared_cache import forget_shared_cache_outage
from tokens.token_state import forget_token_states


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


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Each test starts with no cached keys or counters (the database is rolled back too)."""
    key_store.invalidate()
    forget_shared_cache_outage()
    cache.clear()
    forget_token_states()
    yield
    key_store.invalidate()
    forget_shared_cache_outage()
    cache.clear()
    forget_token_states()


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
