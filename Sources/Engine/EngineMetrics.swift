import Common
import Events
import Metrics
import Stream

/// Turns engine readings into swift-metrics instruments (Prometheus in `serve`). Updated
/// from the engine thread per batch and per publish, never per record.
final class EngineMetrics {
    private let accepted: [EventKind: Counter]
    private var rejected: [String: Counter] = [:]
    private var lagGauges: [Int32: Gauge] = [:]
    private let totalLag = Gauge(label: "arbiter_consumer_lag")
    private let batchTimer = Timer(label: "arbiter_batch_processing_seconds")
    private let perRecord = Gauge(label: "arbiter_processing_seconds_per_record")
    private let recordAge = Gauge(label: "arbiter_event_age_seconds")
    private let snapshotAge = Gauge(label: "arbiter_snapshot_age_seconds")
    private let snapshots = Counter(label: "arbiter_snapshots_written_total")
    private let snapshotFailures = Counter(label: "arbiter_snapshot_failures_total")
    private let duplicates = Counter(label: "arbiter_duplicate_records_skipped_total")
    private let assigned = Gauge(label: "arbiter_partitions_assigned")
    private var last = EngineReading()

    init(stream: String) {
        var accepted: [EventKind: Counter] = [:]
        for kind in EventKind.allCases {
            accepted[kind] = Counter(label: "arbiter_events_total", dimensions: [("type", kind.wireName)])
        }
        self.accepted = accepted
        for category in DecodeError.Category.allCases {
            rejected[category.rawValue] = Counter(label: "arbiter_dead_letters_total", dimensions: [("reason", category.rawValue)])
        }
    }

    func recordBatch(nanos: UInt64) {
        batchTimer.recordNanoseconds(Int64(nanos))
    }

    func publish(_ r: EngineReading) {
        for (kind, n) in r.accepted where n != last.accepted[kind] {
            accepted[kind]?.increment(by: n - (last.accepted[kind] ?? 0))
        }
        for (category, n) in r.rejected where n != last.rejected[category] {
            rejected[category]?.increment(by: n - (last.rejected[category] ?? 0))
        }
        if r.snapshotsWritten > last.snapshotsWritten { snapshots.increment(by: r.snapshotsWritten - last.snapshotsWritten) }
        if r.snapshotFailures > last.snapshotFailures { snapshotFailures.increment(by: r.snapshotFailures - last.snapshotFailures) }
        if r.duplicatesSkipped > last.duplicatesSkipped { duplicates.increment(by: r.duplicatesSkipped - last.duplicatesSkipped) }
        for p in r.partitions {
            let gauge = lagGauges[p.partition] ?? Gauge(label: "arbiter_consumer_partition_lag", dimensions: [("partition", String(p.partition))])
            lagGauges[p.partition] = gauge
            gauge.record(p.lag ?? 0)
        }
        for (p, gauge) in lagGauges where !r.partitions.contains(where: { $0.partition == p }) {
            gauge.record(0)
        }
        if let lag = r.totalLag { totalLag.record(lag) }
        assigned.record(r.partitions.count)
        perRecord.record(r.nanosPerRecord / 1e9)
        if let age = r.newestRecordAgeMillis { recordAge.record(Double(age) / 1000) }
        if let at = r.lastSnapshotMillis { snapshotAge.record(Double(WallClock.millis - at) / 1000) }
        last = r
    }
}
