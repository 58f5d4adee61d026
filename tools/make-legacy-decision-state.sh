#!/usr/bin/env bash
# Makes the decision-state fixtures of Tests/EngineTests/Fixtures/legacy-decisions: the
# per-process files an earlier build (d73c46d, before partitioned learning) wrote, from
# two of its processes in one group, each answering decisions and joining rewards
# posted to it. The build is given, as `Benchmarks/regression.sh d73c46d` leaves it:
#   tools/make-legacy-decision-state.sh Benchmarks/.regression/base/.build/release/arbiter
set -euo pipefail
old="$1"
cd "$(dirname "$0")/.."
out=Tests/EngineTests/Fixtures/legacy-decisions
work="$(mktemp -d)"
port=19700
scripts/broker.sh start "$work/broker" "$port"
trap 'kill $(jobs -p) 2>/dev/null || true; scripts/broker.sh stop "$work/broker"' EXIT
for t in arbiter.events arbiter.dead-letters arbiter.decisions; do scripts/broker.sh topic "$port" "$t" 2; done
cp "$out/config.yaml" "$work/config.yaml"
pids=()
for i in 1 2; do
  ARBITER_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$port" ARBITER_ENGINE_SNAPSHOT_DIR="$work/p$i" ARBITER_HTTP_PORT=$((18700 + i)) \
    ARBITER_DECISIONS_INSTANCE="p$i" "$old" serve --config "$work/config.yaml" >"$work/p$i.log" 2>&1 &
  pids+=($!)
done
for i in 1 2; do
  for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$((18700 + i))/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
done
decide() { # port surface user context → decision id and arm
  curl -fsS -X POST -H 'Content-Type: application/json' \
    -d "{\"surface\":\"$2\",\"user\":\"$3\",\"context\":$4}" "http://127.0.0.1:$1/v1/decide" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["decision_id"], d["action"])'
}
reward() { curl -fsS -X POST -H 'Content-Type: application/json' -d "{\"decision_id\":\"$2\",\"value\":$3}" "http://127.0.0.1:$1/v1/reward" >/dev/null; }
for i in 1 2; do
  p=$((18700 + i))
  for n in $(seq 60); do
    read -r id arm < <(decide "$p" home_banner "u$i-$n" '{}')
    # spring_sale is clicked two times in three, the others one in four.
    if [ "$arm" = spring_sale ]; then [ $((n % 3)) -ne 0 ] && reward "$p" "$id" 1; else [ $((n % 4)) -eq 0 ] && reward "$p" "$id" 1; fi
    read -r id arm < <(decide "$p" checkout_upsell "u$i-$n" '{}')
    reward "$p" "$id" "$([ "$arm" = bundle ] && echo 42.5 || echo 7.25)"
    read -r id arm < <(decide "$p" offer "u$i-$n" "{\"mobile\":$((n % 2))}")
    reward "$p" "$id" $((n % 2))
  done
done
sleep 1
for pid in "${pids[@]}"; do kill -TERM "$pid"; wait "$pid" || true; done
for i in 1 2; do cp "$work/p$i/decisions/p$i.snap" "$out/p$i.snap"; done
ls -l "$out"
