"""examples/dpop_client.py (the README's DPoP client) against a live server: RFC 9449 §5, then §7.1."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from clients.services import create_application, generate_keys

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "dpop_client.py"


@pytest.mark.django_db(transaction=True)
def test_the_readme_client_gets_a_bound_token_and_a_copy_is_useless(live_server, settings):
    settings.OAUTH_ISSUER = live_server.url  # htu: the URL the client calls is the issuer's
    keys = generate_keys(application=create_application(name="dpop-demo", scopes="read", create_missing_scopes=True))
    result = subprocess.run(
        [sys.executable, str(SCRIPT), live_server.url], capture_output=True, text=True, timeout=60,
        env={**os.environ, "CLIENT_ID": keys.client_id, "CLIENT_SECRET": keys.client_secret},
    )
    assert result.returncode == 0, result.stderr
    token_type, hello, stolen = result.stdout.splitlines()
    assert token_type == "DPoP"
    assert hello.startswith("200 {'message': \"Congrats! You've hit an OAuth protected resource\"")
    assert stolen.startswith('401 DPoP error="invalid_token"')
