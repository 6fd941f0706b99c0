"""The load ``make bench`` puts on the servers: wrk in rounds (``bench/request.lua`` sends a
scenario's request and prints its figures), the CPU time the workers spent per request (from
``/proc``), and slow clients (slow-loris) beside a normal one.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from scenarios import FORM, Scenario, basic, send
from servers import ROOT, Server

LUA_SCRIPT = ROOT / "bench" / "request.lua"
SLOW_CLIENT_TIMEOUT = 3.0


@dataclass(frozen=True, slots=True)
class Settings:
    """The run, as run.py reads it from the environment (BENCH_*)."""

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
    ceiling: str = "ceiling"  # the name of the row its ratio is of (Scenario.ceiling)

    @property
    def p99_ok(self) -> bool:
        return self.p99_limit_ms is None or self.p99_ms <= self.p99_limit_ms

    @property
    def passed(self) -> bool:
        return self.errors == 0 and self.p99_ok and (self.target is None or (self.ratio or 0) >= self.target)


def find_wrk() -> str:
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if os.access(candidate := os.path.join(folder, "wrk"), os.X_OK):
            return candidate
    sys.exit("make bench needs wrk, the HTTP load generator: apt-get install -y wrk")


def measure(
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
        ceiling=scenario.ceiling,
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
        ceiling=first.ceiling,
    )


@dataclass(frozen=True, slots=True)
class SlowClients:
    """What a normal client met beside count slow clients: its slowest answer and its failures."""

    count: int
    requests: int
    failures: int
    slowest_ms: float


def slow_clients(base_url: str, client: dict, count: int, attempts: int = 4) -> SlowClients:
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
    grant = Scenario("jwt", "", "POST", "/oauth/token", None, basic(client), "grant_type=client_credentials", FORM)
    health = Scenario("ceiling", "", "GET", "/healthz", None)
    failures, slowest = 0, 0.0
    try:
        for attempt in range(attempts):
            started = time.monotonic()
            try:
                status, _ = send(base_url, health if attempt % 2 == 0 else grant, timeout=SLOW_CLIENT_TIMEOUT)
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
