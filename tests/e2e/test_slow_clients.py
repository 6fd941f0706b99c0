"""Slow clients (slow-loris) against gunicorn as every command here serves it (oauthserver/gunicorn.conf.py).

A client that sends its request a byte a second holds the connection it is read on. With sync
workers, two such clients held both workers of ``make run`` until the master killed them 30 s
later; the served configuration must keep answering everyone else meanwhile (docs/production.md,
"Worker class and the reverse proxy").
"""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import requests

WORKERS = 2
# More slow clients than workers (each would hold a sync worker), fewer than the threads of one
# gthread worker, however the workers share them out.
SLOW_CLIENTS = 3
PATIENCE_SECONDS = 2.0


@contextmanager
def slow_clients(url: str, count: int) -> Iterator[list[socket.socket]]:
    """count connections that send a token request's first line at once, then a header byte a second."""
    host, port = urlsplit(url).hostname, urlsplit(url).port
    sockets = [socket.create_connection((host, port), timeout=5) for _ in range(count)]
    for sock in sockets:
        sock.sendall(f"POST /oauth/token HTTP/1.1\r\nHost: {host}\r\nX-Slow: ".encode())
    stop = threading.Event()

    def trickle() -> None:
        while not stop.wait(1.0):
            for sock in sockets:
                sock.sendall(b"a")  # raises if the server dropped the connection: the thread ends

    trickler = threading.Thread(target=trickle, daemon=True)
    trickler.start()
    try:
        yield sockets
    finally:
        stop.set()
        trickler.join(timeout=5)
        for sock in sockets:
            sock.close()


def test_clients_sending_a_byte_a_second_do_not_keep_others_from_their_tokens(setup):
    client = setup.create_client("patient", "--scopes", "read")
    server = setup.start(workers=WORKERS)  # with the project's config, as every instance
    with slow_clients(server.url, SLOW_CLIENTS) as sockets:
        time.sleep(1.5)  # the workers have accepted them and are reading their headers
        for _ in range(3):
            started = time.monotonic()
            health = requests.get(f"{server.url}/healthz", timeout=PATIENCE_SECONDS)
            token = requests.post(
                f"{server.url}/oauth/token", data={"grant_type": "client_credentials"},
                auth=(client["client_id"], client["client_secret"]), timeout=PATIENCE_SECONDS,
            )
            elapsed = time.monotonic() - started
            assert health.status_code == 200 and health.json()["status"] == "ok", health.text
            assert token.status_code == 200 and token.json()["token_type"] == "Bearer", token.text
            assert token.json()["scope"] == "read"
            assert elapsed < PATIENCE_SECONDS, f"{elapsed:.1f} s for two requests beside {SLOW_CLIENTS} slow clients"
        # The slow clients were still being read, not dropped: each takes one more byte.
        for sock in sockets:
            sock.sendall(b"a")
    assert server.process.poll() is None
    assert "WORKER TIMEOUT" not in server.log()
