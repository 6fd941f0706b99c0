"""What ``make bench`` serves, and how: the project under gunicorn or granian, each instance with an
environment and a scratch database of its own, and a redis-server of the bench's own; beside it,
the separate API project of ``tests/remote_api`` (protected by ``resource_server``) under the same
server, in jwks and in introspection mode, trusting the main instance as its issuer.

Nothing here touches the database you work with: SQLite is a fresh file in a temporary folder,
PostgreSQL a scratch database beside the one ``DATABASE_URL`` names (``bench/databases.py``).
"""

import json
import os
import runpy
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from databases import scratch_database  # bench/databases.py, beside this script
from scenarios import REALM

ROOT = Path(__file__).resolve().parent.parent
MANAGE = [sys.executable, str(ROOT / "manage.py")]
GUNICORN_CONFIG = ROOT / "oauthserver" / "gunicorn.conf.py"
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True, slots=True)
class Project:
    """What a server serves: a WSGI module, and a path that answers once it is up."""

    wsgi: str
    ready_path: str


AUTHORIZATION_SERVER = Project("oauthserver.wsgi", "/healthz")
REMOTE_API = Project("tests.remote_api.wsgi", "/open")  # a separate API project (tests/remote_api)
# The instances of one run, and the project each serves: the authorization server signing with
# RS256 ("main") and with Ed25519, and the API project in each remote mode, the main one its issuer.
PROJECTS = {"main": AUTHORIZATION_SERVER, "ed25519": AUTHORIZATION_SERVER, "api-jwks": REMOTE_API,
            "api-introspection": REMOTE_API}


@dataclass(frozen=True, slots=True)
class Server:
    """One server under test: a gunicorn worker class (sync, gthread, gevent) or "granian" (its WSGI
    interface), and its threads per worker; Server(): the project's own (``oauthserver/gunicorn.conf.py``)."""

    name: str | None = None
    threads: int | None = None

    @property
    def label(self) -> str:
        if self.name == "granian":
            return f"granian x{self.threads or 1} threads"
        config = runpy.run_path(str(GUNICORN_CONFIG))
        worker_class = self.name or config.get("worker_class", "sync")
        threads = self.threads or (1 if self.name else config.get("threads", 1))
        suffix = "" if self.name else " (config)"
        return (f"{worker_class} x{threads} threads" if worker_class == "gthread" else worker_class) + suffix

    def command(self, port: int, workers: int, project: Project = AUTHORIZATION_SERVER) -> list[str]:
        """The command that serves project on 127.0.0.1:port with workers processes, no access log."""
        if self.name == "granian":
            # Its backpressure (requests a worker takes at once, default backlog / workers) stays: a
            # connection still sending its headers holds a slot, so backpressure = threads let two
            # slow clients stall both workers; the threads bound the Python side alone.
            return [
                sys.executable, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(workers), "--blocking-threads", str(self.threads or 1),
                "--http", "1", "--no-ws", "--log-level", "warning", f"{project.wsgi}:application",
            ]
        return [
            sys.executable, "-m", "gunicorn", project.wsgi, "--config", str(GUNICORN_CONFIG),
            "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--no-control-socket", *self.args(),
        ]

    def args(self) -> list[str]:
        """gunicorn's options beyond its config file: the worker class and threads asked for."""
        if self.name is None or self.name == "granian":
            return []
        return ["--worker-class", self.name, "--threads", str(self.threads or 1)]


def parse_servers(text: str) -> list[Server]:
    """``sync,gthread:4,granian:1`` as servers; empty: the project's own."""
    servers = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, threads = item.partition(":")
        servers.append(Server(name, int(threads) if threads else (4 if name == "gthread" else None)))
    return servers or [Server()]


def postgres_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://", "pgsql://")) else DEFAULT_POSTGRES_URL


def redacted(url: str) -> str:
    split = urlsplit(url)
    return split._replace(netloc=split.netloc.rpartition("@")[2]).geturl()


def postgres_answers(url: str) -> bool:
    import environ
    import psycopg

    config = environ.Env.db_url_config(url)
    try:
        psycopg.connect(
            host=config.get("HOST") or None, port=config.get("PORT") or None, user=config.get("USER") or None,
            password=config.get("PASSWORD") or None, dbname="postgres", connect_timeout=3,
        ).close()
    except psycopg.Error:
        return False
    return True


def prepare_instances(
    stack: ExitStack, folder: Path, postgres: bool, redis_url: str
) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, dict]], str]:
    """The environments of the instances (``PROJECTS``); their clients; and a description of the
    main one's database.

    The two authorization servers, "main" (RS256) and "ed25519" (a server rotates to the algorithm
    of its setting, so the two cannot share one database), each on a scratch database of its own
    (dropped when stack closes), migrated, with its clients registered, and named by the URL it
    will be served at (``OAUTH_ISSUER``; ``issuer_port``), so that its RFC 8414 metadata points at
    itself. The API project in each remote mode, with nothing in its environment but PATH and its
    RESOURCE_* settings, trusting the main server (introspection with its resource-server client).
    """
    base = {
        # Issued tokens are logged but not stored as audit rows unless the environment says so: the
        # token path that high-volume installations run (README "Running in production").
        "OAUTH_AUDIT_TOKEN_ISSUANCE": "false", **os.environ, "DEBUG": "false",
        "BENCH_CEILING": "true",  # the reference view exists only for these servers
    }
    base.pop("REDIS_URL", None)
    base.pop("OAUTH_AUDIENCE", None)  # tokens for the issuer itself, the audience the API project expects
    environments, clients = {}, {}
    for instance, algorithm, redis_db in [("main", "RS256", 0), ("ed25519", "Ed25519", 1)]:
        (folder / instance).mkdir()
        database_url, database = stack.enter_context(
            described_scratch_database(postgres_url() if postgres else "", folder / instance,
                                       "_bench" if instance == "main" else "_bench_ed25519")
        )
        env = {**base, "DATABASE_URL": database_url, "OAUTH_JWT_ALGORITHM": algorithm,
               "OAUTH_ISSUER": f"http://127.0.0.1:{_free_port()}", "VAR_DIR": str(folder / instance / "var")}
        if redis_url:
            env["REDIS_URL"] = f"{redis_url}/{redis_db}"
        if instance == "main":
            description = database
        environments[instance] = env
        subprocess.run([*MANAGE, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)
        options = [("bench-jwt", "--token-format", "jwt")]
        if instance == "main":
            # A realm of its own, RS256 as the default realm: the jwt-realm row is the jwt row in a realm.
            subprocess.run([*MANAGE, "createrealm", REALM], env=env, check=True, cwd=ROOT, capture_output=True)
            options += [("bench-opaque", "--token-format", "opaque"), ("bench-resource-server", "--resource-server"),
                        ("bench-realm-jwt", "--token-format", "jwt", "--realm", REALM)]
        clients[instance] = {name: create_client(env, name, *rest) for name, *rest in options}
    for mode in ("jwks", "introspection"):
        environments[f"api-{mode}"] = remote_api_environment(
            mode, environments["main"]["OAUTH_ISSUER"], clients["main"]["bench-resource-server"]
        )
    return environments, clients, description


def remote_api_environment(mode: str, issuer: str, resource_server: dict) -> dict[str, str]:
    """The API project's whole environment (tests/remote_api/settings.py): PATH and its RESOURCE_*
    settings, nothing of the server's. Tokens are for the issuer itself (its default audience);
    introspection authenticates as the resource-server client."""
    env = {"PATH": os.environ.get("PATH", ""), "RESOURCE_MODE": mode, "RESOURCE_ISSUER": issuer,
           "RESOURCE_AUDIENCE": issuer}
    if mode == "introspection":
        env["RESOURCE_CLIENT_ID"] = resource_server["client_id"]
        env["RESOURCE_CLIENT_SECRET"] = resource_server["client_secret"]
    return env


def issuer_port(env: dict[str, str]) -> int | None:
    """The port an authorization server instance names itself by (its first server listens there)."""
    return urlsplit(env["OAUTH_ISSUER"]).port if "OAUTH_ISSUER" in env else None


@contextmanager
def described_scratch_database(database_url: str, folder: Path, suffix: str):
    """Yield (url, description) of an empty database that is thrown away afterwards."""
    postgres = bool(database_url) and not database_url.startswith("sqlite")
    try:
        with scratch_database(database_url, suffix=suffix, folder=folder) as url:
            name = urlsplit(url).path.lstrip("/")
            yield url, f"PostgreSQL (scratch database {name})" if postgres else "SQLite (temporary file, WAL)"
    except ValueError as error:
        sys.exit(f"make bench: {error}")


@contextmanager
def redis_server():
    """Yield the URL (without a database number) of a Redis server for the bench alone, and its
    description: one started on a free port, keeping nothing on disk, when redis-server is
    installed; else REDIS_URL's server (the bench then uses its databases 0 and 1 and never flushes
    them); else "" (no Redis)."""
    executable = shutil.which("redis-server")
    if executable is None:
        url = os.environ.get("REDIS_URL", "")
        if not url:
            print("make bench: no redis-server and no REDIS_URL: PostgreSQL without Redis", flush=True)
        if url:
            yield urlsplit(url)._replace(path="").geturl(), f"Redis ({redacted(url)}, databases 0 and 1)"
        else:
            yield "", "in-process (locmem)"
        return
    port = _free_port()
    server = subprocess.Popen(
        [executable, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
         "--daemonize", "no", "--loglevel", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                    probe.sendall(b"PING\r\n")
                    if probe.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    sys.exit("make bench: redis-server did not start")
                time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}", f"Redis (a redis-server of its own on port {port})"
    finally:
        server.terminate()
        server.wait(timeout=10)


def create_client(env: dict[str, str], name: str, *options: str) -> dict:
    output = subprocess.run(
        [*MANAGE, "createclient", name, "--scopes", "read", "--create-scopes", *options],
        env=env, check=True, cwd=ROOT, capture_output=True, text=True,
    ).stdout
    # The command's own line is the last: audit events may be logged to stdout before it.
    return json.loads(output.strip().splitlines()[-1])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serve(server_kind: Server, env: dict[str, str], workers: int, project: Project = AUTHORIZATION_SERVER,
          port: int | None = None):
    """Serve project on port (a free one if None) until the block ends; yield its base URL and the server's pid."""
    port = port or _free_port()
    log = tempfile.TemporaryFile(mode="w+")
    server = subprocess.Popen(
        server_kind.command(port, workers, project), env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base_url}{project.ready_path}", timeout=1).read()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    sys.exit(f"{server_kind.label} ({project.wsgi}) did not start:\n{log.read()[-3000:]}")
                time.sleep(0.1)
        yield base_url, server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
