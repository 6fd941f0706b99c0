"""The HTTP a remote mode sends to the server: one pool of kept-alive connections per process.

What makes a warm introspection cost one round trip and no TCP handshake (issue 13: "over a
pooled HTTP connection"): calls after the first reuse the connection the first one opened.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from resource_server.transport import Transport


class _KeepAlive(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # connections stay open between requests

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1  # once per TCP connection, however many requests it carries

    def log_message(self, format: str, *args) -> None:
        pass

    def do_GET(self) -> None:
        self._answer({"issuer": "http://127.0.0.1"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = self.rfile.read(length).decode("ascii")
        self._answer({"active": False, "form": form, "authorization": self.headers.get("Authorization")})

    def _answer(self, document: dict) -> None:
        body = json.dumps(document).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _KeepAlive)
    httpd.daemon_threads = True
    httpd.connections = 0
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_calls_reuse_one_kept_alive_connection(server):
    url = f"http://127.0.0.1:{server.server_address[1]}"
    transport = Transport(timeout=2)
    for index in range(5):
        status, answer = transport.post_form(f"{url}/oauth/introspect", {"token": f"t{index}"}, authorization="Basic eA==")
        assert (status, answer["form"], answer["authorization"]) == (200, f"token=t{index}", "Basic eA==")
    assert transport.get_json(f"{url}/.well-known/oauth-authorization-server") == (200, {"issuer": "http://127.0.0.1"})
    assert server.connections == 1


def test_each_transport_has_its_own_pool(server):
    url = f"http://127.0.0.1:{server.server_address[1]}/x"
    Transport(timeout=2).get_json(url)
    Transport(timeout=2).get_json(url)
    assert server.connections == 2  # the count above is of reuse, not of a server that merges connections
