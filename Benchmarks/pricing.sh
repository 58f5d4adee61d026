#!/usr/bin/env bash
# One command for the pricing benchmark (release build):
#   1. revenue as a share of the linear program's bound on Ferreira, Simchi-Levi and Wang's
#      single-product instance (stock for a quarter and for half of the customers), for
#      the re-solving and the fixed inventory plan, the dynamic program (episodes of one plan,
#      and as served: fresh draws per published state) and inventory-blind Thompson sampling
#      (arbiter-bench pricing), against MABWiser's Thompson sampling on the same demand
#      (tools/pricing-mabwiser.py), BENCH_SEEDS seeds each, in the same run
#   2. in-process price decisions (on a prepared state, as a view is) and updates per
#      second on one core, ladder of 10, one product and 100 products per request, with a
#      sampled propensity from 1 and from 100 posterior draws per decision, and from a
#      table of 10,000 draws made once per prepared state, BENCH_RUNS runs, medians
#   3. POST /v1/price on loopback (release `arbiter serve`, local Tansu broker, quotes
#      logged to the events topic in the user's partition): p50/p90/p99 at BENCH_RATE
#      requests/s (h2load, BENCH_CLIENTS connections) for one product on a ladder of ten,
#      and for a surface that keeps a user's price (read at the owner of the user's
#      partition), and for a product with stock priced by the dynamic program, against GET /healthz and POST /v1/decide (LinUCB, 3 features, 3 arms)
#      at the same rate in the same run, with decisions.wait_for_log off and on;
#      BENCH_HTTP_RUNS fresh engines per mode, medians
#   BENCH_PERIODS (10,000)  BENCH_SEEDS (10)  BENCH_RUNS (3)  BENCH_RATE (10,000)
#   BENCH_CLIENTS (4)  BENCH_SECONDS (10)  BENCH_HTTP_RUNS (3; 0 skips step 3)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh
source scripts/env.sh
periods="${BENCH_PERIODS:-10000}"
seeds="${BENCH_SEEDS:-10}"
runs="${BENCH_RUNS:-3}"
rate="${BENCH_RATE:-10000}"
clients="${BENCH_CLIENTS:-4}"
seconds="${BENCH_SECONDS:-10}"
http_runs="${BENCH_HTTP_RUNS:-3}"
work="$root/Benchmarks/.pricing"
port=19410
http=18090
scripts/broker.sh stop "$work" 2>/dev/null || true
rm -rf "$work"
mkdir -p "$work"

swift build -c release --product arbiter-bench >&2
swift build -c release --product arbiter >&2
bin="$(swift build -c release --show-bin-path)"
bench="$bin/arbiter-bench"

for i in $(seq "$runs"); do
  echo "[pricing] arbiter run $i/$runs" >&2
  "$bench" pricing --periods "$periods" --seeds "$seeds" >"$work/arbiter-$i.jsonl"
  "$bench" pricing --throughput-only --propensity-draws 100 >>"$work/arbiter-$i.jsonl"
  "$bench" pricing --throughput-only --table-draws 10000 >>"$work/arbiter-$i.jsonl"
done
echo "[pricing] MABWiser" >&2
python3 tools/pricing-mabwiser.py --periods "$periods" --seeds "$seeds" >"$work/mabwiser.jsonl"

source Benchmarks/lib/serve.sh
trap 'bench_serve_stop; scripts/broker.sh stop "$work"' EXIT
cat >"$work/serve.yaml" <<'YAML'
pricing:
  ladder:                        # one product, ten prices
    currency: USD
    products:
      p: { range: { from: 10, to: 19, step: 1 }, unit_cost: 5 }
  kept:                          # the same, keeping a user's price for an hour
    currency: USD
    attribution_window_ms: 3600000
    guardrails: { same_user_seconds: 3600 }
    products:
      p: { range: { from: 10, to: 19, step: 1 }, unit_cost: 5 }
  stock:                         # the same ladder with stock, priced by the dynamic program
    currency: USD
    policy: dynamic-program
    products:
      p: { range: { from: 10, to: 19, step: 1 }, unit_cost: 5, inventory: { units: 100000, start: "2026-01-01T00:00:00Z", end: "2030-01-01T00:00:00Z" } }
surfaces:                        # the baseline: a decision of Benchmarks/http.sh
  offer:
    policy: linucb
    features: [recency_days, orders, mobile]
    arms: [ten_percent, free_gift, no_offer]
YAML
echo '{"surface":"ladder","user":"h2load","product":"p"}' >"$work/ladder.json"
echo '{"surface":"kept","user":"h2load","product":"p"}' >"$work/kept.json"
echo '{"surface":"stock","user":"h2load","product":"p"}' >"$work/stock.json"
echo '{"surface":"offer","user":"h2load","context":{"recency_days":3,"orders":1,"mobile":1}}' >"$work/decide.json"
: >"$work/http.jsonl"
for i in $(seq "$http_runs"); do
  for wait in false true; do
    echo "[pricing] POST /v1/price at $rate/s, run $i/$http_runs, wait_for_log $wait" >&2
    bench_serve_start "$work" "$port" "$http" "$work/serve.yaml" ARBITER_DECISIONS_WAIT_FOR_LOG="$wait"
    h2load --h1 -c 4 -n 2000 -d "$work/ladder.json" -H "Content-Type: application/json" "http://127.0.0.1:$http/v1/price" >/dev/null 2>&1  # warm-up
    bench_paced "$work" "$http" "$rate" "$clients" "$seconds" /healthz "healthz/$wait" >>"$work/http.jsonl"
    bench_paced "$work" "$http" "$rate" "$clients" "$seconds" /v1/decide "decide/$wait" "$work/decide.json" >>"$work/http.jsonl"
    bench_paced "$work" "$http" "$rate" "$clients" "$seconds" /v1/price "ladder/$wait" "$work/ladder.json" >>"$work/http.jsonl"
    bench_paced "$work" "$http" "$rate" "$clients" "$seconds" /v1/price "kept/$wait" "$work/kept.json" >>"$work/http.jsonl"
    bench_paced "$work" "$http" "$rate" "$clients" "$seconds" /v1/price "stock/$wait" "$work/stock.json" >>"$work/http.jsonl"
    curl -fsS "http://127.0.0.1:$http/metrics" | grep -E '^arbiter_(price_quotes_total|decision_log_failures_total)' | sed "s/^/run $i, wait $wait: /" >&2 || true
    bench_serve_stop
  done
done

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
plans = [r["plans"] for r in revenue if r.get("plans") and "as served" not in r["policy"]]
solves = [json.loads(l) for f in sorted(glob.glob(f"{work}/arbiter-*.jsonl")) for l in open(f) if '"dynamic_program_solve"' in l]
if plans:
    print(f"\nThe dynamic program solved {min(plans)}–{max(plans)} plans per run; one solve over the whole horizon took "
          + ", ".join(f"{statistics.median(s['seconds'] for s in solves if s['units'] == u):.3f} s ({u:,} units)" for u in sorted({s['units'] for s in solves}))
          + f" (median of {runs}).")
served = [json.loads(l) for f in sorted(glob.glob(f"{work}/arbiter-*.jsonl")) for l in open(f) if '"served_draws"' in l]
for c in dict.fromkeys((s["customers"], s["units"]) for s in served):
    sel = [s for s in served if (s["customers"], s["units"]) == c]
    print(f"Served: {sel[0]['draws']} draws of the program for {c[0]:,} customers and {c[1]:,} units (ladder of {sel[0]['points']}, scaled down by "
          f"{sel[0]['scale']}) took {statistics.median(s['median_seconds'] for s in sel) * 1e3:.2f} ms (median of {runs}).")
rows = [json.loads(l) for f in sorted(glob.glob(f"{work}/arbiter-*.jsonl")) for l in open(f) if '"throughput"' in l]
print(f"\n## In-process, one core (ladder of {rows[0]['ladder']}, decisions on a prepared state, median of {runs} runs)\n")
print("| policy | products per request | propensity from | decisions/s | updates/s | decide + update/s | requests/s | table per product |\n|---|---:|---|---:|---:|---:|---:|---:|")
for key in dict.fromkeys((r["policy"], r["products_per_request"], r["propensity_draws"], r["table"]) for r in rows):
    sel = [r for r in rows if (r["policy"], r["products_per_request"], r["propensity_draws"], r["table"]) == key]
    m = lambda f: statistics.median(r[f] for r in sel)
    source = f"table of {key[2]:,} draws" if key[3] == "yes" else f"{key[2]} draw(s) per decision"
    table = f"{m('table_ms_per_product'):.2f} ms" if key[3] == "yes" else "–"
    print(f"| {key[0]} | {key[1]} | {source} | {m('decisions_per_s'):,.0f} | {m('updates_per_s'):,.0f} | {m('decide_update_per_s'):,.0f} | {m('requests_per_s'):,.0f} | {table} |")
http = [json.loads(l) for l in open(f"{work}/http.jsonl")]
if http:
    print(f"\n## HTTP on loopback, the same rate for every request (median of {len(http) // 10} runs per mode)\n")
    print("| request | wait_for_log | requests/s | p50 µs | p90 µs | p99 µs | p99.9 µs | non-2xx/errors |\n|---|---|---:|---:|---:|---:|---:|---:|")
    names = [("healthz", "GET /healthz (the floor)"), ("decide", "POST /v1/decide, LinUCB"), ("ladder", "POST /v1/price, one product, ladder of 10"),
             ("kept", "POST /v1/price, the user's price kept (owner read)"), ("stock", "POST /v1/price, with stock, dynamic program")]
    for wait in ("false", "true"):
        for label, name in names:
            sel = [r for r in http if r["wait"] == f"{label}/{wait}"]
            m = lambda f: statistics.median(r[f] for r in sel)
            print(f"| {name} | {wait} | {m('requests_per_s'):,.0f} | {m('p50_us'):.0f} | {m('p90_us'):.0f} | {m('p99_us'):.0f} | {m('p999_us'):.0f} | {sum(r['errors'] for r in sel)} |")
    for wait in ("false", "true"):
        p99 = lambda label: statistics.median(r["p99_us"] for r in http if r["wait"] == f"{label}/{wait}")
        for label in ("ladder", "kept", "stock"):
            print(f"\nwait_for_log {wait}: p99 of {label} / p99 of /healthz {p99(label) / max(1, p99('healthz')):.2f}, / p99 of /v1/decide {p99(label) / max(1, p99('decide')):.2f}; "
                  f"per-run p99 (µs): {[r['p99_us'] for r in http if r['wait'] == f'{label}/{wait}']}", end="")
    print()
PY
