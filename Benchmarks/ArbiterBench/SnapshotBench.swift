import ArgumentParser
import Common
import Engine
import Events
import Stream

/// What one snapshot of a partition costs as its open decisions grow: the copy the
/// engine thread makes at its next event (the snapshot holds the state it had) and the
/// encoding on the snapshot thread. Decisions wait for rewards for the whole
/// attribution window (a day on the reference "offer" surface), so a busy partition
/// holds up to `decisions.max_pending` of them.
struct SnapshotBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "snapshot")

    @Option(help: "Configuration whose surfaces learn (the reference one by default).") var config = "config/arbiter.yaml"
    @Option(parsing: .upToNextOption, help: "Open decisions in the partition, one measurement each.") var open: [Int] = [10_000, 100_000, 1_000_000]

    func run() throws {
        let context = try Configuration.load(path: config, environment: [:]).learnerContext(partitions: 1)
        var state = try PartitionState(context)
        var decoder = EventDecoder()
        var made = 0
        func decide(_ n: Int) {
            while made < n {
                let line = #"{"type":"impression","v":1,"ts":1700000000000,"user":"u\#(made % 200_000)","decision_id":"bench-\#(made)@0","surface":"offer","action":"free_gift","propensity":0.8,"policy":"linucb","policy_version":1,"model_updates":10,"ranking":["free_gift"],"eligible":["ten_percent","free_gift","no_offer"],"context":{"mobile":1,"orders":2,"recency_days":3}}"#
                guard case .success(let e) = decoder.decode(Array(line.utf8)) else { fatalError("bench impression rejected") }
                state.learn(e)
                made += 1
            }
        }
        for n in open.sorted() {
            decide(n)
            var copies: [UInt64] = []
            var encodes: [UInt64] = []
            var bytes = 0
            for _ in 0..<3 {
                let held = PartitionSnapshot(stream: "bench", partition: 0, nextOffset: Int64(made), state: state)
                var start = MonotonicClock.nanos
                decide(made + 1)  // the first change after a snapshot copies what it holds
                copies.append(MonotonicClock.nanos - start)
                start = MonotonicClock.nanos
                bytes = held.serialized().count
                encodes.append(MonotonicClock.nanos - start)
            }
            let median = { (xs: [UInt64]) in Double(xs.sorted()[xs.count / 2]) / 1e6 }
            emit([
                ("benchmark", "snapshot"), ("open_decisions", made), ("snapshot_bytes", bytes),
                ("copy_ms", median(copies)), ("encode_ms", median(encodes)),
                ("encode_ns_per_open_decision", median(encodes) * 1e6 / Double(made)), ("peak_rss_bytes", peakResidentBytes()),
            ])
        }
    }
}
