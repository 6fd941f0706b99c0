"""Security settings checked at start-up: `manage.py check --deploy` passes with the production
environment of docs/security.md ("HTTP hardening"), plain HTTP stays usable for `make run`, and a malformed security
setting fails the system check (manage.py check, migrate, runserver)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

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
