#!/usr/bin/env bash
# One command for the pricing benchmark (release build):
#   1. revenue as a share of the linear program's bound on Ferreira, Simchi-Levi and Wang's
#      single-product instance (stock for a quarter and for half of the customers), for
#      the re-solving and the fixed inventory plan and inventory-blind Thompson sampling
#      (arbiter-bench pricing), against MABWiser's Thompson sampling on the same demand
#      (tools/pricing-mabwiser.py), BENCH_SEEDS seeds each, in the same run
#   2. in-process price decisions (on a prepared state, as a view is) and updates per
#      second on one core, ladder of 10, one product and 100 products per request, with a
#      sampled propensity from 1 and from 100 posterior draws per decision, and from a
#      table of 10,000 draws made once per prepared state, BENCH_RUNS runs, medians
#   BENCH_PERIODS (10,000)  BENCH_SEEDS (10)  BENCH_RUNS (3)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh
source scripts/env.sh
periods="${BENCH_PERIODS:-10000}"
seeds="${BENCH_SEEDS:-10}"
runs="${BENCH_RUNS:-3}"
work="$root/Benchmarks/.pricing"
rm -rf "$work"
mkdir -p "$work"

swift build -c release --product arbiter-bench >&2
bench="$(swift build -c release --show-bin-path)/arbiter-bench"

for i in $(seq "$runs"); do
  echo "[pricing] arbiter run $i/$runs" >&2
  "$bench" pricing --periods "$periods" --seeds "$seeds" >"$work/arbiter-$i.jsonl"
  "$bench" pricing --throughput-only --propensity-draws 100 >>"$work/arbiter-$i.jsonl"
  "$bench" pricing --throughput-only --table-draws 10000 >>"$work/arbiter-$i.jsonl"
done
echo "[pricing] MABWiser" >&2
python3 tools/pricing-mabwiser.py --periods "$periods" --seeds "$seeds" >"$work/mabwiser.jsonl"

python3 - "$work" "$runs" <<'PY'
import glob, json, statistics, sys
work, runs = sys.argv[1], int(sys.argv[2])
revenue = [json.loads(l) for l in open(f"{work}/arbiter-1.jsonl") if '"revenue"' in l]
bound = {r["stock_share"]: r["bound"] for r in revenue}
revenue += [dict(r, share=r["revenue"] / bound[r["stock_share"]]) for r in map(json.loads, open(f"{work}/mabwiser.jsonl"))]
print("## Revenue as a share of the linear program's bound (median over seeds, same run)\n")
print("| policy | stock ¼ of customers | min–max | stock ½ | min–max | seconds per run (½) |\n|---|---:|---:|---:|---:|---:|")
for policy in dict.fromkeys(r["policy"] for r in revenue):
    cells = []
    for share in (0.25, 0.5):
        v = [r["share"] for r in revenue if r["policy"] == policy and r["stock_share"] == share]
        cells += [f"{statistics.median(v):.1%}", f"{min(v):.1%}–{max(v):.1%}"]
    t = statistics.median(r["seconds"] for r in revenue if r["policy"] == policy and r["stock_share"] == 0.5)
    print(f"| {policy} | " + " | ".join(cells) + f" | {t:.3f} |")
plans = [r["plans"] for r in revenue if r.get("plans")]
solves = [json.loads(l) for f in sorted(glob.glob(f"{work}/arbiter-*.jsonl")) for l in open(f) if '"dynamic_program_solve"' in l]
if plans:
    print(f"\nThe dynamic program solved {min(plans)}–{max(plans)} plans per run; one solve over the whole horizon took "
          + ", ".join(f"{statistics.median(s['seconds'] for s in solves if s['units'] == u):.3f} s ({u:,} units)" for u in sorted({s['units'] for s in solves}))
          + f" (median of {runs}).")
rows = [json.loads(l) for f in sorted(glob.glob(f"{work}/arbiter-*.jsonl")) for l in open(f) if '"throughput"' in l]
print(f"\n## In-process, one core (ladder of {rows[0]['ladder']}, decisions on a prepared state, median of {runs} runs)\n")
print("| policy | products per request | propensity from | decisions/s | updates/s | decide + update/s | requests/s | table per product |\n|---|---:|---|---:|---:|---:|---:|---:|")
for key in dict.fromkeys((r["policy"], r["products_per_request"], r["propensity_draws"], r["table"]) for r in rows):
    sel = [r for r in rows if (r["policy"], r["products_per_request"], r["propensity_draws"], r["table"]) == key]
    m = lambda f: statistics.median(r[f] for r in sel)
    source = f"table of {key[2]:,} draws" if key[3] == "yes" else f"{key[2]} draw(s) per decision"
    table = f"{m('table_ms_per_product'):.2f} ms" if key[3] == "yes" else "–"
    print(f"| {key[0]} | {key[1]} | {source} | {m('decisions_per_s'):,.0f} | {m('updates_per_s'):,.0f} | {m('decide_update_per_s'):,.0f} | {m('requests_per_s'):,.0f} | {table} |")
PY
