"""The separate API project (``tests/remote_api``) served by gunicorn, and a proxy that counts its calls.

The API gets an environment of its own: ``PATH`` and the ``RESOURCE_*`` variables it is given,
nothing of the authorization server's (no ``DATABASE_URL``, ``SECRET_KEY`` or key-encryption key).
The proxy stands in front of an authorization server and is its ``OAUTH_ISSUER``, so the metadata
sends the API through it: it counts each call before forwarding it, so when the API has answered,
every call it made for that answer has been counted.
"""

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import requests

from .instances import ROOT, STARTUP_SECONDS, free_port

FORWARDED_HEADERS = ("Authorization", "Content-Type", "Accept", "User-Agent")
RETURNED_HEADERS = ("Content-Type", "Cache-Control", "WWW-Authenticate")


@dataclass
class RemoteAPI:
    """One gunicorn master (one worker, so one process's caches) serving ``tests/remote_api``."""

    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def call(self, path: str, token: str, *, method: str = "GET") -> requests.Response:
        return requests.request(method, f"{self.url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10)

    def process_report(self) -> dict:
        """What the API's worker has loaded and opened (its ``/process`` view)."""
        return requests.get(f"{self.url}/process", timeout=10).json()

    def environment(self) -> dict[str, str]:
        """The environment its master and workers actually run with, read from /proc."""
        pids = [self.process.pid, *Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()]
        found: dict[str, str] = {}
        for pid in pids:
            for entry in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                name, _, value = entry.decode(errors="replace").partition("=")
                if name:
                    found[name] = value
        return found


@contextmanager
def served_api(folder: Path, **variables: str) -> Iterator[RemoteAPI]:
    """Serve the API project with ``PATH`` and variables as its whole environment; stop it afterwards."""
    port = free_port()
    log_path = folder / f"remote-api-{port}.log"
    process = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "tests.remote_api.wsgi", "--config", str(ROOT / "oauthserver/gunicorn.conf.py"),
            "--bind", f"127.0.0.1:{port}", "--workers", "1", "--no-control-socket",
        ],
        env={"PATH": os.environ["PATH"], **variables}, cwd=ROOT, stdout=log_path.open("w"), stderr=subprocess.STDOUT,
    )
    api = RemoteAPI(f"http://127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                if requests.get(f"{api.url}/open", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert process.poll() is None and time.monotonic() < deadline, f"the API did not start:\n{api.log()}"
            time.sleep(0.1)
        yield api
    finally:
        process.terminate()
        process.wait(timeout=30)


class CountingProxy:
    """A reverse proxy on a free port: forwards each request to ``upstream`` and counts it by path."""

    def __init__(self) -> None:
        self.upstream = ""
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):  # HTTP/1.0: one request per connection
            def do_GET(self) -> None:
                proxy._forward(self)

            do_POST = do_GET

            def log_message(self, format: str, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def total(self) -> int:
        with self._lock:
            return sum(self.calls.values())

    def count(self, path: str) -> int:
        with self._lock:
            return self.calls[path]

    def close(self) -> None:
        """Stop listening: from now on the API's calls are refused, as by a server that is down."""
        self._server.shutdown()
        self._server.server_close()

    def _forward(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.calls[urlsplit(handler.path).path] += 1
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        headers = {name: handler.headers[name] for name in FORWARDED_HEADERS if name in handler.headers}
        try:
            answer = requests.request(
                handler.command, f"{self.upstream}{handler.path}", data=body, headers=headers, timeout=10, allow_redirects=False
            )
        except requests.RequestException:
            handler.send_error(502)
            return
        handler.send_response(answer.status_code)
        for name in RETURNED_HEADERS:
            if name in answer.headers:
                handler.send_header(name, answer.headers[name])
        handler.send_header("Content-Length", str(len(answer.content)))
        handler.end_headers()
        handler.wfile.write(answer.content)


@contextmanager
def counting_proxy() -> Iterator[CountingProxy]:
    proxy = CountingProxy()
    try:
        yield proxy
    finally:
        proxy.close()


def issue(server_url: str, client: dict, **fields: str) -> str:
    """An access token from the server's token endpoint for client (HTTP Basic)."""
    response = requests.post(
        f"{server_url}/oauth/token", data={"grant_type": "client_credentials", **fields},
        auth=(client["client_id"], client["client_secret"]), timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def introspect(server_url: str, resource_client: dict, token: str) -> dict:
    response = requests.post(
        f"{server_url}/oauth/introspect", data={"token": token},
        auth=(resource_client["client_id"], resource_client["client_secret"]), timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def revoke(server_url: str, client: dict, token: str) -> None:
    """Revoke token as the client that owns it (RFC 7009)."""
    response = requests.post(
        f"{server_url}/oauth/revoke", data={"token": token}, auth=(client["client_id"], client["client_secret"]), timeout=10
    )
    assert response.status_code == 200, response.text


def assert_invalid_token(response: requests.Response) -> None:
    assert response.status_code == 401, response.text
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
