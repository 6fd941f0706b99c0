"""make bench's arithmetic: scenarios measured in rounds, combined into one row each."""

import sys
from pathlib import Path

from dataclasses import replace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import load  # noqa: E402  bench/load.py, beside bench/run.py (a script, not a package)
import report  # noqa: E402
import scenarios as scenarios_module  # noqa: E402
from load import Result  # noqa: E402
from scenarios import Scenario, check, chosen, scenarios_for  # noqa: E402
from servers import PROJECTS, REMOTE_API, Server, issuer_port, parse_servers, remote_api_environment  # noqa: E402


def result(name, requests_per_second, requests, cpu_ms, p99_ms=5.0, errors=0):
    return Result(name, name, requests_per_second, 1.0, p99_ms, errors, requests, cpu_ms)


def test_rounds_combine_into_requests_over_total_time_and_the_worst_latency():
    combined = load._combine([result("jwt", 1000, 2000, 1.0, p99_ms=4), result("jwt", 500, 500, 2.0, p99_ms=9, errors=1)])
    assert combined.requests == 2500
    assert combined.requests_per_second == round(2500 / 3, 1)  # 2 s + 1 s
    assert combined.cpu_ms == pytest.approx((2000 * 1.0 + 500 * 2.0) / 2500)
    assert combined.p99_ms == 9 and combined.errors == 1


def test_every_round_measures_every_scenario_in_turn(monkeypatch):
    calls = []

    def fake_wrk(run, base_url, server_pid, scenario, seconds):
        calls.append((scenario.key, seconds))
        return result(scenario.name, 100, 100 * seconds, 1.0)

    monkeypatch.setattr(load, "_wrk", fake_wrk)
    scenarios = [
        Scenario("ceiling", "c", "GET", "/", None), Scenario("jwt", "j", "POST", "/t", 0.5),
        Scenario("ceiling", "c", "GET", "/", None, keep_alive=True),
        Scenario("jwt", "j", "POST", "/t", 0.5, keep_alive=True),
    ]
    [results] = load.measure([], [{"main": ("http://s", 0)}], scenarios, duration=6, warmup=1, rounds=3)
    # one warm-up a scenario, whatever the connection mode; then every mode of every scenario, round by round
    assert calls == [("ceiling", 1), ("jwt", 1)] + [
        ("ceiling", 2), ("jwt", 2), ("ceiling+keep-alive", 2), ("jwt+keep-alive", 2)
    ] * 3
    assert [r.name for r in results] == ["ceiling", "jwt", "ceiling", "jwt"]
    assert results[1].requests == 600  # the warm-up is not counted


def test_several_servers_are_measured_in_the_same_rounds(monkeypatch):
    calls = []

    def fake_wrk(run, base_url, server_pid, scenario, seconds):
        calls.append((server_pid, scenario.name))
        return result(scenario.name, 100 * server_pid, 100 * seconds, 1.0)

    monkeypatch.setattr(load, "_wrk", fake_wrk)
    scenarios = [Scenario("ceiling", "c", "GET", "/", None), Scenario("jwt", "j", "POST", "/t", 0.5)]
    sync, gthread = load.measure([], [{"main": ("a", 1)}, {"main": ("b", 2)}], scenarios, duration=2, warmup=0, rounds=2)
    assert calls == [(1, "ceiling"), (1, "jwt"), (2, "ceiling"), (2, "jwt")] * 2  # interleaved, round by round
    assert [r.requests_per_second for r in sync] == [100, 100]
    assert [r.requests_per_second for r in gthread] == [200, 200]


def test_servers_to_compare_name_a_worker_class_and_its_threads():
    assert parse_servers("") == [Server()]  # the config file's choice
    assert parse_servers("sync, gthread:8,gthread,gevent") == [
        Server("sync"), Server("gthread", 8), Server("gthread", 4), Server("gevent"),
    ]
    assert Server("sync").args() == ["--worker-class", "sync", "--threads", "1"]
    assert Server().args() == []


def test_granian_serves_the_wsgi_interface_with_its_threads():
    [granian] = parse_servers("granian:2")
    command = granian.command(8123, 2)
    assert command[1:3] == ["-m", "granian"] and command[-1] == "oauthserver.wsgi:application"
    options = dict(zip(command[3:-1:2], command[4:-1:2], strict=False))
    assert options["--interface"] == "wsgi" and options["--port"] == "8123" and options["--workers"] == "2"
    assert options["--blocking-threads"] == "2" and "--backpressure" not in options  # slow clients hold its slots
    assert granian.label == "granian x2 threads"


def test_a_scenario_on_the_ed25519_server_is_measured_there(monkeypatch):
    seen = []
    monkeypatch.setattr(load, "_wrk", lambda run, url, pid, scenario, seconds: seen.append(url) or result(scenario.name, 1, 1, 1.0))
    scenarios = [Scenario("ceiling", "c", "GET", "/", None), Scenario("jwt-ed25519", "e", "POST", "/t", 0.6, instance="ed25519")]
    load.measure([], [{"main": ("rs", 1), "ed25519": ("ed", 2)}], scenarios, duration=1, warmup=0, rounds=1)
    assert seen == ["rs", "ed"]


def test_ratios_targets_and_p99_limits_come_from_the_ceiling_of_the_same_connection_mode():
    scenarios = [
        Scenario("ceiling", "c", "GET", "/", None), Scenario("jwt", "j", "POST", "/t", 0.5),
        Scenario("ceiling", "c", "GET", "/", None, keep_alive=True),
        Scenario("jwt", "j", "POST", "/t", 0.5, keep_alive=True),
    ]
    results = [
        result("ceiling", 1000, 1, 1.0, p99_ms=2), result("jwt", 600, 1, 1.0, p99_ms=9),
        Result("ceiling", "c", 4000, 1, 1, 0, 1, 1.0, keep_alive=True),
        Result("jwt", "j", 1000, 1, 6, 0, 1, 1.0, keep_alive=True),
    ]
    _, jwt, ceiling_kept, jwt_kept = report.ratios(results, scenarios)
    assert (jwt.ratio, jwt.p99_limit_ms, jwt.passed) == (0.6, 10, True)
    assert ceiling_kept.p99_limit_ms is None and ceiling_kept.passed
    assert (jwt_kept.ratio, jwt_kept.p99_limit_ms) == (0.25, 5)
    assert not jwt_kept.p99_ok and not jwt_kept.passed  # 6 ms > 5 x 1 ms, and 25% < 50%


def bench_clients():
    client = {"client_id": "bench-client", "client_secret": "s3cret"}
    return {"main": {"bench-jwt": client, "bench-opaque": client, "bench-resource-server": client,
                     "bench-realm-jwt": client},
            "ed25519": {"bench-jwt": client}}


def test_the_api_project_rows_are_measured_on_its_servers_against_its_own_ceiling():
    rows = {s.name: s for s in scenarios_for(bench_clients(), "a.jwt.token")}
    assert (rows["api-ceiling"].path, rows["api-ceiling"].ceiling) == ("/open", "api-ceiling")
    for name, instance in [("api-jwks", "api-jwks"), ("api-introspection", "api-introspection")]:
        row = rows[name]
        assert (row.method, row.path, row.instance, row.ceiling) == ("GET", "/invoices", instance, "api-ceiling")
        assert row.authorization == "Bearer a.jwt.token"
    assert rows["hello"].ceiling == "ceiling"
    assert {row.instance for row in rows.values()} <= set(PROJECTS)
    assert PROJECTS["api-jwks"] is PROJECTS["api-introspection"] is REMOTE_API


def test_bench_only_runs_the_chosen_scenarios_with_the_ceilings_they_are_measured_against():
    every = scenarios_for(bench_clients(), "t")
    assert [s.name for s in chosen(every, {"api-jwks"})] == ["api-ceiling", "api-jwks"]
    both = chosen(every, {"jwt", "api-introspection"})
    assert [s.name for s in both] == ["ceiling", "jwt", "api-ceiling", "api-introspection"]
    assert chosen(every, set()) == every


def test_the_api_project_is_served_by_the_same_server_with_its_own_wsgi_module():
    gunicorn = Server().command(8123, 2, REMOTE_API)
    assert gunicorn[1:4] == ["-m", "gunicorn", "tests.remote_api.wsgi"]
    assert gunicorn[4:6] == Server().command(8123, 2)[4:6] == ["--config", gunicorn[5]]  # the same config file
    assert parse_servers("granian")[0].command(8123, 2, REMOTE_API)[-1] == "tests.remote_api.wsgi:application"


def test_the_api_project_environment_holds_path_and_its_resource_settings_only(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://elsewhere/db")
    resource_server = {"client_id": "rs", "client_secret": "rs-secret"}
    jwks = remote_api_environment("jwks", "http://127.0.0.1:9000", resource_server)
    assert set(jwks) == {"PATH", "RESOURCE_MODE", "RESOURCE_ISSUER", "RESOURCE_AUDIENCE"}
    assert jwks["RESOURCE_ISSUER"] == jwks["RESOURCE_AUDIENCE"] == "http://127.0.0.1:9000"
    assert issuer_port({"OAUTH_ISSUER": "http://127.0.0.1:9000"}) == 9000  # where the main server is served
    assert issuer_port(jwks) is None  # the API project on any free port
    introspection = remote_api_environment("introspection", "http://127.0.0.1:9000", resource_server)
    credentials = [introspection[name] for name in ("RESOURCE_MODE", "RESOURCE_CLIENT_ID", "RESOURCE_CLIENT_SECRET")]
    assert credentials == ["introspection", "rs", "rs-secret"]


@pytest.mark.parametrize(("name", "answer", "healthy"), [
    ("api-jwks", (200, {"client_id": "bench-client", "scope": "read"}), True),
    ("api-jwks", (200, {"client_id": "another-client"}), False),
    ("api-introspection", (200, {"client_id": "bench-client"}), True),
    ("api-introspection", (503, {"body": "temporarily_unavailable"}), False),
    ("api-ceiling", (200, {"text": "ok"}), True),
    ("api-ceiling", (404, {"body": "not found"}), False),
])
def test_an_api_row_is_measured_only_when_it_answers_for_the_token_s_client(monkeypatch, name, answer, healthy):
    monkeypatch.setattr(scenarios_module, "send", lambda base_url, scenario: answer)
    [scenario] = [s for s in scenarios_for(bench_clients(), "t") if s.name == name]
    if healthy:
        check("http://api", scenario, "bench-client")
    else:
        with pytest.raises(SystemExit):
            check("http://api", scenario, "bench-client")


def test_api_rows_take_their_ratio_and_p99_limit_from_the_api_ceiling():
    scenarios = [
        Scenario("ceiling", "c", "GET", "/", None), Scenario("hello", "h", "GET", "/h", 0.8),
        Scenario("api-ceiling", "a", "GET", "/open", None, ceiling="api-ceiling"),
        Scenario("api-jwks", "j", "GET", "/invoices", None, ceiling="api-ceiling"),
    ]
    results = [
        result("ceiling", 1000, 1, 0.4, p99_ms=10), result("hello", 800, 1, 0.5),
        replace(result("api-ceiling", 4000, 1, 0.3, p99_ms=2), ceiling="api-ceiling"),
        replace(result("api-jwks", 3000, 1, 0.6, p99_ms=9), ceiling="api-ceiling"),
    ]
    ceiling, hello, api_ceiling, jwks = report.ratios(results, scenarios)
    assert (hello.ratio, hello.p99_limit_ms) == (0.8, 50)
    assert (api_ceiling.ratio, api_ceiling.p99_limit_ms) == (1.0, None)
    assert (jwks.ratio, jwks.p99_limit_ms) == (0.75, 10)  # of the API's 4,000 req/s and 2 ms, not the server's
    table = report.table([ceiling, hello, api_ceiling, jwks])
    jwks_line = next(line for line in table.splitlines() if line.startswith("api-jwks "))
    assert jwks_line.split()[6:9] == ["75%", "0.60", "50%"]  # CPU ratio 0.3 / 0.6 ms: of the API ceiling, not 0.4 / 0.6
    assert "its own GET /open" in table
    assert report.missed("sqlite", [Server()], [[replace(jwks, target=0.8)]])[0].count("of api-ceiling") == 1
