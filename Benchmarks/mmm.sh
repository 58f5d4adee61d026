#!/usr/bin/env bash
# One command for the marketing-mix fit benchmark (release build): data simulated from
# the model, 156 weeks × 8 channels and two controls; 4 chains × (1,000 warm-up + 1,000
# draws) of NUTS in parallel on this machine's cores. Reports wall time, worst R-hat,
# smallest bulk and tail ESS, ESS per second, divergences and peak memory, per run and
# as medians.
#   BENCH_RUNS (3)  BENCH_WEEKS (156)  BENCH_CHANNELS (8)  BENCH_WARMUP (1000)  BENCH_DRAWS (1000)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh
source scripts/env.sh
runs="${BENCH_RUNS:-3}"
work="$root/Benchmarks/.mmm"
rm -rf "$work"
mkdir -p "$work"
swift build -c release --product arbiter-bench >&2
bench="$(swift build -c release --show-bin-path)/arbiter-bench"
for i in $(seq "$runs"); do
  echo "[mmm] run $i/$runs" >&2
  "$bench" mmm --weeks "${BENCH_WEEKS:-156}" --channels "${BENCH_CHANNELS:-8}" --warmup "${BENCH_WARMUP:-1000}" \
    --draws "${BENCH_DRAWS:-1000}" --seed "$i" --csv "$work/data-$i.csv" >>"$work/raw.jsonl"
done
python3 - "$work/raw.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
keys = ["seconds", "worst_r_hat", "min_bulk_ess", "min_tail_ess", "min_bulk_ess_per_s", "divergences", "max_depth_hits", "gradients", "converged", "roi_covered", "peak_rss_bytes"]
print("| run | " + " | ".join(keys) + " |")
print("|---" * (len(keys) + 1) + "|")
for i, r in enumerate(rows, 1):
    print(f"| {i} | " + " | ".join(f"{r[k]:,.3f}" if isinstance(r[k], float) else f"{r[k]:,}" for k in keys) + " |")
print("| median | " + " | ".join(f"{statistics.median(r[k] for r in rows):,.3f}" for k in keys) + " |")
PY
