#!/usr/bin/env bash
# One command for the bidding benchmark (release build): reinforcement-learning bidding
# (Cai et al.'s MDP solved on distributions learnt from a previous day) against linear
# bidders tuned offline and in hindsight, on days of 1,000 auctions; budget pacing on simulated days
# of second-price auctions (known CTRs, log-normal market prices, independent or with
# correlated logs; the budget 1/32–1/2 of the day's market cost): expected clicks and
# spend of the dual controller (BudgetPacer, which knows nothing in advance) against a
# linear and a constant bidder each tuned on the same day's prices, BENCH_SEEDS days per
# setting, and of the pacing `serve` bids with (SpendPacer) (arbiter-bench bidding);
# in-process bids on one core: a request of three impressions against 20 campaigns on a
# learnt click model (arbiter-bench bid-serving), BENCH_RUNS runs; POST /v1/bid on
# loopback (release `arbiter serve`, local Tansu broker, every bid logged to the events
# topic, answered with and without waiting for the broker's acknowledgement
# (decisions.wait_for_log)): p50/p90/p99/p99.9 at BENCH_RATE requests/s (h2load,
# BENCH_CLIENTS connections) for that request against GET /healthz at the same rate,
# BENCH_HTTP_RUNS fresh engines, medians.
# Then strategies as served (arbiter-bench bidding-served: the whole bid path, the click
# model and market learnt from the notices; strategy rl against paced on the same
# auctions and both against a linear bidder tuned in hindsight with the true CTRs).
#   BENCH_AUCTIONS (100,000)  BENCH_SEEDS (5)  BENCH_DAYS (40)  BENCH_RUNS (3)
#   BENCH_SERVED_AUCTIONS (20,000)  BENCH_SERVED_DAYS (3)
#   BENCH_RATE (10,000)  BENCH_CLIENTS (4)  BENCH_SECONDS (10)  BENCH_HTTP_RUNS (3; 0 skips)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh
source scripts/env.sh
work="$root/Benchmarks/.bidding"
mkdir -p "$work"
swift build -c release --product arbiter-bench >&2
swift build -c release --product arbiter >&2
bin="$(swift build -c release --show-bin-path)"
"$bin/arbiter-bench" bidding --auctions "${BENCH_AUCTIONS:-100000}" --seeds "${BENCH_SEEDS:-5}" --days "${BENCH_DAYS:-40}" >"$work/pacing.jsonl"
"$bin/arbiter-bench" bidding-served --auctions "${BENCH_SERVED_AUCTIONS:-20000}" --days "${BENCH_SERVED_DAYS:-3}" >"$work/served.jsonl"
: >"$work/serving.jsonl"
for i in $(seq "${BENCH_RUNS:-3}"); do "$bin/arbiter-bench" bid-serving >>"$work/serving.jsonl"; done

rate="${BENCH_RATE:-10000}" clients="${BENCH_CLIENTS:-4}" seconds="${BENCH_SECONDS:-10}"
port=19420 http=18095
source Benchmarks/lib/serve.sh
trap 'bench_serve_stop; scripts/broker.sh stop "$work"' EXIT
python3 - >"$work/serve.yaml" <<'PY'
# 20 campaigns: four creative formats, some targeting phones, a third paying per action.
sizes = ["size: 300x250", "size: 728x90", "size: 320x50", "format: video"]
print("bidding:\n  campaigns:")
for k in range(20):
    goal = "{ cpa: 20 }" if k % 3 == 2 else f"{{ cpc: {0.5 + 0.05 * k:.2f} }}"
    target = "\n      targeting: { device_types: [1, 4, 5] }" if k % 5 == 4 else ""
    print(f"    campaign-{k}:\n      currency: USD\n      daily_budget: 1000000\n      goal: {goal}\n      bid_cap: 10{target}\n      creatives:\n"
          f"        - {{ id: c{k}-a, {sizes[k % 4]}, adomain: adv{k}.example }}\n        - {{ id: c{k}-b, {sizes[(k + 1) % 4]}, adomain: adv{k}.example }}")
PY
cat >"$work/bid.json" <<'JSON'
{"id":"h2load","at":2,"tmax":120,"cur":["USD"],"imp":[{"id":"1","bidfloor":0.05,"banner":{"format":[{"w":300,"h":250}]}},{"id":"2","bidfloor":0.05,"banner":{"w":728,"h":90}},{"id":"3","video":{"mimes":["video/mp4"],"minduration":5,"maxduration":30}}],"site":{"id":"s1","domain":"news.example","cat":["IAB12"],"publisher":{"id":"p1"}},"device":{"devicetype":2,"os":"Linux","geo":{"country":"USA"}},"user":{"id":"h2load-user"}}
JSON
: >"$work/http.jsonl"
for i in $(seq "${BENCH_HTTP_RUNS:-3}"); do
  # Answered once the broker has acknowledged the bid's log record (the default), and
  # without that wait: what the engine itself costs.
  for wait in false true; do
    echo "[bidding] POST /v1/bid at $rate/s, run $i, wait_for_log $wait" >&2
    bench_serve_start "$work" "$port" "$http" "$work/serve.yaml" ARBITER_DECISIONS_WAIT_FOR_LOG="$wait"
    h2load --h1 -c 4 -n 2000 -d "$work/bid.json" -H "Content-Type: application/json" "http://127.0.0.1:$http/v1/bid" >/dev/null 2>&1  # warm-up
    bench_paced "$work" "$http" "$rate" "$clients" "$seconds" /healthz "healthz/$wait" >>"$work/http.jsonl"
    bench_paced "$work" "$http" "$rate" "$clients" "$seconds" /v1/bid "bid/$wait" "$work/bid.json" >>"$work/http.jsonl"
    curl -fsS "http://127.0.0.1:$http/metrics" | grep -E '^arbiter_(bids_total|no_bids_total|decision_log_failures_total)' | sed "s/^/run $i, wait $wait: /" >&2 || true
    bench_serve_stop
  done
done

python3 - "$work/pacing.jsonl" "$work/serving.jsonl" "$work/http.jsonl" "$work/served.jsonl" <<'PY'
import json, statistics, sys
served = [json.loads(l) for l in open(sys.argv[4])]
print(f"## Strategies as served, days of {served[0]['auctions']:,} auctions through the bid path (click model and market learnt from the notices)\n")
print("| budget | day | rl / paced clicks | rl / hindsight linear | paced / hindsight linear | rl spend | paced spend | rl bids by the plan |\n|---:|---:|---:|---:|---:|---:|---:|---:|")
for key in dict.fromkeys((r["budget_share"], r["day"]) for r in served):
    rl = next(r for r in served if (r["budget_share"], r["day"]) == key and r["strategy"] == "rl")
    paced = next(r for r in served if (r["budget_share"], r["day"]) == key and r["strategy"] == "paced")
    print(f"| 1/{round(1 / key[0])} | {key[1]} | {rl['expected_clicks'] / paced['expected_clicks']:.3f} | {rl['expected_clicks'] / rl['hindsight_linear_clicks']:.3f} | "
          f"{paced['expected_clicks'] / paced['hindsight_linear_clicks']:.3f} | {rl['spend_share']:.1%} | {paced['spend_share']:.1%} | {rl['planned'] / max(1, rl['bids']):.0%} |")
print()
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
print("| correlation | budget | paced clicks / tuned linear | min–max | paced / tuned constant | paced spend | linear spend | paced auctions/s | served pacer / tuned linear | min–max | served spend |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for key in dict.fromkeys((r["correlation"], r["budget_share"]) for r in rows):
    sel = [r for r in rows if (r["correlation"], r["budget_share"]) == key]
    ratio = [r["paced_clicks"] / r["linear_clicks"] for r in sel]
    flat = [r["paced_clicks"] / r["constant_clicks"] for r in sel]
    print(f"| {key[0]} | 1/{round(1 / key[1])} | {statistics.median(ratio):.3f} | {min(ratio):.3f}–{max(ratio):.3f} | {statistics.median(flat):.2f} | "
          f"{statistics.median(r['paced_spend_share'] for r in sel):.2%} | {statistics.median(r['linear_spend_share'] for r in sel):.2%} | "
          f"{statistics.median(r['paced_auctions_per_s'] for r in sel):,.0f} | {statistics.median(r['served_clicks'] / r['linear_clicks'] for r in sel):.3f} | "
          f"{min(r['served_clicks'] / r['linear_clicks'] for r in sel):.3f}–{max(r['served_clicks'] / r['linear_clicks'] for r in sel):.3f} | "
          f"{statistics.median(r['served_spend_share'] for r in sel):.2%} |")
serving = [json.loads(l) for l in open(sys.argv[2])]
m = lambda f: statistics.median(r[f] for r in serving)
print(f"\n## In-process bids, one core ({serving[0]['campaigns']} campaigns, {serving[0]['impressions_per_request']} impressions per request, median of {len(serving)} runs)\n")
print(f"{m('requests_per_s'):,.0f} requests/s, {m('bids_per_s'):,.0f} bids/s (impressions answered), {m('campaign_prices_per_s'):,.0f} campaign prices/s; per run {[round(r['bids_per_s']) for r in serving]} bids/s")
http = [json.loads(l) for l in open(sys.argv[3])]
if http:
    print(f"\n## HTTP on loopback, the same rate asked of each (median of {len(http) // 4} runs)\n")
    print("| request | wait_for_log | requests/s | p50 µs | p90 µs | p99 µs | p99.9 µs | non-2xx/errors |\n|---|---|---:|---:|---:|---:|---:|---:|")
    p99 = lambda label: statistics.median(r["p99_us"] for r in http if r["wait"] == label)
    for wait in ("false", "true"):
        for label, name in (("healthz", "GET /healthz (the floor)"), ("bid", "POST /v1/bid, 3 impressions, 20 campaigns")):
            sel = [r for r in http if r["wait"] == f"{label}/{wait}"]
            q = lambda f: statistics.median(r[f] for r in sel)
            print(f"| {name} | {wait} | {q('requests_per_s'):,.0f} | {q('p50_us'):.0f} | {q('p90_us'):.0f} | {q('p99_us'):.0f} | {q('p999_us'):.0f} | {sum(r['errors'] for r in sel)} |")
    for wait in ("false", "true"):
        print(f"\nwait_for_log {wait}: p99 of /v1/bid / p99 of /healthz {p99(f'bid/{wait}') / max(1, p99(f'healthz/{wait}')):.2f}; "
              f"per-run p99 (µs): {[r['p99_us'] for r in http if r['wait'] == f'bid/{wait}']}", end="")
    print()
PY
