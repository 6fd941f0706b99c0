"""``make bench``: the server as it is served in production, driven by wrk, against a ceiling view on the same server.

It never touches the database you work with. It measures on SQLite (a fresh file in a temporary
folder) and on PostgreSQL + Redis (the production set-up: a scratch database ``<name>_bench`` on
the PostgreSQL server of ``DATABASE_URL``, or of postgres://postgres@127.0.0.1:5432/test when
that is not PostgreSQL, dropped at the end; and a Redis server of its own, started on a free port
with nothing on disk, when ``redis-server`` is installed; else ``REDIS_URL`` as it is).
``BENCH_DATABASES`` chooses (``sqlite,postgres``; by default both, PostgreSQL only when it
answers).

Per database it starts the server the way ``make run`` and the README's production command do
(2 workers on 127.0.0.1, a free port), migrates, registers a JWT client, an opaque client and a
resource server, and beside it a second server of the same kind on a database of its own whose
keys sign with Ed25519 (``OAUTH_JWT_ALGORITHM=Ed25519``; a server rotates to the algorithm of its
setting, so the two cannot share one database). It checks every scenario answers correctly once,
warms each up, then measures them all in rounds (each round gives every scenario, the ceiling
included, its share of the duration, so the machine's changing speed weighs on both sides of
every ratio) and prints one table. Every scenario runs twice: with a new connection per request
(``Connection: close``, a client without a pool) and with keep-alive (a pooled client, as
``requests.Session`` or httpx), each against the ceiling measured the same way. The same figures go to
``bench/results/<UTC time>-<database>.json``. It exits 1 when a scenario had errors, missed its
target ratio to the ceiling (the targets are for a new connection per request), or its 99th
percentile was over 5 times the ceiling's.

To choose a server, BENCH_SERVERS names several (``sync,gthread:4,granian:1``: a gunicorn worker
class, or granian's WSGI interface, and after a colon the threads per worker): one server each,
all measured in the same rounds, so that their ratios come from the same machine at the same
moments. Each then also meets slow clients (slow-loris): BENCH_SLOW_CLIENTS connections (2; a
comma-separated list measures each count) send a token request's headers a byte a second while a
normal client asks ``/healthz`` and ``/oauth/token`` in turn; the table gives its slowest answer
(timeout 3 s).

Settings (environment): BENCH_DATABASES, BENCH_DURATION (10 s per scenario and connection mode),
BENCH_ROUNDS (5), BENCH_WARMUP (3 s), BENCH_THREADS (1), BENCH_CONNECTIONS (8), BENCH_WORKERS (2),
BENCH_SERVERS (the project's own), BENCH_SLOW_CLIENTS (2), BENCH_ONLY (comma-separated scenario
names: jwt, jwt-ed25519, opaque, introspect, hello; the ceiling always runs), BENCH_KEEP_ALIVE
(both; ``on`` or ``off`` for one mode only). wrk and the server share the machine's cores, so one
wrk thread is enough to saturate two workers and leaves them the most CPU.
"""

import base64
import json
import os
import platform
import runpy
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from databases import scratch_database  # bench/databases.py, beside this script

ROOT = Path(__file__).resolve().parent.parent
LUA_SCRIPT = ROOT / "bench" / "request.lua"
RESULTS_DIR = ROOT / "bench" / "results"
MANAGE = [sys.executable, str(ROOT / "manage.py")]
GUNICORN_CONFIG = ROOT / "oauthserver" / "gunicorn.conf.py"
SLOW_CLIENT_TIMEOUT = 3.0
FORM = "application/x-www-form-urlencoded"
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/test"
# A scenario's 99th percentile may be at most this many times the ceiling's (same connection mode).
P99_LIMIT = 5.0
# Least share of the ceiling's requests per second (same run, same connection mode): SQLite, PostgreSQL + Redis.
TARGETS = {
    "jwt": (0.45, 0.45),
    "jwt-ed25519": (0.60, 0.60),
    "opaque": (0.50, 0.40),
    "introspect": (0.65, 0.60),
    "hello": (0.80, 0.75),
}


@dataclass(frozen=True, slots=True)
class Scenario:
    """One row of the table: what wrk sends, to which server, and the least share of the ceiling it must reach."""

    name: str
    label: str
    method: str
    path: str
    target: float | None
    authorization: str = ""
    body: str = ""
    content_type: str = ""
    keep_alive: bool = False
    instance: str = "main"  # "main" (RS256), or "ed25519": the server that signs with Ed25519

    @property
    def key(self) -> str:
        return f"{self.name}{'+keep-alive' if self.keep_alive else ''}"


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

    def command(self, port: int, workers: int) -> list[str]:
        """The command that serves the project on 127.0.0.1:port with workers processes, no access log."""
        if self.name == "granian":
            # Its backpressure (requests a worker takes at once, default backlog / workers) stays: a
            # connection still sending its headers holds a slot, so backpressure = threads let two
            # slow clients stall both workers; the threads bound the Python side alone.
            return [
                sys.executable, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(workers), "--blocking-threads", str(self.threads or 1),
                "--http", "1", "--no-ws", "--log-level", "warning", "oauthserver.wsgi:application",
            ]
        return [
            sys.executable, "-m", "gunicorn", "oauthserver.wsgi", "--config", str(GUNICORN_CONFIG),
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


@dataclass(frozen=True, slots=True)
class Result:
    name: str
    label: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    cpu_ms: float  # CPU time of the server's workers per request, whatever else runs on the machine
    ratio: float | None = None
    target: float | None = None
    keep_alive: bool = False
    p99_limit_ms: float | None = None  # P99_LIMIT times the ceiling's p99

    @property
    def p99_ok(self) -> bool:
        return self.p99_limit_ms is None or self.p99_ms <= self.p99_limit_ms

    @property
    def passed(self) -> bool:
        return self.errors == 0 and self.p99_ok and (self.target is None or (self.ratio or 0) >= self.target)


@dataclass(frozen=True, slots=True)
class Settings:
    duration: int
    warmup: int
    threads: int
    connections: int
    workers: int
    rounds: int
    servers: list[Server]
    slow_counts: list[int]
    only: set[str]
    modes: list[bool]  # keep-alive off, on


def main() -> int:
    keep_alive = os.environ.get("BENCH_KEEP_ALIVE", "both").lower()
    settings = Settings(
        duration=int(os.environ.get("BENCH_DURATION", "10")),
        warmup=int(os.environ.get("BENCH_WARMUP", "3")),
        threads=int(os.environ.get("BENCH_THREADS", "1")),
        connections=int(os.environ.get("BENCH_CONNECTIONS", "8")),
        workers=int(os.environ.get("BENCH_WORKERS", "2")),
        rounds=max(1, int(os.environ.get("BENCH_ROUNDS", "5"))),
        servers=parse_servers(os.environ.get("BENCH_SERVERS", "")),
        slow_counts=[int(n) for n in os.environ.get("BENCH_SLOW_CLIENTS", "2").split(",") if n.strip()],
        only={name for name in os.environ.get("BENCH_ONLY", "").split(",") if name},
        modes={"on": [True], "off": [False]}.get(keep_alive, [False, True]),
    )
    wrk = _find_wrk()
    load_before = os.getloadavg()[0]
    if load_before > 0.5:
        print(f"warning: load average {load_before:.1f} before the run: other processes share the CPUs, "
              "so the figures will be low and noisy", flush=True)
    failed = 0
    for kind in _databases():
        failed += _bench_database(kind, settings, wrk, load_before)
    return 1 if failed else 0


def _databases() -> list[str]:
    """BENCH_DATABASES, or SQLite and, when its server answers, PostgreSQL."""
    asked = [kind.strip() for kind in os.environ.get("BENCH_DATABASES", "").split(",") if kind.strip()]
    for kind in asked:
        if kind not in {"sqlite", "postgres"}:
            sys.exit(f"make bench: BENCH_DATABASES names sqlite and postgres, not {kind!r}")
    if asked:
        return asked
    if _postgres_answers(_postgres_url()):
        return ["sqlite", "postgres"]
    print(f"make bench: no PostgreSQL answers at {_redacted(_postgres_url())}: SQLite only "
          "(set DATABASE_URL to a PostgreSQL server, or BENCH_DATABASES=sqlite)", flush=True)
    return ["sqlite"]


def _postgres_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://", "pgsql://")) else DEFAULT_POSTGRES_URL


def _redacted(url: str) -> str:
    split = urlsplit(url)
    return split._replace(netloc=split.netloc.rpartition("@")[2]).geturl()


def _postgres_answers(url: str) -> bool:
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


def _bench_database(kind: str, settings: Settings, wrk: str, load_before: float) -> int:
    """Measure every server of settings on one kind of database; print the tables; return the misses."""
    postgres = kind == "postgres"
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="oauth-bench-")))
        redis_url, cache = stack.enter_context(_redis()) if postgres else ("", "in-process (locmem)")
        base = {
            # Issued tokens are logged but not stored as audit rows unless the environment says so: the
            # token path that high-volume installations run (README "Running in production").
            "OAUTH_AUDIT_TOKEN_ISSUANCE": "false", **os.environ, "DEBUG": "false",
            "BENCH_CEILING": "true",  # the reference view exists only for these servers
        }
        base.pop("REDIS_URL", None)
        audit_rows = base["OAUTH_AUDIT_TOKEN_ISSUANCE"].lower() in {"1", "true", "yes", "on"}
        environments, clients = {}, {}
        for instance, algorithm, redis_db in [("main", "RS256", 0), ("ed25519", "Ed25519", 1)]:
            (folder / instance).mkdir()
            database_url, database = stack.enter_context(
                _scratch_database(_postgres_url() if postgres else "", folder / instance,
                                  "_bench" if instance == "main" else "_bench_ed25519")
            )
            env = {**base, "DATABASE_URL": database_url, "OAUTH_JWT_ALGORITHM": algorithm,
                   "VAR_DIR": str(folder / instance / "var")}
            if redis_url:
                env["REDIS_URL"] = f"{redis_url}/{redis_db}"
            if instance == "main":
                description = database
            environments[instance] = env
            subprocess.run([*MANAGE, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)
            options = [("bench-jwt", "--token-format", "jwt")]
            if instance == "main":
                options += [("bench-opaque", "--token-format", "opaque"), ("bench-resource-server", "--resource-server")]
            clients[instance] = {name: _create_client(env, name, *rest) for name, *rest in options}
        running = [
            {instance: stack.enter_context(_serve(server, env, settings.workers)) for instance, env in environments.items()}
            for server in settings.servers
        ]
        jwt = _fetch_token(running[0]["main"][0], clients["main"]["bench-jwt"])
        scenarios = [
            # The targets are for a new connection per request, as they were set; with keep-alive
            # the table reports the ratios, and errors and p99 are checked alike.
            replace(scenario, target=None if scenario.target is None or keep_alive else TARGETS[scenario.name][postgres],
                    keep_alive=keep_alive)
            for keep_alive in settings.modes
            for scenario in _scenarios(clients, jwt)
            if not settings.only or scenario.name in {"ceiling", *settings.only}
        ]
        for instances in running:
            for scenario in scenarios:
                _check(instances[scenario.instance][0], scenario)

        print(
            f"\nmake bench: {description}, {settings.workers} workers: {', '.join(s.label for s in settings.servers)}; "
            f"wrk {settings.threads} thread(s) {settings.connections} connections, {settings.duration} s each in "
            f"{settings.rounds} rounds after {settings.warmup} s warm-up, {os.cpu_count()} CPUs; cache {cache}; "
            f"audit rows for issued tokens {'on' if audit_rows else 'off (log lines only)'}",
            flush=True,
        )
        run = [wrk, "-t", str(settings.threads), "-c", str(settings.connections), "-s", str(LUA_SCRIPT)]
        measured = _measure(run, running, scenarios, settings.duration, settings.warmup, settings.rounds)
        slow = [
            [_slow_clients(instances["main"][0], clients["main"]["bench-jwt"], count) for count in settings.slow_counts]
            for instances in running
        ]

    tables = [_ratios(results, scenarios) for results in measured]
    for server, results in zip(settings.servers, tables, strict=True):
        if len(settings.servers) > 1:
            print(f"\n{server.label}")
        print(_table(results))
    if len(settings.servers) > 1:
        print("\n" + _comparison(settings.servers, tables))
    print("\n" + _slow_table(settings.servers, settings.slow_counts, slow))
    path = _write_results(settings, tables, slow, description, "postgresql" if postgres else "sqlite", cache,
                          audit_rows, load_before)
    print(f"written to {path.relative_to(ROOT)}")
    failed = [(server, r) for server, results in zip(settings.servers, tables, strict=True) for r in results if not r.passed]
    for server, r in failed:
        print(f"MISSED: {kind}: {server.label}: {r.label} ({_mode(r.keep_alive)}): {r.errors} errors, "
              f"{_percent(r.ratio)} of the ceiling (target {_percent(r.target)}), "
              f"p99 {r.p99_ms:.1f} ms (limit {r.p99_limit_ms or 0:.1f} ms)")
    return len(failed)


def _ratios(results: list[Result], scenarios: list[Scenario]) -> list[Result]:
    """Each result with its ratio to the ceiling of its connection mode, its target and its p99 limit."""
    ceilings = {r.keep_alive: r for r in results if r.name == "ceiling"}
    out = []
    for r, s in zip(results, scenarios, strict=True):
        ceiling = ceilings[r.keep_alive]
        out.append(replace(
            r,
            ratio=r.requests_per_second / ceiling.requests_per_second if ceiling.requests_per_second else None,
            target=s.target,
            p99_limit_ms=None if r.name == "ceiling" else round(P99_LIMIT * ceiling.p99_ms, 2),
        ))
    return out


def _measure(
    run: list[str], servers: list[dict[str, tuple[str, int]]], scenarios: list[Scenario], duration: int, warmup: int,
    rounds: int,
) -> list[list[Result]]:
    """Run wrk (the command run, without its URL) for each server (its instances' base URLs and pids)
    and each scenario, the ceiling included, in rounds: each round gives every server and scenario its
    share of the duration, so a change in the machine's speed during the run (other processes, a
    neighbour on the same host) weighs on every side of every ratio alike. One list per server."""
    for instances in servers:
        warmed = set()
        for scenario in scenarios:
            if warmup and (scenario.instance, scenario.name) not in warmed:
                warmed.add((scenario.instance, scenario.name))
                _wrk(run, *instances[scenario.instance], scenario, warmup)
    seconds = max(1, round(duration / rounds))
    measured: list[dict[str, list[Result]]] = [{scenario.key: [] for scenario in scenarios} for _ in servers]
    for _ in range(rounds):
        for instances, results in zip(servers, measured, strict=True):
            for scenario in scenarios:
                results[scenario.key].append(_wrk(run, *instances[scenario.instance], scenario, seconds))
    return [[_combine(results[scenario.key]) for scenario in scenarios] for results in measured]


@dataclass(frozen=True, slots=True)
class SlowClients:
    """What a normal client met beside count slow clients: its slowest answer and its failures."""

    count: int
    requests: int
    failures: int
    slowest_ms: float


def _slow_clients(base_url: str, client: dict, count: int, attempts: int = 4) -> SlowClients:
    """count connections send a token request's headers a byte a second (a slow-loris) while a
    normal client asks /healthz and /oauth/token in turn, each with SLOW_CLIENT_TIMEOUT."""
    split = urlsplit(base_url)
    sockets = [socket.create_connection((split.hostname, split.port), timeout=5) for _ in range(count)]
    stop = threading.Event()

    def trickle() -> None:
        for sock in sockets:
            sock.sendall(f"POST /oauth/token HTTP/1.1\r\nHost: {split.hostname}\r\nX-Slow: ".encode())
        while not stop.wait(1.0):
            for sock in sockets:
                try:
                    sock.sendall(b"a")
                except OSError:
                    pass  # dropped by the server

    trickler = threading.Thread(target=trickle, daemon=True)
    trickler.start()
    time.sleep(1.5)  # the workers accept them and start reading
    grant = Scenario("jwt", "", "POST", "/oauth/token", None, _basic(client), "grant_type=client_credentials", FORM)
    health = Scenario("ceiling", "", "GET", "/healthz", None)
    failures, slowest = 0, 0.0
    try:
        for attempt in range(attempts):
            started = time.monotonic()
            try:
                status, _ = _send(base_url, health if attempt % 2 == 0 else grant, timeout=SLOW_CLIENT_TIMEOUT)
                failures += status != 200
            except OSError:  # timed out
                failures += 1
            slowest = max(slowest, time.monotonic() - started)
    finally:
        stop.set()
        trickler.join(timeout=5)
        for sock in sockets:
            sock.close()
    time.sleep(1.0)  # let the workers the slow clients held get back to work
    return SlowClients(count, attempts, failures, round(slowest * 1000, 1))


def _scenarios(clients: dict[str, dict[str, dict]], jwt: str) -> list[Scenario]:
    """The scenarios of one connection mode; their targets are TARGETS', per database (main() sets them)."""
    grant = urlencode({"grant_type": "client_credentials"})
    introspection = urlencode({"token": jwt, "token_type_hint": "access_token"})
    main = clients["main"]
    return [
        Scenario("ceiling", "ceiling GET /bench/ceiling", "GET", "/bench/ceiling", None),
        Scenario("jwt", "JWT issuance, RS256", "POST", "/oauth/token", 0.0, _basic(main["bench-jwt"]), grant, FORM),
        Scenario(
            "jwt-ed25519", "JWT issuance, Ed25519", "POST", "/oauth/token", 0.0,
            _basic(clients["ed25519"]["bench-jwt"]), grant, FORM, instance="ed25519",
        ),
        Scenario("opaque", "opaque issuance", "POST", "/oauth/token", 0.0, _basic(main["bench-opaque"]), grant, FORM),
        Scenario(
            "introspect", "introspection of a JWT", "POST", "/oauth/introspect", 0.0,
            _basic(main["bench-resource-server"]), introspection, FORM,
        ),
        Scenario("hello", "GET /api/hello with a JWT", "GET", "/api/hello", 0.0, f"Bearer {jwt}"),
    ]


def _find_wrk() -> str:
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if os.access(candidate := os.path.join(folder, "wrk"), os.X_OK):
            return candidate
    sys.exit("make bench needs wrk, the HTTP load generator: apt-get install -y wrk")


@contextmanager
def _scratch_database(database_url: str, folder: Path, suffix: str):
    """Yield (url, description) of an empty database that is thrown away afterwards."""
    postgres = bool(database_url) and not database_url.startswith("sqlite")
    try:
        with scratch_database(database_url, suffix=suffix, folder=folder) as url:
            name = urlsplit(url).path.lstrip("/")
            yield url, f"PostgreSQL (scratch database {name})" if postgres else "SQLite (temporary file, WAL)"
    except ValueError as error:
        sys.exit(f"make bench: {error}")


@contextmanager
def _redis():
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
            yield urlsplit(url)._replace(path="").geturl(), f"Redis ({_redacted(url)}, databases 0 and 1)"
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


def _create_client(env: dict[str, str], name: str, *options: str) -> dict:
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
def _serve(server_kind: Server, env: dict[str, str], workers: int):
    """Serve the project on a free port until the block ends; yield its base URL and the server's pid."""
    port = _free_port()
    log = tempfile.TemporaryFile(mode="w+")
    server = subprocess.Popen(
        server_kind.command(port, workers), env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base_url}/healthz", timeout=1).read()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    sys.exit(f"{server_kind.label} did not start:\n{log.read()[-3000:]}")
                time.sleep(0.1)
        yield base_url, server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _basic(client: dict) -> str:
    return "Basic " + base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()


def _send(base_url: str, scenario: Scenario, timeout: float = 10) -> tuple[int, dict]:
    headers = {name: value for name, value in [("Authorization", scenario.authorization), ("Content-Type", scenario.content_type)] if value}
    request = urllib.request.Request(
        base_url + scenario.path, data=scenario.body.encode() or None, method=scenario.method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, {"body": error.read()[:300].decode(errors="replace")}


def _fetch_token(base_url: str, client: dict) -> str:
    grant = Scenario("jwt", "", "POST", "/oauth/token", None, _basic(client), "grant_type=client_credentials", FORM)
    status, body = _send(base_url, grant)
    if status != 200:
        sys.exit(f"the token endpoint answered {status}: {body}")
    return body["access_token"]


def _check(base_url: str, scenario: Scenario) -> None:
    """Fail before measuring when a scenario would only measure an error path."""
    status, body = _send(base_url, scenario)
    healthy = status == 200 and {
        "ceiling": "status" in body,
        "jwt": "access_token" in body,
        "jwt-ed25519": "access_token" in body,
        "opaque": "access_token" in body,
        "introspect": body.get("active") is True,
        "hello": "client_id" in body,
    }[scenario.name]
    if not healthy:
        sys.exit(f"{scenario.label}: {scenario.method} {scenario.path} answered {status} {body}; nothing to measure")


def _worker_cpu_seconds(server_pid: int) -> float:
    """User plus system CPU time so far of the server's children, its workers (Linux). The master's
    own is left out: gunicorn's and granian's masters only watch their workers."""
    children = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
    ticks = 0
    for child in children:
        fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _wrk(command: list[str], base_url: str, server_pid: int, scenario: Scenario, seconds: int) -> Result:
    env = {
        **os.environ,
        "BENCH_METHOD": scenario.method,
        "BENCH_BODY": scenario.body,
        "BENCH_CONTENT_TYPE": scenario.content_type,
        "BENCH_AUTHORIZATION": scenario.authorization,
        "BENCH_CONNECTION": "" if scenario.keep_alive else "close",
    }
    env = {name: value for name, value in env.items() if value}
    cpu_before = _worker_cpu_seconds(server_pid)
    output = subprocess.run(
        [*command, "-d", f"{seconds}s", "--timeout", "5s", base_url + scenario.path],
        env=env, check=True, capture_output=True, text=True,
    ).stdout
    cpu = _worker_cpu_seconds(server_pid) - cpu_before
    line = next((line for line in output.splitlines() if line.startswith("BENCH_RESULT ")), None)
    if line is None:
        sys.exit(f"wrk printed no result for {scenario.label}:\n{output}")
    figures = json.loads(line.removeprefix("BENCH_RESULT "))
    return Result(
        name=scenario.name,
        label=scenario.label,
        requests_per_second=round(figures["requests"] / (figures["duration_us"] / 1e6), 1),
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        errors=figures["status_errors"] + figures["socket_errors"],
        requests=figures["requests"],
        cpu_ms=round(1000 * cpu / max(figures["requests"], 1), 3),
        keep_alive=scenario.keep_alive,
    )


def _combine(runs: list[Result]) -> Result:
    """One result from several runs of a scenario: requests over total time, the worst latencies."""
    first = runs[0]
    requests = sum(r.requests for r in runs)
    seconds = sum(r.requests / r.requests_per_second for r in runs if r.requests_per_second)
    return Result(
        name=first.name,
        label=first.label,
        requests_per_second=round(requests / seconds, 1) if seconds else 0.0,
        p50_ms=max(r.p50_ms for r in runs),
        p99_ms=max(r.p99_ms for r in runs),
        errors=sum(r.errors for r in runs),
        requests=requests,
        cpu_ms=round(sum(r.cpu_ms * r.requests for r in runs) / max(requests, 1), 3),
        keep_alive=first.keep_alive,
    )


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


def _mode(keep_alive: bool) -> str:
    return "keep-alive" if keep_alive else "new connection per request"


def _table(results: list[Result]) -> str:
    """The figures, with the workers' CPU per request beside them: unlike requests per second, that
    hardly moves when other processes compete for the machine, so its ratio is the steadier one.
    One block per connection mode, each against its own ceiling."""
    header = (
        f"{'scenario':<27} {'req/s':>6} {'p50 ms':>7} {'p99 ms':>7} {'p99/c':>5} {'errors':>6} {'ratio':>6}  "
        f"{'CPU ms/req':>10} {'CPU ratio':>9}  target"
    )
    lines = []
    for keep_alive in sorted({r.keep_alive for r in results}):
        block = [r for r in results if r.keep_alive == keep_alive]
        ceiling = next(r for r in block if r.name == "ceiling")
        lines += ["" if lines else None, _mode(keep_alive), header, "-" * len(header)]
        for r in block:
            verdict = ""
            misses = [m for m, bad in [("ratio", r.target is not None and (r.ratio or 0) < r.target),
                                        ("p99", not r.p99_ok), ("errors", r.errors > 0)] if bad]
            if r.target is not None:
                verdict = f">= {_percent(r.target)} {'ok' if not misses else 'MISSED (' + ', '.join(misses) + ')'}"
            elif r.name != "ceiling":
                verdict = "(no target) " + ("ok" if not misses else "MISSED (" + ", ".join(misses) + ")")
            cpu_ratio = ceiling.cpu_ms / r.cpu_ms if r.cpu_ms else None
            p99_times = f"{r.p99_ms / ceiling.p99_ms:.1f}" if ceiling.p99_ms else ""
            lines.append(
                f"{r.label[:27]:<27} {r.requests_per_second:>6.0f} {r.p50_ms:>7.2f} {r.p99_ms:>7.2f} {p99_times:>5} "
                f"{r.errors:>6} {_percent(r.ratio):>6}  {r.cpu_ms:>10.2f} {_percent(cpu_ratio):>9}  {verdict}"
            )
    lines.append(f"(ratio: of the ceiling's requests/s in the same mode; p99/c: p99 over the ceiling's, "
                 f"at most {P99_LIMIT:.0f}; CPU: the workers' user + system time per request)")
    return "\n".join(line for line in lines if line is not None)


def _comparison(servers: list[Server], tables: list[list[Result]]) -> str:
    """Each server's requests per second and CPU per request against the first's, scenario by scenario."""
    first = tables[0]
    names = [f"{r.name[:10]}{'+ka' if r.keep_alive else ''}" for r in first]
    header = f"{'same run, against ' + servers[0].label:<40} " + " ".join(f"{name:>13}" for name in names)
    lines = [header, "-" * len(header)]
    for server, results in zip(servers[1:], tables[1:], strict=True):
        rps = " ".join(
            f"{_percent(r.requests_per_second / f.requests_per_second if f.requests_per_second else None):>13}"
            for r, f in zip(results, first, strict=True)
        )
        cpu = " ".join(f"{_percent(r.cpu_ms / f.cpu_ms if f.cpu_ms else None):>13}" for r, f in zip(results, first, strict=True))
        lines.append(f"{server.label + ': req/s':<40} {rps}")
        lines.append(f"{server.label + ': CPU per request':<40} {cpu}")
    lines.append("(+ka: with keep-alive)")
    return "\n".join(lines)


def _slow_table(servers: list[Server], counts: list[int], slow: list[list[SlowClients]]) -> str:
    header = f"{'slow clients (a header byte a second)':<40} " + " ".join(f"{str(n) + ' slow':>22}" for n in counts)
    lines = [header, "-" * len(header)]
    for server, probes in zip(servers, slow, strict=True):
        cells = " ".join(
            f"{f'{p.failures}/{p.requests} failed, max {p.slowest_ms / 1000:.2f} s':>22}" for p in probes
        )
        lines.append(f"{server.label:<40} {cells}")
    lines.append(f"(a normal client's requests, /healthz and /oauth/token in turn; timeout {SLOW_CLIENT_TIMEOUT:.0f} s)")
    return "\n".join(lines)


def _write_results(
    settings: Settings, tables, slow, database: str, kind: str, cache: str, audit_rows: bool, load_before: float
) -> Path:
    now = datetime.now(UTC)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{now:%Y%m%dT%H%M%SZ}-{kind}.json"
    document = {
        "measured_at": now.isoformat(timespec="seconds"),
        "database": database,
        "cache": cache,
        "audit_rows_for_issued_tokens": audit_rows,
        "server": f"{settings.workers} workers, 127.0.0.1",
        "load": (
            f"wrk, {settings.threads} thread(s), {settings.connections} connections, {settings.duration} s in "
            f"{settings.rounds} rounds after {settings.warmup} s warm-up, per connection mode"
        ),
        "p99_limit": f"{P99_LIMIT:g} x the ceiling's p99",
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_before": round(load_before, 2),
            "load_average_after": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        # The first server's, as before several could be compared.
        "results": [{**asdict(r), "passed": r.passed} for r in tables[0]],
        "servers": [
            {
                "server": server.label,
                "results": [{**asdict(r), "passed": r.passed} for r in results],
                "slow_clients": [asdict(p) for p in probes],
            }
            for server, results, probes in zip(settings.servers, tables, slow, strict=True)
        ],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


if __name__ == "__main__":
    sys.exit(main())
