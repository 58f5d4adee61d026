#!/usr/bin/env bash
# This build against an earlier one, in the same run (release builds, one local Tansu
# broker, runs interleaved base/head): decode alone and decode + update per core, LinUCB
# d = 20 decide + update per core, and the pipeline's share of the bare-consume ceiling.
#   Benchmarks/regression.sh REV     REV: the earlier commit (built in a worktree under
#                                    Benchmarks/.regression/base, once)
#   BENCH_RUNS (default 5)  BENCH_REPEATS (default 35: ~1M events in the topic)
#   BENCH_BASE_DIR  a checkout of REV to build there instead (e.g. one already built)
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
(cd "$base_src" && swift build -c release --product arbiter-bench >&2)
base="$(cd "$base_src" && swift build -c release --show-bin-path)"

scripts/broker.sh stop "$work" 2>/dev/null || true
trap 'scripts/broker.sh stop "$work"' EXIT
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
]:
    a, b = med("base", kind, key, where), med("head", kind, key, where)
    print(f"| {label} | {a:,.0f} | {b:,.0f} | {b / a:.2f} |")
a, b = share("base"), share("head")
print(f"| pipeline share of the ceiling (per-run pairs) | {a:.0%} | {b:.0%} | {b / a:.2f} |")
PY
