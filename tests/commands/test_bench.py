"""make bench's arithmetic: scenarios measured in rounds, combined into one row each."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import run as bench  # noqa: E402  bench/run.py, a script beside its own helpers


def result(name, requests_per_second, requests, cpu_ms, p99_ms=5.0, errors=0):
    return bench.Result(name, name, requests_per_second, 1.0, p99_ms, errors, requests, cpu_ms)


def test_rounds_combine_into_requests_over_total_time_and_the_worst_latency():
    combined = bench._combine([result("jwt", 1000, 2000, 1.0, p99_ms=4), result("jwt", 500, 500, 2.0, p99_ms=9, errors=1)])
    assert combined.requests == 2500
    assert combined.requests_per_second == round(2500 / 3, 1)  # 2 s + 1 s
    assert combined.cpu_ms == pytest.approx((2000 * 1.0 + 500 * 2.0) / 2500)
    assert combined.p99_ms == 9 and combined.errors == 1


def test_every_round_measures_every_scenario_in_turn(monkeypatch):
    calls = []

    def fake_wrk(run, server_pid, scenario, seconds):
        calls.append((scenario.name, seconds))
        return result(scenario.name, 100, 100 * seconds, 1.0)

    monkeypatch.setattr(bench, "_wrk", fake_wrk)
    scenarios = [bench.Scenario("ceiling", "c", "GET", "/", None), bench.Scenario("jwt", "j", "POST", "/t", 0.5)]
    [results] = bench._measure([([], 0)], scenarios, duration=6, warmup=1, rounds=3)
    assert calls == [("ceiling", 1), ("jwt", 1)] + [("ceiling", 2), ("jwt", 2)] * 3
    assert [r.name for r in results] == ["ceiling", "jwt"]
    assert results[1].requests == 600  # the warm-up is not counted


def test_several_servers_are_measured_in_the_same_rounds(monkeypatch):
    calls = []

    def fake_wrk(run, server_pid, scenario, seconds):
        calls.append((server_pid, scenario.name))
        return result(scenario.name, 100 * server_pid, 100 * seconds, 1.0)

    monkeypatch.setattr(bench, "_wrk", fake_wrk)
    scenarios = [bench.Scenario("ceiling", "c", "GET", "/", None), bench.Scenario("jwt", "j", "POST", "/t", 0.5)]
    sync, gthread = bench._measure([([], 1), ([], 2)], scenarios, duration=2, warmup=0, rounds=2)
    assert calls == [(1, "ceiling"), (1, "jwt"), (2, "ceiling"), (2, "jwt")] * 2  # interleaved, round by round
    assert [r.requests_per_second for r in sync] == [100, 100]
    assert [r.requests_per_second for r in gthread] == [200, 200]


def test_servers_to_compare_name_a_worker_class_and_its_threads():
    assert bench.parse_servers("") == [bench.Server()]  # the config file's choice
    assert bench.parse_servers("sync, gthread:8,gthread,gevent") == [
        bench.Server("sync"), bench.Server("gthread", 8), bench.Server("gthread", 4), bench.Server("gevent"),
    ]
    assert bench.Server("sync").args() == ["--worker-class", "sync", "--threads", "1"]
    assert bench.Server().args() == []
