#!/usr/bin/env bash
# HTTP decisions on loopback (release build, local Tansu broker, decisions logged to the
# events topic in their user's partition, as in production), with the load generators on
# the same 2 cores:
#   - a fixed rate of 4,000 requests/s (h2load from Debian's nghttp2-client, HTTP/1.1,
#     BENCH_CLIENTS connections each sending BENCH_RATE/BENCH_CLIENTS requests/s; an
#     HTTP/1.1 connection has one request in flight, so waiting for the log needs several
#     connections to offer the rate, but h2load fires the connections' timers together,
#     so each connection added also adds to the burst every request queues behind: at
#     4,000/s the p50 of /healthz was 0.4 ms with 4 connections and 2.5 ms with 32):
#     latency p50/p90/p99/p99.9 of POST /v1/decide (LinUCB surface "offer": 3 features
#     and an intercept, 3 arms) from h2load's per-request log, against GET /healthz at
#     the same rate in the same run (the floor of the server and the machine); once with
#     decisions.wait_for_log (the default: answered after the broker's acknowledgement)
#     and once without, so the cost of the guarantee is measured in the same run
#   - closed-loop maximum throughput of POST /v1/decide (wrk, 16 connections, a new user
#     per request), in both modes
# Runs are interleaved (a fresh engine per mode and run) and medians reported.
#   BENCH_RUNS  repetitions (default 5)   BENCH_SECONDS  seconds per run (default 15)
#   BENCH_RATE  requests/s (default 4000)   BENCH_CLIENTS  connections (default 8)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh
source scripts/env.sh
runs="${BENCH_RUNS:-5}"
seconds="${BENCH_SECONDS:-15}"
rate="${BENCH_RATE:-4000}"
clients="${BENCH_CLIENTS:-8}"
work="$root/Benchmarks/.http"
port=19400
http=18080

swift build -c release --product arbiter >&2
bin="$(swift build -c release --show-bin-path)"

scripts/broker.sh stop "$work" 2>/dev/null || true
rm -rf "$work"
mkdir -p "$work"
cleanup() {
  [ -n "${serve_pid:-}" ] && kill -TERM "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
  scripts/broker.sh stop "$work"
}
trap cleanup EXIT

# A fresh broker and engine per mode and run: Tansu's in-memory storage costs more per
# request as a consumed partition grows, so every run starts from the same empty log.
start_serve() {  # wait_for_log
  scripts/broker.sh stop "$work" 2>/dev/null || true
  rm -rf "$work/snapshots"
  scripts/broker.sh start "$work" "$port" >&2
  scripts/broker.sh topic "$port" arbiter.events 4 >&2
  scripts/broker.sh topic "$port" arbiter.dead-letters 1 >&2
  scripts/broker.sh topic "$port" arbiter.state 1 cleanup.policy=compact >&2
  ARBITER_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$port" ARBITER_ENGINE_SNAPSHOT_DIR="$work/snapshots" \
    ARBITER_HTTP_PORT="$http" ARBITER_LOG_LEVEL=warning ARBITER_DECISIONS_WAIT_FOR_LOG="$1" \
    "$bin/arbiter" serve --config config/arbiter.yaml >>"$work/arbiter.log" 2>&1 &
  serve_pid=$!
  for _ in $(seq 150); do  # ready once this process owns partitions
    curl -fsS "http://127.0.0.1:$http/v1/status" 2>/dev/null \
      | python3 -c 'import json, sys; sys.exit(0 if json.load(sys.stdin)["partitions"] else 1)' 2>/dev/null && break
    sleep 0.2
  done
  WRK_PATH=/v1/decide wrk -t1 -c16 -d2s -s Benchmarks/wrk/decide.lua "http://127.0.0.1:$http" >/dev/null
}
stop_serve() {
  kill -TERM "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
  serve_pid=
}

paced() {  # path: one h2load run at the fixed rate, one JSON line of percentiles
  local log="$work/h2load.log" body=()
  rm -f "$log"
  [ "$1" = /v1/decide ] && body=(-d "$work/decide.json" -H "Content-Type: application/json")
  h2load --h1 -c "$clients" --rps $((rate / clients)) -D "$seconds" "${body[@]}" --log-file="$log" \
    "http://127.0.0.1:$http$1" >"$work/h2load.out" 2>&1
  python3 - "$log" "$1" "$seconds" "$2" <<'PY'
import json, sys
rows = [l.split("\t") for l in open(sys.argv[1])]
lat = sorted(int(r[2]) for r in rows)
errors = sum(1 for r in rows if not r[1].startswith("2"))
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
print(json.dumps({"mode": "paced", "path": sys.argv[2], "wait": sys.argv[4], "requests": len(lat), "requests_per_s": len(lat) / float(sys.argv[3]),
                  "errors": errors, "p50_us": q(.5), "p90_us": q(.9), "p99_us": q(.99), "p999_us": q(.999), "max_us": lat[-1]}))
PY
}
echo '{"surface":"offer","user":"h2load","context":{"recency_days":3,"orders":1,"mobile":1}}' >"$work/decide.json"
out="$work/raw.jsonl"
decisions=0
failures=0
for i in $(seq "$runs"); do
  for wait in true false; do
    echo "[http] run $i/$runs, wait_for_log $wait" >&2
    start_serve "$wait"
    paced /healthz "$wait" >>"$out"
    paced /v1/decide "$wait" >>"$out"
    WRK_PATH=/v1/decide wrk -t1 -c16 -d"$seconds"s -s Benchmarks/wrk/decide.lua "http://127.0.0.1:$http" \
      | grep '^{' | sed "s/^{/{\"mode\":\"max\",\"wait\":\"$wait\",/" >>"$out"
    metrics=$(curl -fsS "http://127.0.0.1:$http/metrics")
    decisions=$((decisions + $(grep -E '^arbiter_decisions_total\{surface="offer"\}' <<<"$metrics" | awk '{print int($2)}')))
    failures=$((failures + $(grep -E '^arbiter_decision_log_failures_total' <<<"$metrics" | awk '{print int($2)}' || echo 0)))
    stop_serve
  done
done

python3 - "$out" "$decisions" "${failures:-0}" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def pick(mode, path, wait):
    return [r for r in rows if r["mode"] == mode and r["path"] == path and r.get("wait") == wait]
print("| load | path | wait_for_log | runs | requests/s (median) | p50 µs | p90 µs | p99 µs | p99.9 µs | max µs | non-2xx/errors |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for mode, path, wait in [("paced", "/healthz", "true"), ("paced", "/v1/decide", "true"), ("paced", "/healthz", "false"), ("paced", "/v1/decide", "false"), ("max", "/v1/decide", "true"), ("max", "/v1/decide", "false")]:
    rs = pick(mode, path, wait)
    if not rs: continue
    med = lambda k: statistics.median(r[k] for r in rs)
    print(f"| {mode} | {path} | {wait} | {len(rs)} | {med('requests_per_s'):,.0f} | {med('p50_us'):.0f} | {med('p90_us'):.0f} | "
          f"{med('p99_us'):.0f} | {med('p999_us'):.0f} | {med('max_us'):.0f} | {sum(r['errors'] for r in rs)} |")
for wait in ("true", "false"):
    d, h = pick("paced", "/v1/decide", wait), pick("paced", "/healthz", wait)
    for p in ("p50_us", "p99_us"):
        ratio = statistics.median(r[p] for r in d) / max(1, statistics.median(r[p] for r in h))
        print(f"\nwait_for_log {wait}: {p[:-3]} of a decision / {p[:-3]} of /healthz at the same rate: {ratio:.2f}", end="")
    print(f"\nwait_for_log {wait}: per-run p99 of decisions (µs): {[r['p99_us'] for r in d]}", end="")
w, n = pick("paced", "/v1/decide", "true"), pick("paced", "/v1/decide", "false")
for p in ("p50_us", "p99_us"):
    print(f"\ncost of waiting for the log, {p[:-3]}: {statistics.median(r[p] for r in w) - statistics.median(r[p] for r in n):+.0f} µs "
          f"(ratio {statistics.median(r[p] for r in w) / max(1, statistics.median(r[p] for r in n)):.2f})", end="")
print(f"\ndecisions served and logged to the events topic: {sys.argv[2]}; decision log failures: {sys.argv[3]}")
PY
