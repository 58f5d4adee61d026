import Bandits
import Common
import Events
import Logging
import Pricing
import Stream
import Synchronization

/// The engine without Kafka, in one process: partitions held in memory, decisions logged
/// to memory and learnt, with the events handed to `apply`, by the partition of their
/// user exactly as in `serve`; every change published straight into the views. For
/// tests, tools and benchmarks that need the whole decide-and-learn loop without a
/// broker; `serve` runs the same learners, views and decision service.
public final class InProcessEngine: PartitionReader, @unchecked Sendable {
    public let views: ViewBuilder
    public let decisions: DecisionService
    /// Prices, reading users' open quotes from this engine's partitions.
    public private(set) var prices: PricingService!
    /// Bids, reading users' impressions from this engine's partitions.
    public private(set) var bids: BiddingService!
    public let routing: UserRouting
    public let context: LearnerContext
    private let log = MemoryDecisionLog()
    private let lock = ConditionLock()
    private var states: [PartitionState]
    private var offsets: [Int64]
    private var records: [[[UInt8]]]
    private var decoder = EventDecoder()

    public init(
        surfaces: [SurfaceConfiguration], pricing: [PricingConfiguration] = [], bidding: BiddingConfiguration = BiddingConfiguration(), partitions: Int32 = 1, seed: UInt64 = 0, instance: String = "local",
        joinCapacity: Int = 1_000_000,
        logger: Logger = Logger(label: "arbiter.in-process"), clock: @escaping @Sendable () -> Int64 = { WallClock.millis }
    ) throws {
        routing = UserRouting(partitioner: .murmur2Random, partitions: partitions)
        let definitions = surfaces.map { SurfaceDefinition(config: $0) }
        context = LearnerContext(
            surfaces: definitions.map(\.learning), pricing: pricing.map(\.learning), bidding: bidding.learning, partitions: Int(partitions), joinCapacity: joinCapacity)
        views = try ViewBuilder(context: context, surfaces: definitions, logger: logger)
        let publisher = LocalStatePublisher(views: views, instance: instance)
        decisions = DecisionService(views: views, log: log, publisher: publisher, routing: routing, seed: seed, instance: instance, logger: logger, clock: clock)
        let fresh = try PartitionState(context)
        states = Array(repeating: fresh, count: Int(partitions))
        offsets = Array(repeating: 0, count: Int(partitions))
        records = Array(repeating: [], count: Int(partitions))
        publisher.holding((0..<partitions).map { $0 })
        prices = try PricingService(
            configurations: pricing, views: views, log: log, partitions: self, routing: routing, seed: seed, idPrefix: decisions.idPrefix + "p.", clock: clock)
        bids = BiddingService(
            configuration: bidding, views: views, log: log, publisher: publisher, partitions: self, routing: routing, seed: seed, idPrefix: decisions.idPrefix + "b.", clock: clock)
    }

    /// The decision records logged so far, in order (and forgotten once applied).
    public var pendingRecords: Int { log.count }

    /// Learns every decision logged so far, then `events` in order, each in its user's
    /// partition (a reward without a user in the partition its decision id names), and
    /// publishes the partitions that changed.
    public func apply(_ events: [Event] = []) {
        let logged = log.take()
        lock.withLock {
            var changed = Set<Int>()
            for (partition, record) in logged {
                guard case .success(let event) = decoder.decode(record) else { continue }
                learn(event, record, in: Int(partition), &changed)
            }
            for event in events {
                learn(event, EventEncoder.encode(event), in: Int(partition(of: event)), &changed)
            }
            for p in changed.sorted() {
                views.receive(PublishedPartition(stream: "in-process", partition: Int32(p), nextOffset: offsets[p], publishedAtMillis: WallClock.millis, state: states[p].shared))
            }
        }
        views.rebuild()
    }

    private func learn(_ event: Event, _ bytes: [UInt8], in p: Int, _ changed: inout Set<Int>) {
        states[p].learn(event)
        offsets[p] += 1
        records[p].append(bytes)
        changed.insert(p)
    }

    /// Every record partition `p` has learnt, in order: what its topic partition would
    /// hold.
    public func records(partition p: Int32) -> [[UInt8]] { lock.withLock { records[Int(p)] } }

    /// The partition an event belongs to.
    public func partition(of event: Event) -> Int32 {
        if let user = event.user { return routing.partition(of: user) }
        if case .reward(let r) = event.body, let p = routing.partition(ofDecision: r.decisionID) { return p }
        return routing.partitioner.partition(of: event.partitionKey, count: routing.partitions)
    }

    public func read<Answer: Sendable>(partition: Int32, _ body: @escaping @Sendable (PartitionState) -> Answer) async -> PartitionRead<Answer> {
        guard partition >= 0, partition < routing.partitions else { return .notHeld }
        return .answer(body(state(partition: partition)))
    }

    /// One partition's full state (per-user parts included).
    public func state(partition: Int32) -> PartitionState { lock.withLock { states[Int(partition)] } }

    /// Every partition's state merged.
    public var merged: PartitionState {
        lock.withLock {
            var m = states[0]
            for s in states.dropFirst() { m.merge(s) }
            return m
        }
    }
}

/// Decision records kept in memory with their partitions, durable at once.
final class MemoryDecisionLog: DecisionLog {
    private let records = Mutex<[(Int32, [UInt8])]>([])

    func append(partition: Int32?, key: [UInt8], record: [UInt8]) throws -> DecisionLogTicket {
        records.withLock { $0.append((partition ?? 0, record)) }
        return .durable
    }

    func flush(timeoutMillis: Int) -> Bool { true }

    var count: Int { records.withLock { $0.count } }

    func take() -> [(Int32, [UInt8])] {
        records.withLock { r in
            defer { r.removeAll() }
            return r
        }
    }
}
