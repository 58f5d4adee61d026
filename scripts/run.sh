#!/usr/bin/env bash
# The embedded default: sets up, builds (release), starts a local Tansu broker, creates
# the topics, starts `arbiter serve` and streams the sample events from replay-data/
# into it, then shows status and metrics until Ctrl-C (which stops everything cleanly).
#   ARBITER_RATE      events per second for the sample stream (default 2000)
#   ARBITER_DURATION  stop by itself after this many seconds (default: run until Ctrl-C)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh
source scripts/env.sh

port=19092
http=8080
run="$root/run"
rate="${ARBITER_RATE:-2000}"

echo "[run] building arbiter (release; the first build takes a few minutes)" >&2
swift build -c release --product arbiter
arbiter="$(swift build -c release --show-bin-path)/arbiter"

# The broker keeps its data in memory: each run starts from an empty topic, so it starts
# from empty state too.
scripts/broker.sh stop "$run" 2>/dev/null || true
rm -rf "$run"
mkdir -p "$run"
cleanup() {
  trap - INT TERM EXIT
  echo "[run] stopping" >&2
  [ -n "${serve_pid:-}" ] && kill -TERM "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
  scripts/broker.sh stop "$run"
}
trap cleanup INT TERM EXIT

scripts/broker.sh start "$run" "$port"
scripts/broker.sh topic "$port" arbiter.events 4
scripts/broker.sh topic "$port" arbiter.dead-letters 1
# The group's shared state (published partition state, surface catalogue, members).
scripts/broker.sh topic "$port" arbiter.state 1 cleanup.policy=compact
echo "[run] Tansu broker on 127.0.0.1:$port (log: run/tansu.log)" >&2

ARBITER_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$port" ARBITER_ENGINE_SNAPSHOT_DIR="$run/snapshots" \
  ARBITER_HTTP_PORT="$http" "$arbiter" serve --config config/arbiter.yaml >"$run/arbiter.log" 2>&1 &
serve_pid=$!
echo "[run] arbiter serve: http://127.0.0.1:$http/healthz, /v1/status, /metrics, POST /v1/decide, POST /v1/price, POST /v1/bid, /v1/campaigns, POST /v1/reward, /v1/surfaces, /v1/users/{user} (log: run/arbiter.log)" >&2

"$arbiter" produce --input replay-data/sample-events.jsonl --bootstrap-servers "127.0.0.1:$port" --rate "$rate" &
produce_pid=$!
echo "[run] streaming replay-data/sample-events.jsonl at $rate events/s" >&2

started=$SECONDS
n=0
while kill -0 "$serve_pid" 2>/dev/null; do
  sleep 2
  status=$(curl -fsS "http://127.0.0.1:$http/v1/status" 2>/dev/null || true)
  [ -n "$status" ] || continue
  python3 - "$status" <<'PY'
import json, sys
s = json.loads(sys.argv[1])
types = ", ".join(f"{k} {v}" for k, v in s["accepted_by_type"].items() if v)
print(f"[run] accepted {s['accepted']} ({types}); dead letters {s['dead_letters']}; "
      f"lag {s['lag']}; partitions {[p['partition'] for p in s['partitions']]}; "
      f"snapshots {s['snapshots_written']}; view age {s['view']['age_ms']} ms", file=sys.stderr)
PY
  # Ask for a decision on each surface, as a front end would; a quarter of the banner
  # decisions get a click back through the event stream (POST /v1/reward).
  n=$((n + 1))
  for request in \
    "{\"surface\":\"home_banner\",\"user\":\"demo-$n\",\"ranking\":2}" \
    "{\"surface\":\"offer\",\"user\":\"demo-$n\",\"context\":{\"recency_days\":$((n % 30)),\"orders\":$((n % 4)),\"mobile\":$((n % 2))}}"; do
    decision=$(curl -fsS -X POST -H 'Content-Type: application/json' -d "$request" "http://127.0.0.1:$http/v1/decide" 2>/dev/null || true)
    [ -n "$decision" ] || continue
    python3 - "$decision" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
print(f"[run] decision on {d['surface']}: {d['action']} (propensity {d['propensity']:.3f}, ranking {d['ranking']}, "
      f"{d['policy']} after {d['model_updates']} updates)", file=sys.stderr)
PY
    if ((n % 4 == 0)); then
      id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["decision_id"])' "$decision")
      curl -fsS -X POST -H 'Content-Type: application/json' -d "{\"decision_id\":\"$id\",\"value\":1}" "http://127.0.0.1:$http/v1/reward" >/dev/null 2>&1 || true
    fi
  done
  # Prices for a product page (two products), a clearance item and an outlet item, as a shop's back end
  # would ask; a third of the catalogue quotes sell (a reward naming the quote's id).
  for request in \
    "{\"surface\":\"catalogue\",\"user\":\"demo-$n\",\"products\":[\"cdnow-cd\",\"cdnow-box\"]}" \
    "{\"surface\":\"clearance\",\"user\":\"demo-$n\",\"product\":\"poster\",\"context\":{\"mobile\":$((n % 2))}}" \
    "{\"surface\":\"outlet\",\"user\":\"demo-$n\",\"product\":\"lamp\"}"; do
    prices=$(curl -fsS -X POST -H 'Content-Type: application/json' -d "$request" "http://127.0.0.1:$http/v1/price" 2>/dev/null || true)
    [ -n "$prices" ] || continue
    python3 - "$prices" <<'PY'
import json, sys
a = json.loads(sys.argv[1])
def one(q):
    if q["withheld"]:
        return f"{q['product']} withheld ({q.get('units_left', 0)} units left)"
    v = q[a["objective"]]
    bound = f", bound by {', '.join(q['bound_by'])}" if q["bound_by"] else ""
    return (f"{q['product']} {q['price']} {q['currency']} (propensity {q['propensity']:.2f}, {a['objective']} "
            f"{v['mean']:.2f} [{v['low']:.2f}, {v['high']:.2f}] after {q['model_updates']} outcomes{bound})")
print(f"[run] prices on {a['surface']} ({a['policy']}): " + "; ".join(one(q) for q in a["prices"]), file=sys.stderr)
PY
    if ((n % 3 == 0)); then
      id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["prices"][0]["decision_id"])' "$prices")
      curl -fsS -X POST -H 'Content-Type: application/json' -d "{\"decision_id\":\"$id\",\"value\":1}" "http://127.0.0.1:$http/v1/reward" >/dev/null 2>&1 || true
    fi
  done
  # A bid request from an exchange (OpenRTB 2.6, the specification's example requests
  # in turn). The exchange then calls the bid's notices, GET /v1/bid/notice/{win,billing,
  # loss,click,conversion} (its nurl, burl, lurl and ext click/conversion URLs with the
  # macros replaced): most bids win at 60 % of the bid and are billed, a tenth of wins are
  # clicked and half of those convert; each notice becomes a bid_outcome event.
  examples=("$root"/../shared/data/openrtb/6.2.[1-4]-request-*.json)
  example="${examples[$((n % 4))]}"
  if [ -f "$example" ]; then
    request=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); r["id"]=f"demo-{sys.argv[2]}"; r.setdefault("user",{})["id"]=f"demo-{sys.argv[2]}"; print(json.dumps(r))' "$example" "$n")
    bid=$(curl -fsS -X POST -H 'Content-Type: application/json' -d "$request" -D run/bid.headers "http://127.0.0.1:$http/v1/bid" 2>/dev/null || true)
    if [ -n "$bid" ]; then
      notices=$(python3 - "$bid" "$n" <<'PY'
import json, sys
a, n = json.loads(sys.argv[1]), int(sys.argv[2])
for b in a["seatbid"][0]["bid"]:
    e = b["ext"]
    print(f"[run] bid on {a['id']} imp {b['impid']}: {b['cid']}/{b['crid']} at {b['price']} {a['cur']} CPM "
          f"(value {e['value_cpm']:.2f}, predicted rate {e['predicted_rate']:.4f}, μ {e['shadow_price']:.2f})", file=sys.stderr)
    path = lambda url: url[url.index("/v1/"):]
    if n % 5 != 0:
        cleared = f"{0.6 * b['price']:.4f}"
        print(path(b["nurl"]).replace("${AUCTION_PRICE}", cleared))
        print(path(b["burl"]).replace("${AUCTION_PRICE}", cleared))
        if n % 10 == 1:
            print(path(e["click_url"]))
            if n % 20 == 11:
                print(path(e["conversion_url"]))
    else:
        print(path(b["lurl"]).replace("${AUCTION_LOSS}", "102"))
PY
)
      for notice in $notices; do
        code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http$notice" || true)
        echo "[run] notice GET ${notice%%\?*} → $code" >&2
      done
    else
      # No match (a 503 while the engine starts) must not end the demo under pipefail.
      reason=$( (grep -i '^x-arbiter-no-bid' run/bid.headers 2>/dev/null || true) | cut -d' ' -f2- | tr -d '\r')
      echo "[run] no bid on $(basename "$example"): ${reason:-$(head -1 run/bid.headers 2>/dev/null | tr -d '\r') (the engine is not answering yet)}" >&2
    fi
  fi
  if ((n % 5 == 0)); then
    campaigns=$(curl -fsS "http://127.0.0.1:$http/v1/campaigns" 2>/dev/null || true)
    [ -n "$campaigns" ] && python3 - "$campaigns" <<'PY'
import json, sys
for c in json.loads(sys.argv[1])["campaigns"]:
    t = c["today"]
    print(f"[run] campaign {c['id']}: spent {t['spend']} of {c['daily_budget']} {c['currency']} (plan {t['planned']:.2f}), "
          f"{t['bids']} bids, {t['wins']} wins, {t['clicks']} clicks; a goal is worth {c['goal_value']:.2f}"
          + (f" (channel {c['channel']}: marginal ROI " + (f"{c['channel_marginal_roi']:.3f} from the priors file)" if c["channel_marginal_roi"] is not None else "not given by a priors file yet)") if "channel" in c else "")
          + (f"; strategy rl: " + ("bidding by its plan" if c["plan"]["solved_at_ms"] else "paced until its plan")
             + f" ({c['plan']['market_outcomes']:.0f} market outcomes, {c['plan']['candidacies_today']:.0f} auctions today)" if "plan" in c else ""), file=sys.stderr)
PY
  fi
  # What the engine holds of one user, from the owner of the user's partition.
  user=$(curl -fsS "http://127.0.0.1:$http/v1/users/demo-$n" 2>/dev/null || true)
  [ -n "$user" ] && python3 - "$user" <<'PY'
import json, sys
u = json.loads(sys.argv[1])
opened = ", ".join(f"{d['surface']}: {d['action']}" for d in u["open_decisions"]) or "none"
print(f"[run] user {u['user']} (partition {u['partition']}, owner {u['owner']}): {u['customer']['events'] if u['customer'] else 0} events, "
      f"open decisions {opened}", file=sys.stderr)
PY
  if [ -n "${ARBITER_DURATION:-}" ] && ((SECONDS - started >= ARBITER_DURATION)); then break; fi
done
kill -0 "$produce_pid" 2>/dev/null && kill "$produce_pid" 2>/dev/null || true
wait "$produce_pid" 2>/dev/null || true
curl -fsS "http://127.0.0.1:$http/metrics" 2>/dev/null | grep -E '^arbiter_(events_total|dead_letters_total|consumer_lag |snapshot_age|decisions_total|rewards|price_quotes|bids_total|no_bids_total|campaign_)' >&2 || true
