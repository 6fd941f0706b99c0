"""Real gunicorn instances on a database of their own, for the multi-instance and load tests.

pytest-django's test database does not fit: on SQLite it lives in memory, out of reach of other
processes, and its per-test transactions would hide rows from them. So each test module makes a
database of its own (a temporary SQLite file, or a scratch PostgreSQL database next to the
configured one), migrates it with ``manage.py migrate`` and drops it afterwards. The instances
get the same ``SECRET_KEY`` (it also encrypts the signing keys) and the same ``REDIS_URL`` as
this test run, if any.
"""

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.databases import scratch_database

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 30


@dataclass
class Instance:
    """One gunicorn master with its workers, serving the project on 127.0.0.1."""

    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass
class SharedSetup:
    """The environment every instance and management command of one test module shares."""

    env: dict[str, str]
    folder: Path
    instances: list[Instance] = field(default_factory=list)

    def manage(self, *args: str) -> str:
        """Run a management command against the shared database; return its last output line."""
        result = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip().splitlines()[-1]

    def create_client(self, name: str, *options: str) -> dict:
        """Register a client as an operator would, adding its scopes to the (empty) registry."""
        return json.loads(self.manage("createclient", name, "--create-scopes", *options))

    def start(
        self, *, workers: int = 1, host: str = "", args: tuple[str, ...] = (), env: dict[str, str] | None = None
    ) -> Instance:
        """Start an instance on a free port and wait until it answers ``/healthz``.

        host names another simulated host: its own ``VAR_DIR``, so it shares no stamp files with
        the management commands and the instances of the default host. Served as in production
        (``oauthserver/gunicorn.conf.py``: its worker class and threads); args go to gunicorn too.
        env holds settings of this instance alone (an ``OAUTH_ISSUER`` of its own, say).
        """
        port = free_port()
        env = {**self.env, **({"VAR_DIR": str(self.folder / f"host-{host}")} if host else {}), **(env or {})}
        log_path = self.folder / f"gunicorn-{port}.log"
        process = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "oauthserver.wsgi", "--config", str(ROOT / "oauthserver/gunicorn.conf.py"),
                "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--no-control-socket", *args,
            ],
            env=env, cwd=ROOT, stdout=log_path.open("w"), stderr=subprocess.STDOUT,
        )
        instance = Instance(f"http://127.0.0.1:{port}", process, log_path)
        self.instances.append(instance)
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                if requests.get(f"{instance.url}/healthz", timeout=5).status_code == 200:
                    return instance
            except requests.RequestException:  # not listening yet, or a first request still loading
                pass
            assert process.poll() is None and time.monotonic() < deadline, f"gunicorn did not start:\n{instance.log()}"
            time.sleep(0.1)

    def stop_all(self) -> None:
        for instance in self.instances:
            instance.process.terminate()
        for instance in self.instances:
            instance.process.wait(timeout=30)


@contextmanager
def shared_setup(**settings_env: str) -> Iterator[SharedSetup]:
    """A migrated database of its own plus the environment to reach it; removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="oauth-instances-") as folder:
        with _own_database(Path(folder)) as database_url:
            env = {
                **os.environ,
                "DATABASE_URL": database_url,
                "SECRET_KEY": secrets.token_urlsafe(50),
                "DEBUG": "false",
                "VAR_DIR": str(Path(folder) / "host"),
                **settings_env,
            }
            setup = SharedSetup(env, Path(folder))
            setup.manage("migrate", "--noinput")
            try:
                yield setup
            finally:
                setup.stop_all()


def _own_database(folder: Path):
    return scratch_database(os.environ.get("DATABASE_URL", ""), suffix=f"_instances_{os.getpid()}", folder=folder)


def eventually(check: Callable[[], bool], *, within: float, interval: float = 0.1) -> bool:
    """Whether check() holds at some point within the given seconds."""
    deadline = time.monotonic() + within
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
