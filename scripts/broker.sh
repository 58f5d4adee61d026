#!/usr/bin/env bash
# Starts and stops a local Tansu broker (Kafka protocol) for the default run and tests.
#   broker.sh start DIR PORT [STORAGE]   start in the background; pid and log in DIR
#                                        STORAGE defaults to memory://tansu/ (lost on stop);
#                                        s3://BUCKET/ keeps data (needs AWS_* env, see moto.sh)
#   broker.sh topic PORT NAME PARTITIONS [CONFIG…]
#                                        create a topic (no error if it exists), with
#                                        topic configs such as cleanup.policy=compact
#   broker.sh stop DIR                   stop the broker started in DIR (SIGTERM, then SIGKILL)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

wait_port() { # port seconds
  local deadline=$((SECONDS + $2))
  until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

case "${1:-}" in
start)
  dir="$2" port="$3" storage="${4:-memory://tansu/}"
  mkdir -p "$dir"
  if [ -f "$dir/tansu.pid" ] && kill -0 "$(cat "$dir/tansu.pid")" 2>/dev/null; then
    echo "broker already running (pid $(cat "$dir/tansu.pid"))" >&2
    exit 0
  fi
  "$ARBITER_TANSU" broker \
    --listener-url "tcp://127.0.0.1:$port" \
    --advertised-listener-url "tcp://127.0.0.1:$port" \
    --storage-engine "$storage" >"$dir/tansu.log" 2>&1 &
  echo $! >"$dir/tansu.pid"
  if ! wait_port "$port" 30; then
    echo "broker did not start on port $port; log:" >&2
    tail -n 20 "$dir/tansu.log" >&2
    exit 1
  fi
  ;;
topic)
  port="$2" name="$3" partitions="$4"
  configs=()
  for c in "${@:5}"; do configs+=(--config "$c"); done
  out=$("$ARBITER_TANSU" topic create "$name" --partitions "$partitions" "${configs[@]}" --broker "tcp://127.0.0.1:$port" 2>&1) || {
    grep -qi "exist" <<<"$out" || { echo "$out" >&2; exit 1; }
  }
  ;;
stop)
  dir="$2"
  [ -f "$dir/tansu.pid" ] || exit 0
  pid=$(cat "$dir/tansu.pid")
  kill -CONT "$pid" 2>/dev/null || true
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir/tansu.pid"
  ;;
*)
  sed -n '2,10p' "$0" >&2
  exit 2
  ;;
esac
