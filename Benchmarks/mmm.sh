#!/usr/bin/env bash
# One command for the marketing-mix fit benchmark (release build): data simulated from
# the model, 156 weeks × 8 channels and two controls; 4 chains × (1,000 warm-up + 1,000
# draws) of NUTS in parallel on this machine's cores. Reports wall time, worst R-hat,
# smallest bulk and tail ESS, ESS per second, divergences and peak memory, per run and
# as medians. Then, in the same run, PyMC-Marketing 0.19.2 fits run 1's data with the
# same draws (tools/pymc-speed.py, its own virtualenv; several minutes), unless
# BENCH_PYMC=0, and the ratios are printed.
#   BENCH_RUNS (3)  BENCH_WEEKS (156)  BENCH_CHANNELS (8)  BENCH_WARMUP (1000)  BENCH_DRAWS (1000)  BENCH_PYMC (1)
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
if [ "${BENCH_PYMC:-1}" != 0 ]; then
  echo "[mmm] PyMC-Marketing on run 1's data" >&2
  python3 tools/pymc-speed.py --csv "$work/data-1.csv" --draws "${BENCH_DRAWS:-1000}" --tune "${BENCH_WARMUP:-1000}" >"$work/pymc.jsonl"
  python3 - "$work/raw.jsonl" "$work/pymc.jsonl" <<'PY'
import json, sys
arbiter = json.loads(open(sys.argv[1]).readline())
# PyMC's progress bars can land on standard output too: the result is the JSON line.
pymc = json.loads([l for l in open(sys.argv[2]) if l.startswith("{")][-1])
print(f"\nPyMC-Marketing on run 1's data: {pymc['seconds']:.1f} s, worst R-hat {pymc['worst_r_hat']:.3f}, "
      f"bulk ESS {pymc['min_bulk_ess']:.0f}, tail ESS {pymc['min_tail_ess']:.0f}, "
      f"{pymc['min_bulk_ess_per_s']:.2f} bulk ESS/s, {pymc['divergences']} divergences")
print(f"Arbiter run 1: {arbiter['seconds']:.1f} s, {arbiter['min_bulk_ess_per_s']:.2f} bulk ESS/s")
print(f"speed-up (wall time): {pymc['seconds'] / arbiter['seconds']:.1f}x; "
      f"bulk ESS per second: {arbiter['min_bulk_ess_per_s'] / pymc['min_bulk_ess_per_s']:.1f}x")
PY
fi
