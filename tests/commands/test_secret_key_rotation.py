"""Rotating SECRET_KEY when the signing keys are encrypted under a key derived from it.

A server that cannot decrypt its signing keys refuses to start (system check oauth.E004, run by
``manage.py check``, ``migrate`` and each gunicorn worker) instead of answering 500 to every token
request; ``SECRET_KEY_FALLBACKS`` from the environment keeps the old keys readable.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tokens.checks import check_signing_keys_decrypt
from tokens.keystore import rotate_signing_key

PROJECT = Path(__file__).resolve().parents[2]


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=PROJECT, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def server_env(tmp_path_factory):
    """A server of its own (SQLite in a temporary directory) whose keys were made under SECRET_KEY "old"."""
    var = tmp_path_factory.mktemp("var")
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("OAUTH_", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"))}
    env.update(VAR_DIR=str(var), DATABASE_URL=f"sqlite:///{var}/db.sqlite3", SECRET_KEY="old " * 13)
    for command in (["migrate", "--noinput"], ["rotatekeys"]):
        done = manage(*command, env=env)
        assert done.returncode == 0, done.stderr
    return env


def test_a_rotated_secret_key_without_fallbacks_refuses_to_start(server_env):
    done = manage("check", env={**server_env, "SECRET_KEY": "new " * 13})
    assert done.returncode == 1
    assert "oauth.E004" in done.stderr and "cannot be decrypted" in done.stderr
    assert "SECRET_KEY_FALLBACKS" in done.stderr
    assert "old old" not in done.stderr + done.stdout  # the keys themselves never appear


def test_the_previous_secret_key_in_secret_key_fallbacks_starts_and_issues_tokens(server_env):
    rotated = {**server_env, "SECRET_KEY": "new " * 13, "SECRET_KEY_FALLBACKS": server_env["SECRET_KEY"]}
    done = manage("check", env=rotated)
    assert done.returncode == 0, done.stderr
    issued = manage("shell", "--no-imports", "-c", (
        "import json; from django.test import Client; from clients.services import create_application, generate_keys;"
        "keys = generate_keys(application=create_application(name='rotated', scopes='read', create_missing_scopes=True));"
        "response = Client(HTTP_HOST='127.0.0.1').post('/oauth/token', json.dumps({'grant_type': 'client_credentials',"
        " 'client_id': keys.client_id, 'client_secret': keys.client_secret}), content_type='application/json');"
        "print(response.status_code, response.json().get('token_type', response.content))"), env=rotated)
    assert issued.stdout.split() == ["200", "Bearer"], issued.stderr


def test_the_check_reads_only_the_keys_that_sign(db, settings):
    settings.OAUTH_KEY_ENCRYPTION_KEY = []
    settings.SECRET_KEY = "old " * 13
    rotate_signing_key()
    rotate_signing_key()  # the first key is retired now: verification needs only its public half
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "new " * 13, []
    errors = check_signing_keys_decrypt(None)
    assert [error.id for error in errors] == ["oauth.E004", "oauth.E004"]  # the active and the next key
    settings.SECRET_KEY_FALLBACKS = ["old " * 13]
    assert check_signing_keys_decrypt(None) == []


def test_the_check_skips_a_project_that_does_not_issue_tokens(db, settings):
    settings.SECRET_KEY = "old " * 13
    rotate_signing_key()
    settings.SECRET_KEY = "new " * 13
    settings.ROOT_URLCONF = "api.urls"  # an API project's URLs: no token endpoint
    assert check_signing_keys_decrypt(None) == []
