"""examples/client_credentials.py against a live server: RFC 6749 §4.4, then RFC 6750 §2.1.

Failures (RFC 6749 §5.2 refusals, an unreachable or silent server, an answer that is not JSON)
are one line on stderr and a non-zero exit, and the whole token never reaches the output.
"""

import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings

from clients.services import create_application, generate_keys

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "client_credentials.py"
CREDENTIALS = {"OAUTH_CLIENT_ID": "some-client", "OAUTH_CLIENT_SECRET": "some-secret"}
# Three base64url segments: any JWT, whole.
WHOLE_JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=30, env={**os.environ, **env}
    )


@contextmanager
def stub_server(routes: dict[str, tuple[int, str, bytes]]) -> Iterator[str]:
    """Serve fixed answers (status, content type, body) by path; yield the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def answer(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, content_type, body = routes[self.path]
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = answer

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    """A port nothing listens on: bound by the kernel, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def assert_one_line_failure(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("client_credentials.py: ")
    for fragment in fragments:
        assert fragment in result.stderr


@pytest.mark.django_db(transaction=True)
def test_the_example_client_gets_a_token_and_calls_hello(live_server):
    keys = generate_keys(application=create_application(name="demo", scopes="read", default_scopes="read", create_missing_scopes=True))

    result = run(live_server.url, OAUTH_CLIENT_ID=keys.client_id, OAUTH_CLIENT_SECRET=keys.client_secret)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"access_token: eyJhbGci\.\.\. \(\d{3,4} characters\)", lines[0])
    assert lines[1] == "token_type:   Bearer"
    assert lines[2].startswith("expires_in:   3600 seconds (at ")
    assert lines[4] == "GET /api/hello -> 200"
    answer = json.loads("\n".join(lines[5:]))
    assert answer == {"message": "Congrats! You've hit an OAuth protected resource", "client_id": keys.client_id, "scope": "read", "env": "production", "iss": settings.OAUTH_ISSUER}
    assert not WHOLE_JWT.search(result.stdout + result.stderr)


@pytest.mark.django_db(transaction=True)
def test_the_example_client_reports_a_refusal(live_server):
    result = run(live_server.url, "--client-id", "nobody", "--client-secret", "wrong")

    assert_one_line_failure(result, "Token request refused (401): invalid_client: Client authentication failed.")


def test_the_whole_token_never_reaches_the_output():
    token = "opaque-token-" + "x" * 30 + "-end"
    routes = {
        "/oauth/token": (200, "application/json", json.dumps(
            {"access_token": token, "token_type": "Bearer", "expires_in": 60, "scope": "read"}
        ).encode()),
        "/api/hello": (200, "application/json", b'{"message": "hi"}'),
    }
    with stub_server(routes) as url:
        result = run(url, **CREDENTIALS)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"access_token: opaque-t... ({len(token)} characters)"
    assert token not in result.stdout + result.stderr


def test_an_unreachable_server_is_one_line_and_a_nonzero_exit():
    url = f"http://127.0.0.1:{free_port()}"

    result = run(url, **CREDENTIALS)

    assert_one_line_failure(result, f"cannot reach {url}/oauth/token: ", "refused")
    assert "Traceback" not in result.stderr


def test_a_server_that_never_answers_times_out_in_one_line():
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"

        result = run(url, "--timeout", "0.5", **CREDENTIALS)

    assert_one_line_failure(result, f"{url}/oauth/token: no answer within 0.5 s")


@pytest.mark.parametrize("status", [200, 502])
def test_an_answer_that_is_not_json_is_one_line(status):
    with stub_server({"/oauth/token": (status, "text/html", b"<html>Bad gateway</html>")}) as url:
        result = run(url, **CREDENTIALS)

    assert_one_line_failure(result, f"{url}/oauth/token answered {status} with text/html, not a JSON object")


def test_an_oauth_error_without_description_names_the_error():
    with stub_server({"/oauth/token": (400, "application/json", b'{"error": "unsupported_grant_type"}')}) as url:
        result = run(url, **CREDENTIALS)

    assert_one_line_failure(result, "Token request refused (400): unsupported_grant_type")


def test_an_error_status_without_an_oauth_error_says_so():
    with stub_server({"/oauth/token": (503, "application/json", b'{"status": "down"}')}) as url:
        result = run(url, **CREDENTIALS)

    assert_one_line_failure(result, "Token request refused (503): no OAuth error in the answer")


def test_a_url_without_http_is_a_usage_error():
    result = run("127.0.0.1:8000", **CREDENTIALS)

    assert result.returncode == 2
    assert "127.0.0.1:8000 is not an http:// or https:// URL" in result.stderr
