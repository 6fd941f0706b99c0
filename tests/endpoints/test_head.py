"""RFC 9110 §9.3.2: wherever GET answers, HEAD answers the same status and headers, with no body.

Every named route of the project (the Django admin aside, which is Django's own) is asked both
ways, by a stranger and by a signed-in developer holding a bearer token, so that a new GET view
without HEAD fails here. The GET-only documents refuse other methods with ``Allow: GET, HEAD``.
"""

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse

from clients.models import Realm

from tests.conftest import basic_auth

GET_ONLY = ["/.well-known/jwks.json", "/.well-known/oauth-authorization-server", "/healthz", "/bench/ceiling"]


@pytest.fixture(autouse=True)
def _bench_ceiling_on(settings):
    settings.ROOT_URLCONF = "oauthserver.bench_urls"  # as make bench starts its servers (BENCH_CEILING)


def test_the_bench_ceiling_is_not_mounted_outside_the_benchmark(client, settings, db):
    settings.ROOT_URLCONF = "oauthserver.urls"
    assert client.get("/bench/ceiling").status_code == 404
    assert client.head("/bench/ceiling").status_code == 404
    assert client.get("/healthz").status_code == 200


def named_routes(resolver=None, namespace: str = "", outer: tuple[str, ...] = ()):
    """(name to reverse, names of its URL arguments) for every route outside the admin."""
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace != "admin":
                yield from named_routes(pattern, f"{pattern.namespace}:" if pattern.namespace else namespace,
                                        (*outer, *pattern.pattern.regex.groupindex))
        elif pattern.name:
            yield namespace + pattern.name, [*outer, *pattern.pattern.regex.groupindex]


@pytest.fixture
def caller(client, make_keys, make_application):
    """The test client and the URLs to ask: a developer's application and a token of its own."""

    def make(signed_in: bool):
        developer = get_user_model().objects.create_user("dev", password="a long enough passphrase 42")
        application = make_application("billing", owner=developer, token_format="opaque")
        keys = make_keys(application)
        token = client.post(
            "/oauth/token", "grant_type=client_credentials", content_type="application/x-www-form-urlencoded",
            HTTP_AUTHORIZATION=basic_auth(keys.client_id, keys.client_secret),
        ).json()["access_token"]
        if signed_in:
            client.force_login(developer)
        Realm.objects.create(name="alpha")  # its endpoints and documents too; "nowhere" is 404 on both
        arguments = {"pk": application.pk, "environment": "sandbox", "realm": "alpha"}
        paths = {reverse(name, kwargs={key: arguments[key] for key in needed}) for name, needed in named_routes()}
        extra = {"/", "/admin/", "/admin/login/", "/realms/nowhere/.well-known/jwks.json"}
        return client, sorted(paths | extra), {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    return make


def without_times(response) -> dict[str, str]:
    return {name: value for name, value in response.items() if name not in ("Date", "Expires")}


@pytest.mark.parametrize("signed_in", [False, True], ids=["stranger", "developer"])
def test_head_answers_like_get_on_every_route(caller, signed_in):
    client, paths, headers = caller(signed_in)
    assert set(GET_ONLY) | {"/api/hello", "/api/schema/", "/portal/", "/portal/login/"} <= set(paths)
    answered = set()
    for path in paths:
        client.get(path, **headers)  # a first use may make things (the signing key, an audit line)
        get, head = client.get(path, **headers), client.head(path, **headers)
        assert head.content == b"", path
        if get.status_code == 405:  # POST-only: HEAD is refused too (the error body may name the method)
            assert (head.status_code, head["Allow"]) == (405, get["Allow"]), path
            continue
        assert head.status_code == get.status_code, path
        # Content-Length of the GET body included; Date and Expires move on with the clock.
        assert without_times(head) == without_times(get), path
        answered.add(path)
    assert set(GET_ONLY) <= answered
    assert {"/api/hello", "/api/schema/"} <= answered


@pytest.mark.parametrize("path", GET_ONLY)
def test_head_of_a_document_has_its_length_and_type_and_no_body(api_client, db, path):
    get, head = api_client.get(path), api_client.head(path)
    assert get.status_code == head.status_code == 200
    assert head["Content-Type"] == get["Content-Type"] == "application/json"
    assert int(head["Content-Length"]) == len(get.content) > 0
    assert head.content == b""


@pytest.mark.parametrize("method", ["options", "post", "put", "patch", "delete"])
@pytest.mark.parametrize("path", GET_ONLY)
def test_other_methods_on_a_document_are_405_allowing_get_and_head(api_client, db, path, method):
    response = getattr(api_client, method)(path)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.content == b""


def test_head_on_healthz_reports_a_database_outage_too(api_client, db, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise DatabaseError("down")

    with monkeypatch.context() as patch:  # the database is needed again to end the test
        patch.setattr(connection, "cursor", broken_cursor)
        response = api_client.head("/healthz")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.content == b""


@pytest.fixture
def strict_client():
    """A client the CSRF middleware checks, as it checks every real one (the test client is exempt)."""
    return Client(enforce_csrf_checks=True)


UNSAFE_METHODS = ["POST", "PUT", "PATCH", "DELETE", "FOO"]


@pytest.mark.parametrize("method", UNSAFE_METHODS)
@pytest.mark.parametrize("path", GET_ONLY)
def test_unsafe_methods_on_a_document_are_405_not_a_csrf_page(strict_client, db, path, method):
    response = strict_client.generic(method, path, "x=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.content == b""


@pytest.mark.parametrize("method", UNSAFE_METHODS[1:])
@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/introspect", "/oauth/revoke"])
def test_other_methods_on_an_oauth_endpoint_are_405_json_not_a_csrf_page(strict_client, db, path, method):
    response = strict_client.generic(method, path, "x=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json() == {"error": "invalid_request", "error_description": f"Method '{method}' not allowed."}


@pytest.mark.parametrize("method", UNSAFE_METHODS[1:])
def test_other_methods_on_the_sample_resource_are_405_not_a_csrf_page(strict_client, caller, method):
    _, _, headers = caller(signed_in=True)  # a session as well: DRF's session check must not answer either
    response = strict_client.generic(method, "/api/hello", "x=1", content_type="application/x-www-form-urlencoded", **headers)
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST, HEAD, OPTIONS"
    assert "not allowed" in response.json()["error_description"]


@pytest.mark.parametrize("path", ["/oauth/token%0A", "/realms/alpha/oauth/token%0A", "/api/hello%0A",
                                  "/.well-known/oauth-authorization-server/realms/alpha%0A"])
def test_a_path_ending_in_a_newline_is_no_endpoint(client, db, path):
    """``$`` also matches before a final newline; the routes end with ``\\Z``, so ``/oauth/token%0A`` is 404."""
    Realm.objects.create(name="alpha")
    assert client.get(path).status_code == 404
    if "well-known" not in path:  # the metadata route takes any realm name ("alpha\n" is none) and only GET
        assert client.post(path).status_code == 404
