"""HTTP hardening of the OAuth answers: nosniff and frame headers, the HTTPS redirect and HSTS,
request size bounds, and the timing-equivalent path for unknown clients (RFC 6749 §10.10, RFC 6797,
RFC 6585). The pages' headers are in admin/test_page_hardening.py, `check --deploy` in
commands/test_deploy_checks.py."""

import pytest

from clients import secrets as client_secrets
from clients.services import IssuedKeys


def test_oauth_answers_are_not_sniffable_either(request_token, db):
    response = request_token()
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


def test_https_redirect_and_hsts_when_configured(client, settings, db):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    plain = client.get("/.well-known/jwks.json")
    assert plain.status_code == 301 and plain["Location"].startswith("https://")
    assert client.get("/healthz").status_code == 200  # load balancers probe over HTTP
    via_tls_proxy = client.get("/admin/login/", HTTP_X_FORWARDED_PROTO="https")
    assert via_tls_proxy.status_code == 200
    assert via_tls_proxy["Strict-Transport-Security"] == "max-age=31536000"


# Request size (413 before parsing; OAUTH_MAX_REQUEST_BYTES, DATA_UPLOAD_MAX_MEMORY_SIZE).


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "application/json"])
def test_a_body_over_the_bound_is_413_in_the_oauth_error_shape(api_client, settings, db, content_type):
    settings.OAUTH_MAX_REQUEST_BYTES = 1024
    body = "grant_type=client_credentials&scope=" + "a" * 2000
    response = api_client.generic("POST", "/oauth/token", body, content_type=content_type)
    assert response.status_code == 413
    assert response.json() == {"error": "invalid_request", "error_description": "The request body is too large."}


def test_a_declared_length_over_the_bound_is_refused_unread(api_client, settings, db):
    settings.OAUTH_MAX_REQUEST_BYTES = 1024
    response = api_client.generic(
        "POST",
        "/oauth/token",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        CONTENT_LENGTH=str(10**9),
    )
    assert response.status_code == 413


class EndlessBody:
    """A chunked body that never ends, counting what the server takes from it."""

    def __init__(self) -> None:
        self.taken = 0

    def read(self, size: int = -1) -> bytes:
        assert size > 0, "an unbounded read of an endless body"
        self.taken += size
        return b"x" * size

    def readline(self, size: int = -1) -> bytes:  # Django's LimitedStream wants one; never called
        raise AssertionError("a line read of an endless body")


def test_an_endless_chunked_body_is_read_no_further_than_the_bound(api_client, settings, db):
    # A chunked body has no Content-Length to judge it by: reading stops one byte past the bound.
    settings.OAUTH_MAX_REQUEST_BYTES = 1024
    body = EndlessBody()
    response = api_client.generic(
        "POST", "/oauth/token", b"", content_type="application/x-www-form-urlencoded",
        HTTP_TRANSFER_ENCODING="chunked", **{"wsgi.input": body, "wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert response.json() == {"error": "invalid_request", "error_description": "The request body is too large."}
    assert body.taken == 1025


# Timing: an unknown client id and a wrong secret take the same path (RFC 6749 §10.10).


def test_unknown_client_and_wrong_secret_run_the_same_comparison(make_keys, request_token, monkeypatch):
    keys = make_keys()
    comparisons = []
    original = client_secrets.hmac.compare_digest

    def spy(a, b):
        comparisons.append((len(a), len(b)))
        return original(a, b)

    monkeypatch.setattr(client_secrets.hmac, "compare_digest", spy)
    wrong = request_token(IssuedKeys(keys.client_id, "wrong-secret", "production"))
    after_wrong = list(comparisons)
    unknown = request_token(IssuedKeys("unknown-client-id-xx", "wrong-secret", "production"))
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong["WWW-Authenticate"] == unknown["WWW-Authenticate"]
    # One constant-time comparison of two SHA-256 hex digests each: the dummy stands in for the unknown.
    assert after_wrong == [(64, 64)] and comparisons == [(64, 64), (64, 64)]
