#!/usr/bin/env bash
# A local S3 server (moto, from .deps/venv) so that a Tansu broker can keep its data
# across a restart (`broker.sh start DIR PORT s3://BUCKET/` with the environment below).
#   s3.sh start DIR PORT BUCKET   start in the background, create the bucket
#   s3.sh env PORT                print the broker's environment (AWS_* variables)
#   s3.sh stop DIR
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

case "${1:-}" in
start)
  dir="$2" port="$3" bucket="$4"
  mkdir -p "$dir"
  # Its own process group, so that stopping it also stops any worker it forks.
  setsid "$ARBITER_DEPS/venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$dir/moto.log" 2>&1 &
  echo $! >"$dir/moto.pid"
  for _ in $(seq 150); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && break
    sleep 0.1
  done
  curl -fsS -X PUT "http://127.0.0.1:$port/$bucket" >/dev/null
  ;;
env)
  port="$2"
  printf '%s\n' "AWS_ENDPOINT=http://127.0.0.1:$port" AWS_ALLOW_HTTP=true AWS_ACCESS_KEY_ID=x \
    AWS_SECRET_ACCESS_KEY=x AWS_DEFAULT_REGION=eu-west-2
  ;;
stop)
  dir="$2"
  [ -f "$dir/moto.pid" ] || exit 0
  pid=$(cat "$dir/moto.pid")
  # moto's server ignores SIGTERM and SIGINT while it serves: ask, then insist.
  kill -- -"$pid" 2>/dev/null || true
  for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 -- -"$pid" 2>/dev/null || true
  rm -f "$dir/moto.pid"
  ;;
*)
  sed -n '2,7p' "$0" >&2
  exit 2
  ;;
esac
