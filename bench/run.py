"""``make bench``: the server as it is served in production, driven by wrk, against a ceiling view on the same server.

It never touches the database you work with. It measures on SQLite (a fresh file in a temporary
folder) and on PostgreSQL + Redis (the production set-up: a scratch database ``<name>_bench`` on
the PostgreSQL server of ``DATABASE_URL``, or of postgres://postgres@127.0.0.1:5432/test when
that is not PostgreSQL, dropped at the end; and a Redis server of its own, started on a free port
with nothing on disk, when ``redis-server`` is installed; else ``REDIS_URL`` as it is).
``BENCH_DATABASES`` chooses (``sqlite,postgres``; by default both, PostgreSQL only when it
answers).

Per database it starts the server the way ``make run`` and the README's production command do
(2 workers on 127.0.0.1, a free port, ``OAUTH_ISSUER`` its own URL), migrates, registers a JWT
client, an opaque client and a resource server, and beside it a second server of the same kind on
a database of its own whose keys sign with Ed25519 (``OAUTH_JWT_ALGORITHM=Ed25519``; a server
rotates to the algorithm of its setting, so the two cannot share one database). Beside them, under
the same server and settings, the separate API project of ``tests/remote_api`` (``resource_server``
alone, no database) twice: in jwks mode and in introspection mode (with the resource server's
credentials), each finding the main server by its RFC 8414 metadata; its rows are measured against
its own ``GET /open``, not the server's ceiling. It checks every scenario answers correctly once,
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
names: jwt, jwt-ed25519, opaque, introspect, hello, api-jwks, api-introspection; the ceilings
they are measured against run with them), BENCH_KEEP_ALIVE
(both; ``on`` or ``off`` for one mode only). wrk and the server share the machine's cores, so one
wrk thread is enough to saturate two workers and leaves them the most CPU.

Beside it: ``servers.py`` (the servers it starts, their environments and scratch databases, its
Redis), ``scenarios.py`` (what it asks, and the targets), ``load.py`` (wrk in rounds, CPU per
request, slow clients) and ``report.py`` (ratios, verdicts, tables, the JSON results).
"""

import os
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import report
from load import LUA_SCRIPT, Settings, find_wrk, measure, slow_clients
from scenarios import TARGETS, check, chosen, fetch_token, scenarios_for
from servers import (
    PROJECTS, ROOT, issuer_port, parse_servers, postgres_answers, postgres_url, prepare_instances, redacted, redis_server,
    serve,
)


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
    wrk = find_wrk()
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
    if postgres_answers(postgres_url()):
        return ["sqlite", "postgres"]
    print(f"make bench: no PostgreSQL answers at {redacted(postgres_url())}: SQLite only "
          "(set DATABASE_URL to a PostgreSQL server, or BENCH_DATABASES=sqlite)", flush=True)
    return ["sqlite"]


def _bench_database(kind: str, settings: Settings, wrk: str, load_before: float) -> int:
    """Measure every server of settings on one kind of database; print the tables; return the misses."""
    postgres = kind == "postgres"
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="oauth-bench-")))
        redis_url, cache = stack.enter_context(redis_server()) if postgres else ("", "in-process (locmem)")
        environments, clients, description = prepare_instances(stack, folder, postgres, redis_url)
        audit_rows = environments["main"]["OAUTH_AUDIT_TOKEN_ISSUANCE"].lower() in {"1", "true", "yes", "on"}
        # The first server of each authorization server instance listens where its OAUTH_ISSUER
        # says; other servers of the instance share its database, keys and name.
        running = [
            {
                instance: stack.enter_context(serve(server, env, settings.workers, PROJECTS[instance],
                                                    port=None if number else issuer_port(env)))
                for instance, env in environments.items()
            }
            for number, server in enumerate(settings.servers)
        ]
        jwt = fetch_token(running[0]["main"][0], clients["main"]["bench-jwt"])
        scenarios = [
            # The targets are for a new connection per request, as they were set; with keep-alive
            # the table reports the ratios, and errors and p99 are checked alike.
            replace(scenario, target=None if scenario.target is None or keep_alive else TARGETS[scenario.name][postgres],
                    keep_alive=keep_alive)
            for keep_alive in settings.modes
            for scenario in chosen(scenarios_for(clients, jwt), settings.only)
        ]
        for instances in running:
            for scenario in scenarios:
                check(instances[scenario.instance][0], scenario, clients["main"]["bench-jwt"]["client_id"])

        print(
            f"\nmake bench: {description}, {settings.workers} workers: {', '.join(s.label for s in settings.servers)}; "
            f"wrk {settings.threads} thread(s) {settings.connections} connections, {settings.duration} s each in "
            f"{settings.rounds} rounds after {settings.warmup} s warm-up, {os.cpu_count()} CPUs; cache {cache}; "
            f"audit rows for issued tokens {'on' if audit_rows else 'off (log lines only)'}",
            flush=True,
        )
        run = [wrk, "-t", str(settings.threads), "-c", str(settings.connections), "-s", str(LUA_SCRIPT)]
        measured = measure(run, running, scenarios, settings.duration, settings.warmup, settings.rounds)
        slow = [
            [slow_clients(instances["main"][0], clients["main"]["bench-jwt"], count) for count in settings.slow_counts]
            for instances in running
        ]

    tables = [report.ratios(results, scenarios) for results in measured]
    for server, results in zip(settings.servers, tables, strict=True):
        if len(settings.servers) > 1:
            print(f"\n{server.label}")
        print(report.table(results))
    if len(settings.servers) > 1:
        print("\n" + report.comparison(settings.servers, tables))
    print("\n" + report.slow_table(settings.servers, settings.slow_counts, slow))
    path = report.write_results(settings, tables, slow, description, "postgresql" if postgres else "sqlite", cache,
                                audit_rows, load_before)
    print(f"written to {path.relative_to(ROOT)}")
    missed = report.missed(kind, settings.servers, tables)
    for line in missed:
        print(line)
    return len(missed)


if __name__ == "__main__":
    sys.exit(main())
