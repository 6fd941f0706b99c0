"""What an API project loads of this server: plain protocol code and the error rendering, nothing else.

In a fresh interpreter with the separate API project's settings (tests/remote_api/settings.py, none
of the server's apps installed, no database), Django is set up, DRF loads the authentication and
permission classes from ``REST_FRAMEWORK`` (while ``rest_framework.views`` is still initializing,
the circular-import trap), and a ``jwks`` and an ``introspection`` verifier are built. Not one of
the server's models, key store, key encryption, services or other apps may be imported by then
(CONTRACT.md, "Protecting APIs that are separate services").
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER_APPS = ("clients", "tokens", "audit", "cluster")

SCRIPT = """
import json, sys
import django
django.setup()
{first_import}
import resource_server
import resource_server.authentication
import resource_server.permissions
from rest_framework.settings import api_settings
from rest_framework.views import APIView
from resource_server.config import read_config
from resource_server.modes import build_verifier

classes = [*api_settings.DEFAULT_AUTHENTICATION_CLASSES, *api_settings.DEFAULT_PERMISSION_CLASSES]
handler = api_settings.EXCEPTION_HANDLER
jwks = build_verifier(read_config({{"MODE": "jwks", "ISSUER": "https://auth.example.com", "AUDIENCE": "https://api.example"}}))
introspection = build_verifier(read_config({{
    "MODE": "introspection", "ISSUER": "https://auth.example.com", "AUDIENCE": "https://api.example",
    "CLIENT_ID": "api", "CLIENT_SECRET": "secret",
}}))
print(json.dumps({{
    "classes": [f"{{c.__module__}}.{{c.__qualname__}}" for c in classes],
    "handler": f"{{handler.__module__}}.{{handler.__qualname__}}",
    "view_classes": [c.__name__ for c in APIView.authentication_classes],
    "verifiers": [type(jwks).__name__, type(introspection).__name__],
    "modules": sorted(n for n in sys.modules if n.split(".")[0] in {apps!r}),
}}))
"""


def loaded_by_an_api_project(first_import: str) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.remote_api.settings",
        "RESOURCE_MODE": "jwks",
        "RESOURCE_ISSUER": "https://auth.example.com",
        "RESOURCE_AUDIENCE": "https://api.example",
        "PYTHONPATH": str(ROOT),
    }
    script = SCRIPT.format(first_import=first_import, apps=SERVER_APPS)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "first_import",
    ["import rest_framework.views", "import resource_server", "from rest_framework.settings import api_settings; "
     "api_settings.DEFAULT_AUTHENTICATION_CLASSES"],
)
def test_an_api_project_loads_no_model_key_store_or_other_app(first_import):
    loaded = loaded_by_an_api_project(first_import)
    assert loaded["classes"] == [
        "resource_server.authentication.BearerTokenAuthentication", "resource_server.permissions.RequiredScopes",
    ]
    assert loaded["handler"] == "tokens.exceptions.handle_exception"
    assert loaded["view_classes"] == ["BearerTokenAuthentication"]
    assert loaded["verifiers"] == ["JWKSVerifier", "IntrospectionVerifier"]
    modules = loaded["modules"]
    assert "tokens.protocol.formats" in modules and "tokens.exceptions" in modules  # the listing is real
    forbidden = [
        name for name in modules
        if name.endswith(".models") or ".models." in name
        or name in ("tokens.keystore", "tokens.encryption", "tokens.services", "tokens.verification", "tokens.caches")
        or name.split(".")[0] in ("clients", "audit", "cluster")
    ]
    assert forbidden == []
    assert set(modules) <= {"tokens", "tokens.exceptions"} | {n for n in modules if n.startswith("tokens.protocol")}
