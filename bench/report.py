"""What ``make bench`` makes of its figures: each scenario's ratio to the ceiling, its verdict
(target, p99 limit, errors), the tables it prints and the JSON it writes to
``bench/results/<UTC time>-<database>.json``.
"""

import json
import os
import platform
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path

from load import SLOW_CLIENT_TIMEOUT, Result, Settings, SlowClients
from scenarios import Scenario
from servers import ROOT, Server

RESULTS_DIR = ROOT / "bench" / "results"
# A scenario's 99th percentile may be at most this many times the ceiling's (same connection mode).
P99_LIMIT = 5.0


def ratios(results: list[Result], scenarios: list[Scenario]) -> list[Result]:
    """Each result with its ratio to its ceiling (in the same connection mode), its target and its p99 limit."""
    ceilings = {(r.name, r.keep_alive): r for r in results if r.name == r.ceiling}
    out = []
    for r, s in zip(results, scenarios, strict=True):
        ceiling = ceilings[s.ceiling, r.keep_alive]
        out.append(replace(
            r,
            ratio=r.requests_per_second / ceiling.requests_per_second if ceiling.requests_per_second else None,
            target=s.target,
            p99_limit_ms=None if r.name == s.ceiling else round(P99_LIMIT * ceiling.p99_ms, 2),
        ))
    return out


def missed(kind: str, servers: list[Server], tables: list[list[Result]]) -> list[str]:
    """One line for each result that missed its target or its p99 limit, or had errors."""
    failed = [(server, r) for server, results in zip(servers, tables, strict=True) for r in results if not r.passed]
    return [
        f"MISSED: {kind}: {server.label}: {r.label} ({_mode(r.keep_alive)}): {r.errors} errors, "
        f"{_percent(r.ratio)} of {r.ceiling} (target {_percent(r.target)}), "
        f"p99 {r.p99_ms:.1f} ms (limit {r.p99_limit_ms or 0:.1f} ms)"
        for server, r in failed
    ]


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


def _mode(keep_alive: bool) -> str:
    return "keep-alive" if keep_alive else "new connection per request"


def table(results: list[Result]) -> str:
    """The figures, with the workers' CPU per request beside them: unlike requests per second, that
    hardly moves when other processes compete for the machine, so its ratio is the steadier one.
    One block per connection mode, each row against its ceiling in that mode: the server's
    ``/bench/ceiling``, or for the API project's rows its own ``GET /open``."""
    header = (
        f"{'scenario':<27} {'req/s':>6} {'p50 ms':>7} {'p99 ms':>7} {'p99/c':>5} {'errors':>6} {'ratio':>6}  "
        f"{'CPU ms/req':>10} {'CPU ratio':>9}  target"
    )
    lines = []
    for keep_alive in sorted({r.keep_alive for r in results}):
        block = [r for r in results if r.keep_alive == keep_alive]
        ceilings = {r.name: r for r in block if r.name == r.ceiling}
        lines += ["" if lines else None, _mode(keep_alive), header, "-" * len(header)]
        for r in block:
            ceiling = ceilings[r.ceiling]
            verdict = ""
            misses = [m for m, bad in [("ratio", r.target is not None and (r.ratio or 0) < r.target),
                                        ("p99", not r.p99_ok), ("errors", r.errors > 0)] if bad]
            if r.target is not None:
                verdict = f">= {_percent(r.target)} {'ok' if not misses else 'MISSED (' + ', '.join(misses) + ')'}"
            elif r.name != r.ceiling:
                verdict = "(no target) " + ("ok" if not misses else "MISSED (" + ", ".join(misses) + ")")
            cpu_ratio = ceiling.cpu_ms / r.cpu_ms if r.cpu_ms else None
            p99_times = f"{r.p99_ms / ceiling.p99_ms:.1f}" if ceiling.p99_ms else ""
            lines.append(
                f"{r.label[:27]:<27} {r.requests_per_second:>6.0f} {r.p50_ms:>7.2f} {r.p99_ms:>7.2f} {p99_times:>5} "
                f"{r.errors:>6} {_percent(r.ratio):>6}  {r.cpu_ms:>10.2f} {_percent(cpu_ratio):>9}  {verdict}"
            )
    lines.append(f"(ratio: of the ceiling's requests/s in the same mode; p99/c: p99 over the ceiling's, "
                 f"at most {P99_LIMIT:.0f}; CPU: the workers' user + system time per request)")
    if any(r.ceiling != "ceiling" for r in results):
        lines.append("(API rows: the separate API project of tests/remote_api, under the same server; their "
                     "ceiling is its own GET /open, a plain view with no token check)")
    return "\n".join(line for line in lines if line is not None)


def comparison(servers: list[Server], tables: list[list[Result]]) -> str:
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


def slow_table(servers: list[Server], counts: list[int], slow: list[list[SlowClients]]) -> str:
    header = f"{'slow clients (a header byte a second)':<40} " + " ".join(f"{str(n) + ' slow':>22}" for n in counts)
    lines = [header, "-" * len(header)]
    for server, probes in zip(servers, slow, strict=True):
        cells = " ".join(
            f"{f'{p.failures}/{p.requests} failed, max {p.slowest_ms / 1000:.2f} s':>22}" for p in probes
        )
        lines.append(f"{server.label:<40} {cells}")
    lines.append(f"(a normal client's requests, /healthz and /oauth/token in turn; timeout {SLOW_CLIENT_TIMEOUT:.0f} s)")
    return "\n".join(lines)


def write_results(
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
