"""An API project may import ``resource_server`` before ``rest_framework.views``.

DRF imports the classes its ``DEFAULT_AUTHENTICATION_CLASSES`` names while ``rest_framework.views``
is being initialized; with ``resource_server.BearerTokenAuthentication`` named there, importing
``resource_server`` must not be what starts that module's initialization. Each case runs in a fresh
interpreter with the separate API project's settings (``tests/remote_api``), as its views would.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("first", ["resource_server", "rest_framework.views"])
def test_resource_server_imports_whether_or_not_drf_views_came_first(first):
    code = (
        f"import django; django.setup(); import {first}; "
        "from resource_server import BearerTokenAuthentication; "
        "from rest_framework.settings import api_settings; "
        "print(api_settings.DEFAULT_AUTHENTICATION_CLASSES[0] is BearerTokenAuthentication)"
    )
    env = {
        "PATH": os.environ.get("PATH", ""), "DJANGO_SETTINGS_MODULE": "tests.remote_api.settings",
        "RESOURCE_MODE": "jwks", "RESOURCE_ISSUER": "http://127.0.0.1:9", "RESOURCE_AUDIENCE": "http://127.0.0.1:9",
    }
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-1500:]
    assert result.stdout.strip() == "True"
