#!/usr/bin/env bash
# Side by side in one run, interleaved in rounds: the Django ceiling view and django-oauth-toolkit
# (DOT, both from the peers' run_peer.sh: gunicorn, 2 sync workers), this project's token endpoint
# (JWT and opaque clients) served as `make run` and the README's production command serve it, and
# node oidc-provider (JWT and opaque). Prints the median req/s of each and its ratio to the
# ceiling and to DOT measured in the same rounds.
#
#   bench/side_by_side.sh [ROUNDS]          # from the project root, after `make .venv/.serve-installed`
#
# Adapted from ../shared/bench-peers/side_by_side.sh (its README: set the peers up first with
# peer_dot_setup.sh and peer_oidcp_setup.sh, which build under /tmp). That one serves this project
# with the peers' gunicorn.conf.py (2 sync workers); this one with the project's own server.
#
# Connection handling is alike on every side (the peers' README asks for that):
#   KEEPALIVE=0 (default): a new connection per request everywhere. The peers' gunicorn sync
#     workers close after each answer anyway; oidc-provider runs with OIDCP_KEEPALIVE=0 and this
#     project's server with keep-alive off (gunicorn --keep-alive 0), so every server answers
#     with "Connection: close" and wrk reconnects.
#   KEEPALIVE=1: keep-alive for this project and oidc-provider (as a pooled client would see
#     them); the ceiling and DOT still close (sync workers cannot keep a connection), so read only
#     "ours" against "oidcp" in that mode.
#
# Environment: ROUNDS (3), DURATION (10s), BENCH_WORKERS (2), KEEPALIVE (0),
#   BENCH_PEERS (../shared/bench-peers beside the project), OUTDIR (/tmp/sbs.<UTC time>).
set -uo pipefail
PROJECT=$(cd "$(dirname "$0")/.." && pwd)
PEERS=$(cd "${BENCH_PEERS:-$PROJECT/../shared/bench-peers}" && pwd) || { echo "no peers folder: set BENCH_PEERS" >&2; exit 2; }
ROUNDS=${1:-${ROUNDS:-3}}
KEEPALIVE=${KEEPALIVE:-0}
WORKERS=${BENCH_WORKERS:-2}
export DURATION=${DURATION:-10s}
OUT=${OUTDIR:-/tmp/sbs.$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
PORT_OURS=18767 PORT_OIDCP=18770
[ -f /tmp/bench-dot/clients.env ] || { echo "run $PEERS/peer_dot_setup.sh first" >&2; exit 2; }
[ -f /tmp/bench-oidcp/clients.env ] || { echo "run $PEERS/peer_oidcp_setup.sh first" >&2; exit 2; }
[ -x "$PROJECT/.venv/bin/python" ] || { echo "no $PROJECT/.venv: make .venv/.serve-installed first" >&2; exit 2; }
source /tmp/bench-dot/clients.env
source /tmp/bench-oidcp/clients.env

export DATABASE_URL="sqlite:///$OUT/ours.sqlite3" OAUTH_ISSUER="http://127.0.0.1:$PORT_OURS" DEBUG=false \
  SECRET_KEY=sbs-bench-key-12345678901234567890123456789 ALLOWED_HOSTS=127.0.0.1,localhost \
  VAR_DIR="$OUT/var" OAUTH_AUDIT_TOKEN_ISSUANCE=${OAUTH_AUDIT_TOKEN_ISSUANCE:-false}
(cd "$PROJECT" && .venv/bin/python manage.py migrate --noinput >"$OUT/migrate.log" 2>&1) || { echo "migrate failed"; exit 1; }
mk() { (cd "$PROJECT" && .venv/bin/python manage.py createclient "sbs-$1-$RANDOM" --token-format "$1" 2>/dev/null | tail -n 1); }
field() { python3 -c 'import json,sys;print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
J=$(mk jwt); O=$(mk opaque)
jid=$(field client_id <<<"$J"); jsec=$(field client_secret <<<"$J")
oid=$(field client_id <<<"$O"); osec=$(field client_secret <<<"$O")

# This project as `make run` serves it (Makefile), without the access log (the peers run none).
serve_ours() {
  local keepalive=()
  [ "$KEEPALIVE" = 1 ] || keepalive=(--keep-alive 0)
  cd "$PROJECT" && exec .venv/bin/gunicorn oauthserver.wsgi --config oauthserver/gunicorn.conf.py \
    --bind "127.0.0.1:$PORT_OURS" --workers "$WORKERS" --no-control-socket "${keepalive[@]}"
}

rps() { grep -h '^RESULT' "$1" | sed 's/.* rps=\([0-9.]*\).*/\1/'; }

for r in $(seq 1 "$ROUNDS"); do
  OUTDIR=$OUT/peer$r TARGETS="hello dot-plain+pconn" "$PEERS/run_peer.sh" 1 >"$OUT/peer$r.log" 2>&1
  cp "$OUT"/peer$r/run1_hello.txt "$OUT/r${r}_ceiling.txt"
  cp "$OUT"/peer$r/run1_dot-plain+pconn.txt "$OUT/r${r}_dot.txt"

  (serve_ours) >"$OUT/ours$r.log" 2>&1 &
  g=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT_OURS/healthz" >/dev/null && break; sleep 0.2; done
  for f in jwt opaque; do
    if [ $f = jwt ]; then id=$jid sec=$jsec; else id=$oid sec=$osec; fi
    BENCH_LABEL=warm "$PEERS/wrk_token.sh" "http://127.0.0.1:$PORT_OURS/oauth/token" "$id" "$sec" 2s 8 >/dev/null 2>&1
    BENCH_LABEL=ours-$f "$PEERS/wrk_token.sh" "http://127.0.0.1:$PORT_OURS/oauth/token" "$id" "$sec" "$DURATION" 8 >"$OUT/r${r}_ours-$f.txt" 2>&1
  done
  kill -TERM $g; wait $g 2>/dev/null

  for f in jwt opaque; do
    (cd /tmp/bench-oidcp && OIDCP_PORT=$PORT_OIDCP OIDCP_TOKEN_FORMAT=$f OIDCP_KEEPALIVE=$KEEPALIVE NODE_CLUSTER_SCHED_POLICY=none exec node server.mjs) >"$OUT/oidcp$r-$f.log" 2>&1 &
    n=$!
    for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT_OIDCP/hello" >/dev/null && break; sleep 0.2; done
    SCOPE=read BENCH_LABEL=warm "$PEERS/wrk_token.sh" "http://127.0.0.1:$PORT_OIDCP/oidc/token" "$OIDCP_CLIENT_ID" "$OIDCP_CLIENT_SECRET" 2s 8 >/dev/null 2>&1
    SCOPE=read BENCH_LABEL=oidcp-$f "$PEERS/wrk_token.sh" "http://127.0.0.1:$PORT_OIDCP/oidc/token" "$OIDCP_CLIENT_ID" "$OIDCP_CLIENT_SECRET" "$DURATION" 8 >"$OUT/r${r}_oidcp-$f.txt" 2>&1
    kill -TERM $n; wait $n 2>/dev/null
  done
  echo "round $r: ceiling $(rps "$OUT/r${r}_ceiling.txt") dot $(rps "$OUT/r${r}_dot.txt") ours-jwt $(rps "$OUT/r${r}_ours-jwt.txt") ours-opaque $(rps "$OUT/r${r}_ours-opaque.txt") oidcp-jwt $(rps "$OUT/r${r}_oidcp-jwt.txt") oidcp-opaque $(rps "$OUT/r${r}_oidcp-opaque.txt")"
done

echo "keep-alive: $([ "$KEEPALIVE" = 1 ] && echo "ours and oidc-provider (the ceiling and DOT close)" || echo "none (a new connection per request everywhere)")"
python3 - "$OUT" "$ROUNDS" <<'PY'
import re, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
names = ["ceiling", "dot", "ours-jwt", "ours-opaque", "oidcp-jwt", "oidcp-opaque"]
def read(name, r):
    try:
        line = next(l for l in open(f"{out}/r{r}_{name}.txt") if l.startswith("RESULT"))
    except (StopIteration, FileNotFoundError):
        return None, None
    return float(re.search(r"rps=([0-9.]+)", line).group(1)), int(re.search(r"non2xx=(\d+)", line).group(1))
rows = {n: [read(n, r) for r in range(1, rounds + 1)] for n in names}
median = {n: statistics.median(v for v, _ in rows[n] if v) for n in names if any(v for v, _ in rows[n])}
ceil, dot = median["ceiling"], median["dot"]
print(f"{'target':14} {'median rps':>10} {'x ceiling':>9} {'x DOT':>6} {'non2xx':>6}")
for n in names:
    if n not in median:
        print(f"{n:14} {'-':>10}"); continue
    m = median[n]
    print(f"{n:14} {m:10.0f} {m/ceil:9.2f} {m/dot:6.1f} {sum(b or 0 for _, b in rows[n]):6d}")
for ours, peer in [("ours-jwt", "oidcp-jwt"), ("ours-opaque", "oidcp-opaque")]:
    if ours in median and peer in median:
        print(f"{ours} / {peer}: {median[ours] / median[peer]:.2f}")
PY
echo "raw output in $OUT"
