#!/usr/bin/env bash
# One command for the decision benchmarks (release build):
#   1. in-process decide + update per second on one core: context-free policies with
#      10, 100 and 10,000 arms; LinUCB (per-arm and shared) and linear Thompson sampling
#      with d = 20 and d = 100 (arbiter-bench bandits, BENCH_RUNS runs, medians)
#   2. learning from the same logged contextual data as Vowpal Wabbit 9.11.9
#      (--cb_explore_adf -q sa), examples per second and the ratio (tools/vw-compare.py)
#   3. HTTP decisions on loopback: latency at a fixed 10,000 requests/s (h2load) and maximum
#      throughput (wrk) (Benchmarks/http.sh)
#   BENCH_RUNS  repetitions (default 5)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh
source scripts/env.sh
runs="${BENCH_RUNS:-5}"
work="$root/Benchmarks/.decisions"
rm -rf "$work"
mkdir -p "$work"

swift build -c release --product arbiter-bench >&2
bench="$(swift build -c release --show-bin-path)/arbiter-bench"

echo "## In-process decisions (decide + update per second, one core, median of $runs runs)" 
for i in $(seq "$runs"); do
  echo "[decisions] in-process run $i/$runs" >&2
  "$bench" bandits --seconds 1 >>"$work/bandits.jsonl"
done
python3 - "$work/bandits.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
keys = sorted({(r["policy"], r["arms"], r["dimension"]) for r in rows}, key=lambda k: (k[2], k[0], k[1]))
print("\n| policy | arms | d | decide+update/s (median) | min | max |\n|---|---:|---:|---:|---:|---:|")
for k in keys:
    v = [r["decide_update_per_s"] for r in rows if (r["policy"], r["arms"], r["dimension"]) == k]
    print(f"| {k[0]} | {k[1]:,} | {k[2]} | {statistics.median(v):,.0f} | {min(v):,.0f} | {max(v):,.0f} |")
PY

echo
echo "## Logged contextual data: Arbiter vs Vowpal Wabbit"
python3 tools/vw-compare.py --bench "$bench" --json "$work/vw.json"

echo
echo "## HTTP decisions"
Benchmarks/http.sh
