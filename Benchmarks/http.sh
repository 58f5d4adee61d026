#!/usr/bin/env bash
# HTTP decisions on loopback (release build, local Tansu broker, decisions logged to the
# decisions topic as in production), measured with wrk on the same 2-core machine:
#   - paced load of about 10,000 requests/s: latency p50/p90/p99/p99.9 of POST /v1/decide
#     (LinUCB surface "offer", 3 features + intercept, 3 arms), against GET /healthz
#     paced the same way in the same run (the server's floor)
#   - closed-loop maximum throughput of POST /v1/decide
# Runs are interleaved and medians reported.
#   BENCH_RUNS     repetitions (default 5)   BENCH_SECONDS  seconds per wrk run (default 15)
#   BENCH_CONNECTIONS / BENCH_DELAY_MS  pacing (default 24 connections, 2 ms)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh
source scripts/env.sh
runs="${BENCH_RUNS:-5}"
seconds="${BENCH_SECONDS:-15}"
connections="${BENCH_CONNECTIONS:-24}"
pause="${BENCH_DELAY_MS:-2}"
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
scripts/broker.sh start "$work" "$port"
for t in arbiter.events arbiter.decisions; do scripts/broker.sh topic "$port" "$t" 4; done
scripts/broker.sh topic "$port" arbiter.dead-letters 1

ARBITER_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$port" ARBITER_ENGINE_SNAPSHOT_DIR="$work/snapshots" \
  ARBITER_HTTP_PORT="$http" ARBITER_LOG_LEVEL=warning \
  "$bin/arbiter" serve --config config/arbiter.yaml >"$work/arbiter.log" 2>&1 &
serve_pid=$!
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$http/healthz" >/dev/null 2>&1 && break; sleep 0.2; done

wrk_run() {  # path delay connections seconds
  WRK_PATH="$1" WRK_DELAY="$2" wrk -t1 -c"$3" -d"$4"s -s Benchmarks/wrk/paced.lua "http://127.0.0.1:$http" | grep '^{'
}
echo "[http] warm-up" >&2
wrk_run /v1/decide 0 16 3 >/dev/null
out="$work/raw.jsonl"
for i in $(seq "$runs"); do
  echo "[http] run $i/$runs" >&2
  wrk_run /healthz "$pause" "$connections" "$seconds" | sed 's/^{/{"mode":"paced",/' >>"$out"
  wrk_run /v1/decide "$pause" "$connections" "$seconds" | sed 's/^{/{"mode":"paced",/' >>"$out"
  wrk_run /v1/decide 0 32 "$seconds" | sed 's/^{/{"mode":"max",/' >>"$out"
done
decisions=$(curl -fsS "http://127.0.0.1:$http/metrics" | grep -E '^arbiter_decisions_total\{surface="offer"\}' | awk '{print $2}')
failures=$(curl -fsS "http://127.0.0.1:$http/metrics" | grep -E '^arbiter_decision_log_failures_total' | awk '{print $2}' || true)

python3 - "$out" "$decisions" "${failures:-0}" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def pick(mode, path):
    return [r for r in rows if r["mode"] == mode and r["path"] == path]
print("| load | path | runs | requests/s (median) | p50 µs | p90 µs | p99 µs | p99.9 µs | max µs | errors |")
print("|---|---|---|---|---|---|---|---|---|---|")
for mode, path in [("paced", "/healthz"), ("paced", "/v1/decide"), ("max", "/v1/decide")]:
    rs = pick(mode, path)
    med = lambda k: statistics.median(r[k] for r in rs)
    print(f"| {mode} | {path} | {len(rs)} | {med('requests_per_s'):,.0f} | {med('p50_us'):.0f} | {med('p90_us'):.0f} | "
          f"{med('p99_us'):.0f} | {med('p999_us'):.0f} | {med('max_us'):.0f} | {sum(r['errors'] for r in rs)} |")
d, h = pick("paced", "/v1/decide"), pick("paced", "/healthz")
ratio = statistics.median(r["p99_us"] for r in d) / max(1, statistics.median(r["p99_us"] for r in h))
print(f"\np99 of a paced decision / p99 of a paced /healthz (same run): {ratio:.2f}")
print(f"decisions served and logged to the decisions topic: {sys.argv[2]}; decision log failures: {sys.argv[3]}")
PY
