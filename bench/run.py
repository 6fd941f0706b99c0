"""``make bench``: the server under gunicorn, driven by wrk, against a ceiling view on the same server.

It never touches the database you work with: with SQLite (the default) it uses a fresh file in a
temporary folder; when ``DATABASE_URL`` names PostgreSQL it creates a scratch database
``<name>_bench`` on that server and drops it at the end. ``REDIS_URL`` is passed on as it is.

It starts gunicorn as ``oauthserver/gunicorn.conf.py`` sets it up (its worker class and threads;
2 workers on 127.0.0.1, a free port), migrates, registers a JWT client,
an opaque client and a resource server, checks every scenario answers correctly once, warms each
up, then measures them all in rounds (each round gives every scenario, the ceiling included, its
share of the duration, so the machine's changing speed weighs on both sides of every ratio) and
prints one table. The same figures go to
``bench/results/<UTC time>-<database>.json``. It exits 1 when a scenario had errors or missed its
target ratio to the ceiling.

To choose a worker class, BENCH_SERVERS names several (``sync,gthread:4,gevent``: a worker class
and, after a colon, its threads): one gunicorn each, all measured in the same rounds, so that
their ratios come from the same machine at the same moments. Each then also meets slow clients
(slow-loris): BENCH_SLOW_CLIENTS connections (2; a comma-separated list measures each count)
send a token request's headers a byte a second while a normal client asks ``/healthz`` and
``/oauth/token`` in turn; the table gives its slowest answer (timeout 3 s).

Settings (environment): BENCH_DURATION (10 s per scenario), BENCH_ROUNDS (5), BENCH_WARMUP (3 s), BENCH_THREADS (1),
BENCH_CONNECTIONS (8), BENCH_WORKERS (2), BENCH_SERVERS (the config's), BENCH_SLOW_CLIENTS (2), BENCH_ONLY (comma-separated scenario names: jwt, opaque,
introspect, hello; the ceiling always runs). wrk and gunicorn share the machine's cores, so one wrk
thread is enough to saturate two workers and leaves them the most CPU.
"""

import base64
import json
import os
import platform
import runpy
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
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


@dataclass(frozen=True, slots=True)
class Scenario:
    """One row of the table: what wrk sends, and the least share of the ceiling it must reach."""

    name: str
    label: str
    method: str
    path: str
    target: float | None
    authorization: str = ""
    body: str = ""
    content_type: str = ""


@dataclass(frozen=True, slots=True)
class Server:
    """One gunicorn under test: its worker class and threads (None: as the config file says)."""

    worker_class: str | None = None
    threads: int | None = None

    @property
    def label(self) -> str:
        config = runpy.run_path(str(GUNICORN_CONFIG))
        worker_class = self.worker_class or config.get("worker_class", "sync")
        threads = self.threads or (1 if self.worker_class else config.get("threads", 1))
        suffix = "" if self.worker_class else " (config)"
        return (f"{worker_class} x{threads} threads" if worker_class == "gthread" else worker_class) + suffix

    def args(self) -> list[str]:
        if self.worker_class is None:
            return []
        return ["--worker-class", self.worker_class, "--threads", str(self.threads or 1)]


def parse_servers(text: str) -> list[Server]:
    """``sync,gthread:4`` as servers; empty: the one the config file describes."""
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
    cpu_ms: float  # CPU time of the gunicorn workers per request, whatever else runs on the machine
    ratio: float | None = None
    target: float | None = None

    @property
    def passed(self) -> bool:
        return self.errors == 0 and (self.target is None or (self.ratio or 0) >= self.target)


def main() -> int:
    duration = int(os.environ.get("BENCH_DURATION", "10"))
    warmup = int(os.environ.get("BENCH_WARMUP", "3"))
    threads = int(os.environ.get("BENCH_THREADS", "1"))
    connections = int(os.environ.get("BENCH_CONNECTIONS", "8"))
    workers = int(os.environ.get("BENCH_WORKERS", "2"))
    rounds = max(1, int(os.environ.get("BENCH_ROUNDS", "5")))
    servers = parse_servers(os.environ.get("BENCH_SERVERS", ""))
    slow_counts = [int(n) for n in os.environ.get("BENCH_SLOW_CLIENTS", "2").split(",") if n.strip()]
    wrk = _find_wrk()
    load_before = os.getloadavg()[0]
    if load_before > 0.5:
        print(f"warning: load average {load_before:.1f} before the run: other processes share the CPUs, "
              "so the figures will be low and noisy", flush=True)

    with ExitStack() as stack:
        database_url, database = stack.enter_context(_scratch_database(os.environ.get("DATABASE_URL", "")))
        # Issued tokens are logged but not stored as audit rows unless the environment says so: the
        # two-query token path that high-volume installations run (README "Running in production").
        server_env = {
            "OAUTH_AUDIT_TOKEN_ISSUANCE": "false", **os.environ, "DATABASE_URL": database_url, "DEBUG": "false",
            "BENCH_CEILING": "true",  # the reference view exists only for these servers
        }
        audit_rows = server_env["OAUTH_AUDIT_TOKEN_ISSUANCE"].lower() in {"1", "true", "yes", "on"}
        subprocess.run([*MANAGE, "migrate", "--noinput", "-v", "0"], env=server_env, check=True, cwd=ROOT)
        clients = {
            name: _create_client(server_env, name, *options)
            for name, *options in [
                ("bench-jwt", "--token-format", "jwt"),
                ("bench-opaque", "--token-format", "opaque"),
                ("bench-resource-server", "--resource-server"),
            ]
        }
        running = [stack.enter_context(_gunicorn(server_env, workers, server.args())) for server in servers]
        jwt = _fetch_token(running[0][0], clients["bench-jwt"])
        only = os.environ.get("BENCH_ONLY", "")
        scenarios = [s for s in _scenarios(clients, jwt) if not only or s.name in {"ceiling", *only.split(",")}]
        for base_url, _ in running:
            for scenario in scenarios:
                _check(base_url, scenario)

        print(
            f"make bench: {database}, gunicorn {workers} workers: {', '.join(s.label for s in servers)}; "
            f"wrk {threads} thread(s) {connections} connections, {duration} s each in {rounds} rounds after "
            f"{warmup} s warm-up, {os.cpu_count()} CPUs; cache {_cache()}; "
            f"audit rows for issued tokens {'on' if audit_rows else 'off (log lines only)'}",
            flush=True,
        )
        run = [wrk, "-t", str(threads), "-c", str(connections), "-s", str(LUA_SCRIPT)]
        measured = _measure([([*run, url], pid) for url, pid in running], scenarios, duration, warmup, rounds)
        slow = [
            [_slow_clients(url, clients["bench-jwt"], count) for count in slow_counts] for url, _ in running
        ]

    tables = []
    for results in measured:
        ceiling = results[0].requests_per_second
        tables.append([
            Result(**{**asdict(r), "ratio": r.requests_per_second / ceiling if ceiling else None, "target": s.target})
            for r, s in zip(results, scenarios, strict=True)
        ])
    for server, results in zip(servers, tables, strict=True):
        if len(servers) > 1:
            print(f"\n{server.label}")
        print(_table(results))
    if len(servers) > 1:
        print("\n" + _comparison(servers, tables))
    print("\n" + _slow_table(servers, slow_counts, slow))
    path = _write_results(
        servers, tables, slow, database, audit_rows, load_before, duration, rounds, warmup, threads, connections, workers
    )
    print(f"written to {path.relative_to(ROOT)}")
    failed = [(server, r) for server, results in zip(servers, tables, strict=True) for r in results if not r.passed]
    for server, r in failed:
        print(f"MISSED: {server.label}: {r.label}: {r.errors} errors, {_percent(r.ratio)} of the ceiling (target {_percent(r.target)})")
    return 1 if failed else 0


def _measure(
    targets: list[tuple[list[str], int]], scenarios: list[Scenario], duration: int, warmup: int, rounds: int
) -> list[list[Result]]:
    """Run wrk for each server (its wrk command ending in its URL, its master's pid) and each
    scenario, the ceiling included, in rounds: each round gives every server and scenario its
    share of the duration, so a change in the machine's speed during the run (other processes, a
    neighbour on the same host) weighs on every side of every ratio alike. One list per server."""
    for run, server_pid in targets:
        for scenario in scenarios:
            if warmup:
                _wrk(run, server_pid, scenario, warmup)
    seconds = max(1, round(duration / rounds))
    measured: list[dict[str, list[Result]]] = [{scenario.name: [] for scenario in scenarios} for _ in targets]
    for _ in range(rounds):
        for (run, server_pid), results in zip(targets, measured, strict=True):
            for scenario in scenarios:
                results[scenario.name].append(_wrk(run, server_pid, scenario, seconds))
    return [[_combine(results[scenario.name]) for scenario in scenarios] for results in measured]


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


def _scenarios(clients: dict[str, dict], jwt: str) -> list[Scenario]:
    grant = urlencode({"grant_type": "client_credentials"})
    introspection = urlencode({"token": jwt, "token_type_hint": "access_token"})
    return [
        Scenario("ceiling", "ceiling GET /bench/ceiling", "GET", "/bench/ceiling", None),
        Scenario("jwt", "JWT issuance", "POST", "/oauth/token", 0.50, _basic(clients["bench-jwt"]), grant, FORM),
        Scenario("opaque", "opaque issuance", "POST", "/oauth/token", 0.55, _basic(clients["bench-opaque"]), grant, FORM),
        Scenario(
            "introspect", "introspection of a JWT", "POST", "/oauth/introspect", 0.60,
            _basic(clients["bench-resource-server"]), introspection, FORM,
        ),
        Scenario("hello", "GET /api/hello with a JWT", "GET", "/api/hello", 0.70, f"Bearer {jwt}"),
    ]


def _find_wrk() -> str:
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if os.access(candidate := os.path.join(folder, "wrk"), os.X_OK):
            return candidate
    sys.exit("make bench needs wrk, the HTTP load generator: apt-get install -y wrk")


@contextmanager
def _scratch_database(database_url: str):
    """Yield (url, description) of an empty database that is thrown away afterwards."""
    postgres = bool(database_url) and not database_url.startswith("sqlite")
    with tempfile.TemporaryDirectory(prefix="oauth-bench-") as folder:
        try:
            with scratch_database(database_url, suffix="_bench", folder=Path(folder)) as url:
                name = urlsplit(url).path.lstrip("/")
                yield url, f"PostgreSQL (scratch database {name})" if postgres else "SQLite (temporary file, WAL)"
        except ValueError as error:
            sys.exit(f"make bench: {error}")


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
def _gunicorn(env: dict[str, str], workers: int, args: list[str]):
    """Serve the project on a free port until the block ends; yield its base URL."""
    port = _free_port()
    log = tempfile.TemporaryFile(mode="w+")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "oauthserver.wsgi", "--config", "oauthserver/gunicorn.conf.py",
         "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--no-control-socket", *args],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
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
                    sys.exit(f"gunicorn did not start:\n{log.read()[-3000:]}")
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
        "opaque": "access_token" in body,
        "introspect": body.get("active") is True,
        "hello": "client_id" in body,
    }[scenario.name]
    if not healthy:
        sys.exit(f"{scenario.label}: {scenario.method} {scenario.path} answered {status} {body}; nothing to measure")


def _worker_cpu_seconds(server_pid: int) -> float:
    """User plus system CPU time so far of the gunicorn master's children, the workers (Linux)."""
    children = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
    ticks = 0
    for child in children:
        fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _wrk(command: list[str], server_pid: int, scenario: Scenario, seconds: int) -> Result:
    env = {
        **os.environ,
        "BENCH_METHOD": scenario.method,
        "BENCH_BODY": scenario.body,
        "BENCH_CONTENT_TYPE": scenario.content_type,
        "BENCH_AUTHORIZATION": scenario.authorization,
    }
    env = {name: value for name, value in env.items() if value}
    *command, base_url = command
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
    )


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


def _table(results: list[Result]) -> str:
    """The figures, with the workers' CPU per request beside them: unlike requests per second, that
    hardly moves when other processes compete for the machine, so its ratio is the steadier one."""
    header = (
        f"{'scenario':<27} {'req/s':>6} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'ratio':>6}  "
        f"{'CPU ms/req':>10} {'CPU ratio':>9}  target"
    )
    lines = [header, "-" * len(header)]
    ceiling_cpu = results[0].cpu_ms
    for r in results:
        verdict = "" if r.target is None else f">= {_percent(r.target)} {'ok' if r.passed else 'MISSED'}"
        cpu_ratio = ceiling_cpu / r.cpu_ms if r.cpu_ms else None
        lines.append(
            f"{r.label[:27]:<27} {r.requests_per_second:>6.0f} {r.p50_ms:>7.2f} {r.p99_ms:>7.2f} {r.errors:>6} "
            f"{_percent(r.ratio):>6}  {r.cpu_ms:>10.2f} {_percent(cpu_ratio):>9}  {verdict}"
        )
    return "\n".join(lines)


def _cache() -> str:
    return "Redis" if os.environ.get("REDIS_URL") else "in-process (locmem)"


def _comparison(servers: list[Server], tables: list[list[Result]]) -> str:
    """Each server's requests per second and CPU per request against the first's, scenario by scenario."""
    first = tables[0]
    header = f"{'same run, against ' + servers[0].label:<40} " + " ".join(f"{r.name[:10]:>10}" for r in first)
    lines = [header, "-" * len(header)]
    for server, results in zip(servers[1:], tables[1:], strict=True):
        rps = " ".join(
            f"{_percent(r.requests_per_second / f.requests_per_second if f.requests_per_second else None):>10}"
            for r, f in zip(results, first, strict=True)
        )
        cpu = " ".join(f"{_percent(r.cpu_ms / f.cpu_ms if f.cpu_ms else None):>10}" for r, f in zip(results, first, strict=True))
        lines.append(f"{server.label + ': req/s':<40} {rps}")
        lines.append(f"{server.label + ': CPU per request':<40} {cpu}")
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
    servers, tables, slow, database, audit_rows, load_before, duration, rounds, warmup, threads, connections, workers
) -> Path:
    now = datetime.now(UTC)
    kind = "postgresql" if database.startswith("PostgreSQL") else "sqlite"
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{now:%Y%m%dT%H%M%SZ}-{kind}.json"
    document = {
        "measured_at": now.isoformat(timespec="seconds"),
        "database": database,
        "cache": _cache(),
        "audit_rows_for_issued_tokens": audit_rows,
        "server": f"gunicorn, {workers} workers, 127.0.0.1",
        "load": f"wrk, {threads} thread(s), {connections} connections, {duration} s in {rounds} rounds after {warmup} s warm-up",
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
                "worker_class": server.label,
                "results": [{**asdict(r), "passed": r.passed} for r in results],
                "slow_clients": [asdict(p) for p in probes],
            }
            for server, results, probes in zip(servers, tables, slow, strict=True)
        ],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


if __name__ == "__main__":
    sys.exit(main())
