#!/usr/bin/env bash
# One command for the offline-evaluation benchmark (release build): rounds per second of
# `arbiter evaluate`'s estimators (replay, IPS, SNIPS, DM, DR, SNDR, switch-DR, each with
# a BENCH_BOOTSTRAP-resample bootstrap interval; reward model fit included) on the Open
# Bandit Dataset random/all log tiled for speed, two candidates:
#   - against obp 0.4.0 computing the same estimators and intervals on the same tiled
#     data in the same run (tools/obp-speed.py), BENCH_OBP_ROUNDS rounds (obp needs the
#     (rounds × items × 3) action-distribution array in memory)
#   - Arbiter on the same rounds resampling single rounds (--bootstrap-blocks 0), as obp does
#   - Arbiter alone on BENCH_ROUNDS rounds (blocks: the default 10,000 bootstrap units)
#   BENCH_RUNS (3)  BENCH_ROUNDS (10,000,000)  BENCH_OBP_ROUNDS (1,000,000)  BENCH_BOOTSTRAP (100)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh
source scripts/env.sh
runs="${BENCH_RUNS:-3}"
rounds="${BENCH_ROUNDS:-10000000}"
obp_rounds="${BENCH_OBP_ROUNDS:-1000000}"
bootstrap="${BENCH_BOOTSTRAP:-100}"
data="${BENCH_OBD:-$root/../shared/data/obd}/random/all"
work="$root/Benchmarks/.evaluation"
rm -rf "$work"
mkdir -p "$work"

swift build -c release --product arbiter-bench >&2
bench="$(swift build -c release --show-bin-path)/arbiter-bench"
out="$work/raw.jsonl"
for i in $(seq "$runs"); do
  echo "[evaluation] run $i/$runs" >&2
  "$bench" evaluate --obd "$data/all.csv" --items "$data/item_context.csv" --rounds "$obp_rounds" --bootstrap "$bootstrap" \
    | sed 's/^{/{"side":"arbiter",/' >>"$out"
  "$bench" evaluate --obd "$data/all.csv" --items "$data/item_context.csv" --rounds "$obp_rounds" --bootstrap "$bootstrap" --bootstrap-blocks 0 \
    | sed 's/^{/{"side":"arbiter-rounds",/' >>"$out"
  python3 tools/obp-speed.py --obd "$data/all.csv" --items "$data/item_context.csv" --rounds "$obp_rounds" --bootstrap "$bootstrap" \
    | sed 's/^{/{"side":"obp",/' >>"$out"
  "$bench" evaluate --obd "$data/all.csv" --items "$data/item_context.csv" --rounds "$rounds" --bootstrap "$bootstrap" \
    | sed 's/^{/{"side":"arbiter-large",/' >>"$out"
done
python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def pick(side): return [r for r in rows if r["side"] == side]
print("| side | rounds | candidates | bootstrap | units | rounds/s (median) | min | max | DR uniform | DR skewed |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for side in ("arbiter", "arbiter-rounds", "obp", "arbiter-large"):
    rs = pick(side)
    v = [r["rounds_per_s"] for r in rs]
    units = "rounds" if side == "obp" or rs[0].get("bootstrap_blocks") == 0 else f"{rs[0]['bootstrap_blocks']:,} blocks"
    print(f"| {side} | {rs[0]['rounds']:,} | {rs[0]['candidates']} | {rs[0]['bootstrap']} | {units} | {statistics.median(v):,.0f} | "
          f"{min(v):,.0f} | {max(v):,.0f} | {rs[0]['dr_uniform']:.6f} | {rs[0]['dr_skewed']:.6f} |")
obp = statistics.median(r["rounds_per_s"] for r in pick("obp"))
for side, what in (("arbiter", "block bootstrap"), ("arbiter-rounds", "per-round bootstrap, as obp")):
    ratio = statistics.median(r["rounds_per_s"] for r in pick(side)) / obp
    print(f"\nArbiter ({what}) / obp, same rounds, same run (medians): {ratio:.1f}x")
PY
