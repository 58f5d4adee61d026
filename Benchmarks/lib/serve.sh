# Helpers the HTTP benchmarks share (sourced; needs scripts/env.sh and $bin, the release
# build's bin directory): a fresh broker and `arbiter serve`, and one paced h2load run.

# A fresh broker and engine: Tansu's in-memory storage costs more per request as a
# consumed partition grows, so every run starts from the same empty log. Sets serve_pid.
#   bench_serve_start WORK BROKER_PORT HTTP_PORT CONFIG [NAME=VALUE ...]  (extra environment)
bench_serve_start() {
  local work="$1" port="$2" http="$3" config="$4"
  shift 4
  scripts/broker.sh stop "$work" 2>/dev/null || true
  rm -rf "$work/snapshots"
  scripts/broker.sh start "$work" "$port" >&2
  scripts/broker.sh topic "$port" arbiter.events 4 >&2
  scripts/broker.sh topic "$port" arbiter.dead-letters 1 >&2
  scripts/broker.sh topic "$port" arbiter.state 1 cleanup.policy=compact >&2
  env ARBITER_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$port" ARBITER_ENGINE_SNAPSHOT_DIR="$work/snapshots" \
    ARBITER_HTTP_PORT="$http" ARBITER_LOG_LEVEL=warning "$@" \
    "$bin/arbiter" serve --config "$config" >>"$work/arbiter.log" 2>&1 &
  serve_pid=$!
  for _ in $(seq 150); do  # ready once this process owns partitions
    curl -fsS "http://127.0.0.1:$http/v1/status" 2>/dev/null \
      | python3 -c 'import json, sys; sys.exit(0 if json.load(sys.stdin)["partitions"] else 1)' 2>/dev/null && break
    sleep 0.2
  done
}

bench_serve_stop() {
  kill -TERM "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
  serve_pid=
}

# One h2load run at a fixed rate (HTTP/1.1, CLIENTS connections each sending
# RATE/CLIENTS requests/s), printing one JSON line of latency percentiles (µs) from its
# per-request log; a POST when BODY (a file of JSON) is given.
#   bench_paced WORK HTTP_PORT RATE CLIENTS SECONDS PATH WAIT [BODY]
bench_paced() {
  local work="$1" http="$2" rate="$3" clients="$4" seconds="$5" path="$6" wait="$7" body=()
  local log="$work/h2load.log"
  rm -f "$log"
  [ -n "${8:-}" ] && body=(-d "$8" -H "Content-Type: application/json")
  h2load --h1 -c "$clients" --rps $((rate / clients)) -D "$seconds" "${body[@]}" --log-file="$log" \
    "http://127.0.0.1:$http$path" >"$work/h2load.out" 2>&1
  python3 - "$log" "$path" "$seconds" "$wait" <<'PY'
import json, sys
rows = [l.split("\t") for l in open(sys.argv[1])]
lat = sorted(int(r[2]) for r in rows)
errors = sum(1 for r in rows if not r[1].startswith("2"))
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
print(json.dumps({"mode": "paced", "path": sys.argv[2], "wait": sys.argv[4], "requests": len(lat), "requests_per_s": len(lat) / float(sys.argv[3]),
                  "errors": errors, "p50_us": q(.5), "p90_us": q(.9), "p99_us": q(.99), "p999_us": q(.999), "max_us": lat[-1]}))
PY
}
