#!/usr/bin/env bash
# One command for the foundation benchmarks (release build, local Tansu broker):
#   - decode alone (MB/s, events/s) and decode + learner update (events/s), one core
#   - events/s through the whole pipeline (Kafka → decode → update → snapshot → commit,
#     and each partition's state published to a compacted state topic every second, as
#     in serve) against the ceiling measured in the same run: a bare librdkafka consume
#     loop doing no work on the same topic
#   - peak memory of each process
# Repetitions are interleaved (bare, pipeline, bare, …) and medians reported.
#   BENCH_REPEATS  copies of the sample file in the topic (default 35: ~1M events)
#   BENCH_RUNS     repetitions of each measurement (default 5)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh
source scripts/env.sh
repeats="${BENCH_REPEATS:-35}"
runs="${BENCH_RUNS:-5}"
work="$root/Benchmarks/.run"
port=19300

swift build -c release --product arbiter >&2
swift build -c release --product arbiter-bench >&2
bin="$(swift build -c release --show-bin-path)"

scripts/broker.sh stop "$work" 2>/dev/null || true
rm -rf "$work"
mkdir -p "$work/results"
trap 'scripts/broker.sh stop "$work"' EXIT
scripts/broker.sh start "$work" "$port"
scripts/broker.sh topic "$port" bench.events 4
scripts/broker.sh topic "$port" arbiter.dead-letters 1
scripts/broker.sh topic "$port" bench.state 1 cleanup.policy=compact
"$bin/arbiter" produce --input replay-data/sample-events.jsonl --topic bench.events \
  --bootstrap-servers "127.0.0.1:$port" --repeats "$repeats" >&2
records=$(grep -c . replay-data/sample-events.jsonl)
expect=$((records * repeats))

out="$work/results/raw.jsonl"
for i in $(seq "$runs"); do
  echo "[bench] run $i/$runs" >&2
  "$bin/arbiter-bench" decode --input replay-data/sample-events.jsonl >>"$out"
  "$bin/arbiter-bench" bare --bootstrap-servers "127.0.0.1:$port" --topic bench.events --expect "$expect" >>"$out"
  "$bin/arbiter-bench" pipeline --bootstrap-servers "127.0.0.1:$port" --topic bench.events --expect "$expect" \
    --snapshots "$work/snapshots-$i" --state-topic bench.state >>"$out"
done

python3 - "$out" "$root/Benchmarks/baselines/foundation.json" <<'PY'
import json, statistics, sys, platform, os
rows = [json.loads(l) for l in open(sys.argv[1])]
def med(kind, key):
    return statistics.median(r[key] for r in rows if r["benchmark"] == kind)
summary = {
    "events_in_topic": rows[1]["messages"],
    "decode_mb_per_s": med("decode", "decode_mb_per_s"),
    "decode_events_per_s": med("decode", "decode_events_per_s"),
    "decode_update_events_per_s": med("decode", "decode_update_events_per_s"),
    "bare_consume_events_per_s": med("bare_consume", "events_per_s"),
    "pipeline_events_per_s": med("pipeline", "events_per_s"),
    "pipeline_to_durable_events_per_s": med("pipeline", "committed_events_per_s"),
    "pipeline_peak_rss_mib": med("pipeline", "peak_rss_bytes") / 2**20,
    "bare_peak_rss_mib": med("bare_consume", "peak_rss_bytes") / 2**20,
    "runs": len([r for r in rows if r["benchmark"] == "pipeline"]),
}
summary["pipeline_over_bare"] = summary["pipeline_events_per_s"] / summary["bare_consume_events_per_s"]
summary["pipeline_to_durable_over_bare"] = summary["pipeline_to_durable_events_per_s"] / summary["bare_consume_events_per_s"]
print(json.dumps(summary, indent=2))
print(f"""
decode alone          {summary['decode_mb_per_s']:8.1f} MB/s  {summary['decode_events_per_s']:12,.0f} events/s   (one core)
decode + update       {summary['decode_update_events_per_s']:12,.0f} events/s   target ≥ 300,000 (one core)
bare consume ceiling  {summary['bare_consume_events_per_s']:12,.0f} events/s   ({summary['events_in_topic']:,} events, 4 partitions)
pipeline (applied)    {summary['pipeline_events_per_s']:12,.0f} events/s   {summary['pipeline_over_bare']:.0%} of the ceiling (target ≥ 50%)
pipeline (durable)    {summary['pipeline_to_durable_events_per_s']:12,.0f} events/s   {summary['pipeline_to_durable_over_bare']:.0%} of the ceiling
peak memory           pipeline {summary['pipeline_peak_rss_mib']:.0f} MiB, bare consume {summary['bare_peak_rss_mib']:.0f} MiB
(medians of {summary['runs']} interleaved runs)""", file=sys.stderr)
baseline = sys.argv[2]
if os.path.exists(baseline):
    base = json.load(open(baseline))
    print("\nagainst Benchmarks/baselines/foundation.json (ratios; the ceiling itself moves with the machine):", file=sys.stderr)
    for k in ("decode_events_per_s", "decode_update_events_per_s", "pipeline_over_bare"):
        print(f"  {k:28s} {summary[k] / base[k]:.2f}× baseline", file=sys.stderr)
json.dump(summary, open(os.path.join(os.path.dirname(sys.argv[1]), "summary.json"), "w"), indent=2)
PY
