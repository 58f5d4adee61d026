import Common
/// What the consumer knows about its connection, for `/healthz` and metrics. Written by
/// the poll and probe threads, read by the HTTP server.
public final class SourceHealth: @unchecked Sendable {
    public struct Reading: Sendable {
        /// Whether the last reachability probe got an answer from the cluster.
        public var brokerReachable: Bool
        /// Wall-clock milliseconds of the last message or successful probe.
        public var lastContactMillis: Int64
        /// Times the broker went from reachable to unreachable.
        public var outages: Int64
        public var rebalances: Int64
        public var paused: Bool
    }

    private let lock = ConditionLock()
    private var reading = Reading(brokerReachable: true, lastContactMillis: WallClock.millis, outages: 0, rebalances: 0, paused: false)

    public init() {}

    public var current: Reading { lock.withLock { reading } }

    func recordContact() {
        let now = WallClock.millis
        lock.withLock { reading.lastContactMillis = now }
    }

    public func recordProbe(reachable: Bool) {
        let now = WallClock.millis
        lock.withLock {
            if reading.brokerReachable, !reachable { reading.outages += 1 }
            reading.brokerReachable = reachable
            if reachable { reading.lastContactMillis = now }
        }
    }

    func recordRebalance() { lock.withLock { reading.rebalances += 1 } }
    func setPaused(_ paused: Bool) { lock.withLock { reading.paused = paused } }
}
