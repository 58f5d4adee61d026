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

source Benchmarks/lib/serve.sh
start_serve() {  # wait_for_log
  bench_serve_start "$work" "$port" "$http" config/arbiter.yaml ARBITER_DECISIONS_WAIT_FOR_LOG="$1"
  WRK_PATH=/v1/decide wrk -t1 -c16 -d2s -s Benchmarks/wrk/decide.lua "http://127.0.0.1:$http" >/dev/null
}
paced() {  # path wait
  local body=""
  [ "$1" = /v1/decide ] && body="$work/decide.json"
  bench_paced "$work" "$http" "$rate" "$clients" "$seconds" "$1" "$2" $body
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
    bench_serve_stop
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
