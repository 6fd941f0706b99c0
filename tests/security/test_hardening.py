"""HTTP hardening: security headers, the CSP, TLS settings, `check --deploy`, request size bounds,
and the timing-equivalent path for unknown clients (RFC 6749 §10.10, RFC 6797, RFC 6585)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from clients import secrets as client_secrets
from clients.services import IssuedKeys

BASE_DIR = Path(__file__).resolve().parents[2]

# The production environment documented in docs/security.md ("HTTP hardening") (plus a throwaway database).
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "k" * 20 + "-production-secret-key-with-enough-entropy-0123456789",
    "ALLOWED_HOSTS": "auth.example.com",
    "OAUTH_ISSUER": "https://auth.example.com",
    "OAUTH_KEY_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
}


def run_manage(*args: str, env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    clean = {name: value for name, value in os.environ.items() if not name.startswith(("OAUTH_", "SECURE_", "DEBUG"))}
    clean.update(env, DATABASE_URL=f"sqlite:///{tmp_path / 'check.sqlite3'}")
    clean.pop("REDIS_URL", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=clean, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_passes_with_the_documented_production_environment(tmp_path):
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_make_run_defaults_keep_plain_http_on_loopback_working(tmp_path):
    probe = (
        "from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS)"
    )
    plain = run_manage("shell", "-c", probe, env={}, tmp_path=tmp_path)
    assert plain.stdout.split()[-4:] == ["False", "False", "False", "0"], plain.stderr
    behind_tls = run_manage("shell", "-c", probe, env=PRODUCTION_ENV, tmp_path=tmp_path)
    assert behind_tls.stdout.split()[-4:] == ["True", "True", "True", "31536000"], behind_tls.stderr


def test_pages_carry_the_security_headers_and_a_strict_csp(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    csp = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert csp["default-src"] == "'self'" and csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'" and csp["form-action"] == "'self'"


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


def test_forms_elsewhere_are_bounded_by_django(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = client.post("/admin/login/", {"username": "a" * 5000, "password": "x"})
    assert response.status_code == 400


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


# Security settings are checked at start-up (manage.py check, migrate, runserver).


@pytest.mark.parametrize(
    ("name", "value", "check_id"),
    [
        ("OAUTH_TOKEN_RATE_LIMIT", "100/fortnight", "oauth.E001"),
        ("OAUTH_TRUSTED_PROXIES", ["10.0.0.0/33"], "oauth.E002"),
        ("OAUTH_KEY_ENCRYPTION_KEY", ["not-a-key"], "oauth.E003"),
    ],
)
def test_a_malformed_security_setting_fails_the_system_check(settings, name, value, check_id):
    from tokens.checks import check_security_settings

    assert check_security_settings(None) == []
    setattr(settings, name, value)
    assert [error.id for error in check_security_settings(None)] == [check_id]
