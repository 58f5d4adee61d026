import Common
import Events
import Stream

/// A consistent reading of the engine's progress, published by the engine thread a few
/// times a second and read by the HTTP server (`/v1/status`, `/metrics`).
public struct EngineReading: Sendable {
    public struct Partition: Sendable {
        public var partition: Int32
        /// First offset not yet applied.
        public var nextOffset: Int64
        /// Offset covered by the newest durable snapshot, if any.
        public var durableOffset: Int64?
        /// Records between `nextOffset` and the partition's end, when the end is known.
        public var lag: Int64?
    }

    public var stream: String = ""
    /// Accepted events by type since this process started.
    public var accepted: [EventKind: Int64] = [:]
    /// Dead letters by reason category since this process started.
    public var rejected: [String: Int64] = [:]
    /// Records skipped because their offset was already applied.
    public var duplicatesSkipped: Int64 = 0
    public var batches: Int64 = 0
    public var partitions: [Partition] = []
    public var snapshotsWritten: Int64 = 0
    public var snapshotFailures: Int64 = 0
    /// Wall-clock milliseconds since which the durable state has been current: the
    /// newest snapshot, or now while every applied record is already covered by one.
    public var lastSnapshotMillis: Int64?
    /// Mean processing time per record of the latest batch.
    public var nanosPerRecord: Double = 0
    /// Broker timestamp age of the newest record applied.
    public var newestRecordAgeMillis: Int64?
    public var running = false
    /// Set when the engine stopped because outputs could not be delivered.
    public var fatalError: String?

    public init() {}

    public var totalAccepted: Int64 { accepted.values.reduce(0, +) }
    public var totalRejected: Int64 { rejected.values.reduce(0, +) }
    /// Records behind across held partitions; nil while any partition's end is unknown
    /// (just assigned, nothing fetched yet), so that "no lag" is never claimed by default.
    public var totalLag: Int64? {
        partitions.reduce(Int64(0)) { sum, p in sum.flatMap { s in p.lag.map { s + $0 } } }
    }
}

/// The shared slot holding the latest `EngineReading`.
public final class EngineStatistics: @unchecked Sendable {
    private let lock = ConditionLock()
    private var reading = EngineReading()

    public init() {}

    public var current: EngineReading { lock.withLock { reading } }

    func publish(_ r: EngineReading) {
        lock.withLock { reading = r }
    }
}
