"""examples/client_credentials.py against a live server: RFC 6749 §4.4, then RFC 6750 §2.1."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from clients.services import create_application, generate_keys

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "client_credentials.py"


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=30, env={**os.environ, **env}
    )


@pytest.mark.django_db(transaction=True)
def test_the_example_client_gets_a_token_and_calls_hello(live_server):
    keys = generate_keys(application=create_application(name="demo", scopes="read", default_scopes="read"))

    result = run(live_server.url, OAUTH_CLIENT_ID=keys.client_id, OAUTH_CLIENT_SECRET=keys.client_secret)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("access_token: ey")
    assert lines[1] == "token_type:   Bearer"
    assert lines[2].startswith("expires_in:   3600 seconds (at ")
    assert lines[4] == "GET /api/hello -> 200"
    answer = json.loads("\n".join(lines[5:]))
    assert answer == {"message": "Congrats! You've hit an OAuth protected resource", "client_id": keys.client_id, "scope": "read"}


@pytest.mark.django_db(transaction=True)
def test_the_example_client_reports_a_refusal(live_server):
    result = run(live_server.url, "--client-id", "nobody", "--client-secret", "wrong")
    assert result.returncode == 1
    assert "Token request refused (401): invalid_client" in result.stderr
