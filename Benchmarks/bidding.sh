#!/usr/bin/env bash
# One command for the bidding benchmark (release build): reinforcement-learning bidding
# (Cai et al.'s MDP solved on distributions learnt from a previous day) against linear
# bidders tuned offline and in hindsight, on days of 1,000 auctions; budget pacing on simulated days
# of second-price auctions (known CTRs, log-normal market prices, independent or with
# correlated logs; the budget 1/32–1/2 of the day's market cost): expected clicks and
# spend of the dual controller (BudgetPacer, which knows nothing in advance) against a
# linear and a constant bidder each tuned on the same day's prices, BENCH_SEEDS days per
# setting (arbiter-bench bidding).
#   BENCH_AUCTIONS (100,000)  BENCH_SEEDS (5)  BENCH_DAYS (40)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh
source scripts/env.sh
work="$root/Benchmarks/.bidding"
mkdir -p "$work"
swift build -c release --product arbiter-bench >&2
"$(swift build -c release --show-bin-path)/arbiter-bench" bidding --auctions "${BENCH_AUCTIONS:-100000}" --seeds "${BENCH_SEEDS:-5}" --days "${BENCH_DAYS:-40}" >"$work/pacing.jsonl"
python3 - "$work/pacing.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rl = [r for r in rows if r["study"] == "reinforcement"]
rows = [r for r in rows if r["study"] == "pacing"]
print(f"## Reinforcement-learning bidding, days of 1,000 auctions (mean over {rl[0]['days']} days, same run)\n")
print("| correlation | budget | RL clicks / offline-tuned linear | RL / hindsight-tuned linear | RL spend | offline linear spend | solve s |\n|---:|---:|---:|---:|---:|---:|---:|")
for r in rl:
    print(f"| {r['correlation']} | 1/{round(1 / r['budget_share'])} | {r['rl_clicks'] / r['offline_linear_clicks']:.3f} | {r['rl_clicks'] / r['hindsight_linear_clicks']:.3f} | "
          f"{r['rl_spend_share']:.1%} | {r['offline_linear_spend_share']:.1%} | {r['solve_seconds']:.2f} |")
print()
print(f"## Budget pacing, {rows[0]['auctions']:,} auctions per day (medians over days, same run)\n")
print("| correlation | budget | paced clicks / tuned linear | min–max | paced / tuned constant | paced spend | linear spend | paced auctions/s |\n|---:|---:|---:|---:|---:|---:|---:|---:|")
for key in dict.fromkeys((r["correlation"], r["budget_share"]) for r in rows):
    sel = [r for r in rows if (r["correlation"], r["budget_share"]) == key]
    ratio = [r["paced_clicks"] / r["linear_clicks"] for r in sel]
    flat = [r["paced_clicks"] / r["constant_clicks"] for r in sel]
    print(f"| {key[0]} | 1/{round(1 / key[1])} | {statistics.median(ratio):.3f} | {min(ratio):.3f}–{max(ratio):.3f} | {statistics.median(flat):.2f} | "
          f"{statistics.median(r['paced_spend_share'] for r in sel):.2%} | {statistics.median(r['linear_spend_share'] for r in sel):.2%} | "
          f"{statistics.median(r['paced_auctions_per_s'] for r in sel):,.0f} |")
PY
