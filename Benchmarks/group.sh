#!/usr/bin/env bash
# One engine process against a group of three (release build, local Tansu broker, all on
# the same two cores):
#   - events/s through the group: the time from start until the events topic
#     (BENCH_REPEATS copies of the sample, 6 partitions) is applied to its end on every
#     partition, for 1 process and for 3 processes in one consumer group, each run on a
#     fresh group and fresh snapshots
#   - view staleness while decisions are answered: BENCH_RATE decisions/s (h2load) spread
#     over the running processes, with the age of each process's view (the oldest
#     partition state it merges, /v1/status view.age_ms) sampled every 100 ms: p50 and p99,
#     for 1 process and for 3
# Interleaved runs (1, 3, 1, 3, …), medians reported.
#   BENCH_REPEATS (default 35)  BENCH_RUNS (default 3)  BENCH_RATE (default 10000)
#   BENCH_SECONDS decision load per run (default 15)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh
source scripts/env.sh
repeats="${BENCH_REPEATS:-35}"
runs="${BENCH_RUNS:-3}"
rate="${BENCH_RATE:-10000}"
seconds="${BENCH_SECONDS:-15}"
work="$root/Benchmarks/.group"
port=19500

swift build -c release --product arbiter >&2
bin="$(swift build -c release --show-bin-path)"

scripts/broker.sh stop "$work" 2>/dev/null || true
rm -rf "$work"
mkdir -p "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  scripts/broker.sh stop "$work"
}
trap cleanup EXIT
scripts/broker.sh start "$work" "$port"
scripts/broker.sh topic "$port" arbiter.events 6
scripts/broker.sh topic "$port" arbiter.dead-letters 1
"$bin/arbiter" produce --input replay-data/sample-events.jsonl --bootstrap-servers "127.0.0.1:$port" --repeats "$repeats" >&2
events=$(( $(grep -c . replay-data/sample-events.jsonl) * repeats ))
echo '{"surface":"offer","user":"h2load","context":{"recency_days":3,"orders":1,"mobile":1}}' >"$work/decide.json"

out="$work/raw.jsonl"
for i in $(seq "$runs"); do
  for n in 1 3; do
    echo "[group] run $i/$runs: $n process(es)" >&2
    name="g$i-$n"
    # A state topic per run, so that every run starts from an empty catalogue and view.
    scripts/broker.sh topic "$port" "state.$name" 1 cleanup.policy=compact
    pids=()
    ports=()
    started=$(date +%s.%N)
    for k in $(seq "$n"); do
      http=$((18100 + k))
      ARBITER_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$port" ARBITER_KAFKA_GROUP_ID="$name" ARBITER_KAFKA_TOPICS_STATE="state.$name" \
        ARBITER_ENGINE_SNAPSHOT_DIR="$work/$name/$k" ARBITER_HTTP_PORT="$http" ARBITER_DECISIONS_INSTANCE="p$k" ARBITER_LOG_LEVEL=warning \
        "$bin/arbiter" serve --config config/arbiter.yaml >>"$work/$name.log" 2>&1 &
      pids+=($!)
      ports+=("$http")
    done
    # Applied to the end: every partition's next offset, at its current owner, is its end.
    python3 - "$out" "$n" "$events" "$started" "${ports[@]}" <<'PY'
import json, sys, time, urllib.request
out, n, events, started, ports = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5:]
deadline = time.time() + 600
while time.time() < deadline:
    applied, ok = {}, True
    for p in ports:
        try:
            s = json.load(urllib.request.urlopen(f"http://127.0.0.1:{p}/v1/status", timeout=2))
        except Exception:
            ok = False
            break
        for part in s["partitions"]:
            applied[part["partition"]] = part["next_offset"]
            if part["lag"] is None or part["lag"] > 0: ok = False
    if ok and len(applied) == 6 and sum(applied.values()) >= events:
        elapsed = time.time() - started
        print(json.dumps({"benchmark": "consume", "processes": n, "events": events, "seconds": elapsed, "events_per_s": events / elapsed}), file=open(out, "a"))
        break
    time.sleep(0.2)
else:
    sys.exit("the group did not reach the end of the topic in 10 minutes")
PY
    # Decisions spread over the processes; view age sampled on each while they run.
    for k in $(seq "$n"); do
      h2load --h1 -c 2 --rps $((rate / n / 2)) -D "$seconds" -d "$work/decide.json" -H "Content-Type: application/json" \
        "http://127.0.0.1:${ports[$((k - 1))]}/v1/decide" >"$work/h2load-$name-$k.out" 2>&1 &
    done
    python3 - "$out" "$n" "$seconds" "${ports[@]}" <<'PY'
import json, statistics, sys, time, urllib.request
out, n, seconds, ports = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
ages = []
end = time.time() + seconds
time.sleep(1)
while time.time() < end - 0.5:
    for p in ports:
        try:
            s = json.load(urllib.request.urlopen(f"http://127.0.0.1:{p}/v1/status", timeout=2))
            if s["view"]["age_ms"] is not None: ages.append(s["view"]["age_ms"])
        except Exception:
            pass
    time.sleep(0.1)
ages.sort()
q = lambda f: ages[min(len(ages) - 1, int(f * len(ages)))]
print(json.dumps({"benchmark": "staleness", "processes": n, "samples": len(ages), "p50_ms": q(.5), "p99_ms": q(.99), "max_ms": ages[-1]}), file=open(out, "a"))
PY
    wait_h2load=$(jobs -p | grep -v -F -f <(printf '%s\n' "${pids[@]}") || true)
    for j in $wait_h2load; do wait "$j" 2>/dev/null || true; done
    python3 - "$out" "$n" "$work" "$name" <<'PY'
import json, re, sys
out, n, work, name = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
done = ok = 0
for k in range(1, n + 1):
    text = open(f"{work}/h2load-{name}-{k}.out").read()
    m = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded", text)
    if m: done, ok = done + int(m.group(2)), ok + int(m.group(3))
print(json.dumps({"benchmark": "decisions", "processes": n, "done": done, "succeeded": ok}), file=open(out, "a"))
PY
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    pids=()
  done
done

python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def med(kind, n, key):
    return statistics.median(r[key] for r in rows if r["benchmark"] == kind and r["processes"] == n)
print("| processes | events/s through the group (median) | runs | view age p50 ms | view age p99 ms | decisions answered / asked |")
print("|---:|---:|---|---:|---:|---:|")
for n in (1, 3):
    runs = [round(r["events_per_s"]) for r in rows if r["benchmark"] == "consume" and r["processes"] == n]
    d = [r for r in rows if r["benchmark"] == "decisions" and r["processes"] == n]
    print(f"| {n} | {med('consume', n, 'events_per_s'):,.0f} | {runs} | {med('staleness', n, 'p50_ms'):.0f} | {med('staleness', n, 'p99_ms'):.0f} | "
          f"{sum(x['succeeded'] for x in d):,} / {sum(x['done'] for x in d):,} |")
print(f"\nratio 3 processes / 1: {med('consume', 3, 'events_per_s') / med('consume', 1, 'events_per_s'):.2f} (same machine: two cores shared by broker, engines and load)")
PY
