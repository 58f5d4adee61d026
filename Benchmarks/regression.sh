#!/usr/bin/env bash
# This build against an earlier one, in the same run (release builds, one local Tansu
# broker, runs interleaved base/head): decode alone and decode + update per core, LinUCB
# d = 20 decide + update per core, the pipeline's share of the bare-consume ceiling, and
# POST /v1/decide at a fixed rate (each build's `arbiter serve` with its own reference
# configuration on a fresh broker, h2load's per-request latencies; decisions do not wait
# for the log, which earlier builds could not do).
#   Benchmarks/regression.sh REV     REV: the earlier commit (built in a worktree under
#                                    Benchmarks/.regression/base, once)
#   BENCH_RUNS (default 5)  BENCH_REPEATS (default 35: ~1M events in the topic)
#   BENCH_BASE_DIR  a checkout of REV to build there instead (e.g. one already built)
#   BENCH_HTTP_RATE (default 10000 requests/s)  BENCH_HTTP_CLIENTS (default 4)
#   BENCH_HTTP_SECONDS (default 10; 0 skips the HTTP part)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
rev="${1:?usage: Benchmarks/regression.sh REV}"
scripts/setup.sh
source scripts/env.sh
runs="${BENCH_RUNS:-5}"
repeats="${BENCH_REPEATS:-35}"
work="$root/Benchmarks/.regression"
port=19600
mkdir -p "$work"

swift build -c release --product arbiter >&2
swift build -c release --product arbiter-bench >&2
head="$(swift build -c release --show-bin-path)"
base_src="${BENCH_BASE_DIR:-$work/base}"
if [ -z "${BENCH_BASE_DIR:-}" ] && { [ ! -d "$base_src" ] || [ "$(git -C "$base_src" rev-parse HEAD)" != "$(git rev-parse "$rev")" ]; }; then
  rm -rf "$base_src"
  git worktree prune
  git worktree add -f "$base_src" "$rev" >&2
fi
ln -sfn "$root/.deps" "$base_src/.deps"
(cd "$base_src" && swift build -c release --product arbiter-bench >&2 && swift build -c release --product arbiter >&2)
base="$(cd "$base_src" && swift build -c release --show-bin-path)"

http_rate="${BENCH_HTTP_RATE:-10000}"
http_clients="${BENCH_HTTP_CLIENTS:-4}"
http_seconds="${BENCH_HTTP_SECONDS:-10}"
hwork="$work/http"
hport=19610
http=18090
scripts/broker.sh stop "$work" 2>/dev/null || true
scripts/broker.sh stop "$hwork" 2>/dev/null || true
cleanup() {
  [ -n "${serve_pid:-}" ] && kill -TERM "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
  scripts/broker.sh stop "$hwork" 2>/dev/null || true
  scripts/broker.sh stop "$work"
}
trap cleanup EXIT

# One paced run of POST /v1/decide against BUILD's server (binaries in BIN, started in
# its checkout SRC), on a fresh broker: Tansu's in-memory storage costs more per request
# as a consumed partition grows. One JSON line of percentiles.
decide_at_rate() {  # build bin src
  scripts/broker.sh stop "$hwork" 2>/dev/null || true
  rm -rf "$hwork"
  mkdir -p "$hwork"
  scripts/broker.sh start "$hwork" "$hport" >&2
  for t in arbiter.events arbiter.decisions; do scripts/broker.sh topic "$hport" "$t" 4 >&2; done
  scripts/broker.sh topic "$hport" arbiter.dead-letters 1 >&2
  scripts/broker.sh topic "$hport" arbiter.state 1 cleanup.policy=compact >&2
  local settings=(ARBITER_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$hport" ARBITER_ENGINE_SNAPSHOT_DIR="$hwork/snapshots"
    ARBITER_HTTP_PORT="$http" ARBITER_LOG_LEVEL=warning)
  [ "$1" = head ] && settings+=(ARBITER_DECISIONS_WAIT_FOR_LOG=false)
  (cd "$3" && exec env "${settings[@]}" "$2/arbiter" serve --config config/arbiter.yaml) >>"$work/arbiter-$1.log" 2>&1 &
  serve_pid=$!
  local body='{"surface":"offer","user":"h2load","context":{"recency_days":3,"orders":1,"mobile":1}}'
  echo "$body" >"$hwork/decide.json"
  for _ in $(seq 150); do  # ready once a decision is answered
    curl -fsS -o /dev/null -H "Content-Type: application/json" -d "$body" "http://127.0.0.1:$http/v1/decide" 2>/dev/null && break
    sleep 0.2
  done
  WRK_PATH=/v1/decide wrk -t1 -c16 -d2s -s Benchmarks/wrk/decide.lua "http://127.0.0.1:$http" >/dev/null
  h2load --h1 -c "$http_clients" --rps $((http_rate / http_clients)) -D "$http_seconds" -d "$hwork/decide.json" \
    -H "Content-Type: application/json" --log-file="$hwork/h2load.log" "http://127.0.0.1:$http/v1/decide" >"$hwork/h2load.out" 2>&1
  kill -TERM "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
  serve_pid=
  python3 - "$hwork/h2load.log" "$http_seconds" <<'PY'
import json, sys
rows = [l.split("\t") for l in open(sys.argv[1])]
lat = sorted(int(r[2]) for r in rows)
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
print(json.dumps({"benchmark": "decide_http", "requests_per_s": len(lat) / float(sys.argv[2]),
                  "non_2xx": sum(1 for r in rows if not r[1].startswith("2")), "p50_us": q(.5), "p99_us": q(.99)}))
PY
}
rm -rf "$work/broker" "$work/raw.jsonl"
scripts/broker.sh start "$work" "$port"
scripts/broker.sh topic "$port" bench.events 4
scripts/broker.sh topic "$port" arbiter.dead-letters 1
scripts/broker.sh topic "$port" bench.state 1 cleanup.policy=compact
"$head/arbiter" produce --input replay-data/sample-events.jsonl --topic bench.events --bootstrap-servers "127.0.0.1:$port" --repeats "$repeats" >&2
expect=$(( $(grep -c . replay-data/sample-events.jsonl) * repeats ))

out="$work/raw.jsonl"
tag() { sed "s/^{/{\"build\":\"$1\",/"; }
for i in $(seq "$runs"); do
  echo "[regression] run $i/$runs" >&2
  for build in base head; do
    bin=$base; [ "$build" = head ] && bin=$head
    extra=(); [ "$build" = head ] && extra=(--state-topic bench.state)
    "$bin/arbiter-bench" decode --input replay-data/sample-events.jsonl | tag "$build" >>"$out"
    "$bin/arbiter-bench" bandits --seconds 1 | grep '"linucb"' | grep '"dimension":20' | tag "$build" >>"$out" || true
    "$bin/arbiter-bench" bare --bootstrap-servers "127.0.0.1:$port" --topic bench.events --expect "$expect" | tag "$build" >>"$out"
    rm -rf "$work/snapshots"
    "$bin/arbiter-bench" pipeline --bootstrap-servers "127.0.0.1:$port" --topic bench.events --expect "$expect" \
      --snapshots "$work/snapshots" "${extra[@]}" | tag "$build" >>"$out"
  done
  if [ "$http_seconds" != 0 ]; then
    for build in base head; do
      bin=$base src=$base_src
      [ "$build" = head ] && bin=$head src=$root
      decide_at_rate "$build" "$bin" "$src" | tag "$build" >>"$out"
    done
  fi
done

python3 - "$out" "$rev" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def med(build, kind, key, where=lambda r: True):
    v = [r[key] for r in rows if r["build"] == build and r["benchmark"] == kind and where(r)]
    return statistics.median(v) if v else float("nan")
def share(build):
    shares = []
    b = [r for r in rows if r["build"] == build and r["benchmark"] == "bare_consume"]
    p = [r for r in rows if r["build"] == build and r["benchmark"] == "pipeline"]
    for x, y in zip(b, p): shares.append(y["events_per_s"] / x["events_per_s"])
    return statistics.median(shares)
perarm = lambda r: r.get("policy") == "linucb" and r.get("dimension") == 20
print(f"| median of runs, same machine, interleaved | base ({sys.argv[2][:8]}) | head | head / base |")
print("|---|---:|---:|---:|")
for label, kind, key, where in [
    ("decode alone, events/s (one core)", "decode", "decode_events_per_s", lambda r: True),
    ("decode + update, events/s (one core)", "decode", "decode_update_events_per_s", lambda r: True),
    ("LinUCB d = 20, 10 arms, decide + update/s", "bandits", "decide_update_per_s", perarm),
    ("bare consume ceiling, events/s", "bare_consume", "events_per_s", lambda r: True),
    ("pipeline, events/s", "pipeline", "events_per_s", lambda r: True),
    ("POST /v1/decide, answered/s at the fixed rate", "decide_http", "requests_per_s", lambda r: True),
    ("POST /v1/decide, p50 µs", "decide_http", "p50_us", lambda r: True),
    ("POST /v1/decide, p99 µs", "decide_http", "p99_us", lambda r: True),
]:
    a, b = med("base", kind, key, where), med("head", kind, key, where)
    print(f"| {label} | {a:,.0f} | {b:,.0f} | {b / a:.2f} |")
a, b = share("base"), share("head")
print(f"| pipeline share of the ceiling (per-run pairs) | {a:.0%} | {b:.0%} | {b / a:.2f} |")
for build in ("base", "head"):
    http = [r for r in rows if r["build"] == build and r["benchmark"] == "decide_http"]
    if http:
        print(f"\n{build}: per-run p99 of /v1/decide (µs) {[r['p99_us'] for r in http]}, non-2xx {sum(r['non_2xx'] for r in http)}", end="")
print()
PY
