"""make bench's arithmetic: scenarios measured in rounds, combined into one row each."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import load  # noqa: E402  bench/load.py, beside bench/run.py (a script, not a package)
import report  # noqa: E402
from load import Result  # noqa: E402
from scenarios import Scenario  # noqa: E402
from servers import Server, parse_servers  # noqa: E402


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
