-- One request, repeated: wrk -s bench/request.lua URL, configured from the environment.
--   BENCH_METHOD (GET), BENCH_BODY, BENCH_CONTENT_TYPE, BENCH_AUTHORIZATION,
--   BENCH_CONNECTION ("close": a new connection per request, as a client without a pool opens;
--   unset: HTTP/1.1 keep-alive, as requests.Session or httpx reuse a connection)
-- At the end it prints one JSON line with the figures bench/load.py reads.

wrk.method = os.getenv("BENCH_METHOD") or "GET"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = os.getenv("BENCH_CONTENT_TYPE")
wrk.headers["Authorization"] = os.getenv("BENCH_AUTHORIZATION")
wrk.headers["Connection"] = os.getenv("BENCH_CONNECTION")

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"status_errors": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
