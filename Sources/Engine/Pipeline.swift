import Common
import Events
import Logging
import Stream
import Synchronization

/// What a read of partition state found.
public enum PartitionRead<Answer: Sendable>: Sendable {
    case answer(Answer)
    /// This process does not hold the partition (now), or its engine has stopped.
    case notHeld
}

/// Reads of the state of a partition this process holds, wherever that state lives.
public protocol PartitionReader: Sendable {
    /// Runs `body` with the state of `partition`, where its owner keeps it.
    func read<Answer: Sendable>(partition: Int32, _ body: @escaping @Sendable (PartitionState) -> Answer) async -> PartitionRead<Answer>
}

/// The engine thread: takes deliveries from a source, decodes each record, folds events
/// into the learners of the record's partition, sends rejects to the dead-letter output,
/// snapshots, and publishes each partition's shared state for every process's views.
///
/// Exactly-once state: a snapshot of a partition holds its learners and the offset they
/// cover; it is written only after every output caused by those records is acknowledged,
/// and offsets are committed only after the snapshot is durable. On assignment a
/// partition resumes from its newest intact snapshot, so after any crash each record is
/// applied exactly once to the state that survives.
public final class Pipeline: PartitionReader, @unchecked Sendable {
    public struct Settings: Sendable {
        /// Time between periodic snapshots; 0 snapshots only on revocation and shutdown.
        public var snapshotIntervalMillis: Int
        /// Which changed partitions a periodic snapshot includes (large states less often).
        public var snapshotSchedule: SnapshotSchedule
        /// How long a snapshot waits for outputs to be acknowledged before it is deferred.
        public var outputsTimeoutMillis: Int
        /// Time between publications of a changed partition's shared state; 0 publishes
        /// after every batch (replay and tests).
        public var publishIntervalMillis: Int

        public init(
            snapshotIntervalMillis: Int = 5000, snapshotSchedule: SnapshotSchedule = SnapshotSchedule(), outputsTimeoutMillis: Int = 30_000,
            publishIntervalMillis: Int = 1000
        ) {
            self.snapshotIntervalMillis = snapshotIntervalMillis
            self.snapshotSchedule = snapshotSchedule
            self.outputsTimeoutMillis = outputsTimeoutMillis
            self.publishIntervalMillis = publishIntervalMillis
        }
    }

    /// Called after a snapshot is durable with the offsets it covers (Kafka commits them).
    public typealias Committer = @Sendable ([Int32: Int64]) -> Void

    public let statistics = EngineStatistics()
    private let source: any EventSource
    private let outputs: any OutputSink
    private let store: any SnapshotStore
    private let context: LearnerContext
    private let publisher: (any StatePublisher)?
    private let settings: Settings
    private let logger: Logger
    private let writer: SnapshotWriter
    private let metrics: EngineMetrics
    private var thread: WorkerThread?

    // Engine-thread state.
    private var partitions: [Int32: PartitionRuntime] = [:]
    private var decoder = EventDecoder()
    private var reading = EngineReading()
    private var periodicInFlight: Handoff<SnapshotWriter.Outcome>?
    private var lastSnapshotStart = MonotonicClock.nanos
    private var lastPublish: UInt64 = 0
    private var lastStatePublish: UInt64 = 0
    /// Reads of partition state asked for by other threads, answered between batches.
    private let queries = Mutex<(jobs: [@Sendable ([Int32: PartitionRuntime]) -> Void], closed: Bool)>(([], false))
    private var stopRequested = false

    struct PartitionRuntime: Sendable {
        var state: PartitionState
        var nextOffset: Int64 = 0
        var durableOffset: Int64?
        var dirty = false
        /// Changed since its state was last published.
        var unpublished = true
        /// Bytes of records applied since the state of the last snapshot taken.
        var inputBytes = 0
        /// Of the input before that snapshot, what it covers while it is in flight
        /// (counted again if it fails).
        var inputInFlight = 0
        /// Size of the newest snapshot this process wrote; 0 before the first.
        var snapshotBytes = 0
        var snapshotTakenNanos = MonotonicClock.nanos

        /// A snapshot of the state as it is now has been handed to the writer.
        mutating func taken(at nanos: UInt64) {
            dirty = false
            inputInFlight = inputBytes
            inputBytes = 0
            snapshotTakenNanos = nanos
        }
    }

    /// - Parameters:
    ///   - context: what each partition's learners are made from.
    ///   - publisher: where partition owners publish their shared state for the views
    ///     (nil: nothing is published).
    public init(
        source: any EventSource, outputs: any OutputSink, store: any SnapshotStore, context: LearnerContext, publisher: (any StatePublisher)? = nil,
        settings: Settings, logger: Logger, commit: Committer? = nil
    ) {
        self.source = source
        self.outputs = outputs
        self.store = store
        self.context = context
        self.publisher = publisher
        self.settings = settings
        self.logger = logger
        self.writer = SnapshotWriter(store: store, outputs: outputs, logger: logger, commit: commit)
        self.metrics = EngineMetrics(stream: source.streamName)
        reading.stream = source.streamName
    }

    /// Runs the engine on a thread of its own.
    public func start() {
        thread = WorkerThread(name: "engine", priority: .background) { [self] in run() }
    }

    /// Waits until the source has ended and the last snapshot is written.
    public func join() {
        thread?.join()
        thread = nil
    }

    /// Asks the source to stop; its partitions are revoked (and snapshotted) before the
    /// engine thread ends.
    public func stop() {
        source.stop()
    }

    /// Runs the engine on the calling thread until the source ends.
    public func run() {
        reading.running = true
        defer {
            writer.shutdown()
            reading.running = false
            publish(force: true)
            answerQueries(closing: true)
        }
        while true {
            // Reads of partition state wake the wait; they are answered at each turn.
            guard let delivery = source.next(timeoutMillis: 10) else {
                tick()
                continue
            }
            switch delivery {
            case .records(let batch):
                apply(batch)
                source.release(batch)
            case .assigned(let list, let reply):
                reply.put(restore(list))
            case .revoked(let list, let reply):
                reply.put(flush(list))
            case .end:
                return
            }
            tick()
        }
    }

    // MARK: Applying records

    private func apply(_ batch: RecordBatch) {
        let started = MonotonicClock.nanos
        let stream = source.streamName
        // Records come in runs of one partition: work on that partition's state taken out
        // of the dictionary (so it is uniquely referenced and mutated in place), and put
        // it back when the run ends.
        var current: Int32 = -1
        var state = PartitionRuntime(state: emptyState)
        var held = false
        var accepted = [Int64](repeating: 0, count: EventKind.allCases.count)
        var last: Record?
        batch.forEach { record in
            if record.partition != current {
                if held { partitions[current] = state }
                current = record.partition
                guard let next = partitions.removeValue(forKey: current) else {
                    held = false
                    logger.error("record for a partition not held", metadata: ["partition": "\(current)", "offset": "\(record.offset)"])
                    return
                }
                state = next
                held = true
            }
            guard held else { return }
            guard record.offset >= state.nextOffset else {
                reading.duplicatesSkipped += 1
                return
            }
            switch decoder.decode(record.value) {
            case .success(let event):
                state.state.learn(event)
                accepted[Int(event.kind.rawValue)] += 1
            case .failure(let reason):
                state.state.reject(category: reason.category.rawValue)
                reading.rejected[reason.category.rawValue, default: 0] += 1
                let letter = DeadLetter(stream: stream, partition: record.partition, offset: record.offset, reason: reason, payload: record.value)
                do {
                    try outputs.writeDeadLetter(letter)
                } catch {
                    // The failure is sticky in the output: no later snapshot becomes durable,
                    // the engine stops (see `tick`), and a restart retries this record.
                    logger.error("dead letter not written", metadata: ["source": "\(letter.sourceKey)", "error": "\(error)"])
                }
            }
            state.nextOffset = record.offset + 1
            state.inputBytes += record.value.count
            state.dirty = true
            state.unpublished = true
            last = record
        }
        if held { partitions[current] = state }
        for kind in EventKind.allCases where accepted[Int(kind.rawValue)] > 0 {
            reading.accepted[kind, default: 0] += accepted[Int(kind.rawValue)]
        }
        let elapsed = MonotonicClock.nanos - started
        reading.batches += 1
        reading.nanosPerRecord = Double(elapsed) / Double(max(1, batch.count))
        if let ts = last?.timestamp { reading.newestRecordAgeMillis = max(0, WallClock.millis - ts) }
        metrics.recordBatch(nanos: elapsed)
    }

    // MARK: Partitions coming and going

    private func restore(_ list: [Int32]) -> [Int32: Int64] {
        // A snapshot in flight may cover a partition being restored: settle it first so
        // its outcome cannot land on the restored state.
        if let inFlight = periodicInFlight {
            record(inFlight.take())
            periodicInFlight = nil
        }
        var starts: [Int32: Int64] = [:]
        for p in list {
            if let snapshot = store.newest(stream: source.streamName, partition: p, context: context, logger: logger) {
                partitions[p] = PartitionRuntime(state: snapshot.state, nextOffset: snapshot.nextOffset, durableOffset: snapshot.nextOffset)
                starts[p] = snapshot.nextOffset
                logger.info("partition restored from snapshot", metadata: ["partition": "\(p)", "offset": "\(snapshot.nextOffset)", "store": "\(store.location)"])
            } else {
                partitions[p] = PartitionRuntime(state: emptyState)
                logger.info("partition has no snapshot: reading it from the beginning", metadata: ["partition": "\(p)"])
            }
        }
        publisher?.holding(partitions.keys.sorted())
        publishStates(force: true)
        publish(force: true)
        return starts
    }

    /// Snapshots the partitions synchronously, drops them, and returns the offsets their
    /// newest durable snapshots cover.
    private func flush(_ list: [Int32]) -> [Int32: Int64] {
        if let inFlight = periodicInFlight {
            record(inFlight.take())
            periodicInFlight = nil
        }
        let held = list.filter { partitions[$0] != nil }
        let snapshots = held.compactMap { p -> PartitionSnapshot? in
            guard let rt = partitions[p], rt.dirty || rt.durableOffset == nil else { return nil }
            return PartitionSnapshot(stream: source.streamName, partition: p, nextOffset: rt.nextOffset, state: rt.state)
        }
        if !snapshots.isEmpty {
            let outcome = writer.submit(snapshots, outputsMark: outputs.mark(), timeoutMillis: settings.outputsTimeoutMillis, commit: false).take()
            record(outcome)
        }
        // The last word of this owner on these partitions, so views carry everything
        // it applied until the next owner publishes.
        publishStates(force: true, only: Set(held))
        var offsets: [Int32: Int64] = [:]
        for p in held {
            if let durable = partitions[p]?.durableOffset { offsets[p] = durable }
            partitions[p] = nil
        }
        publisher?.holding(partitions.keys.sorted())
        logger.info("partitions flushed", metadata: ["partitions": "\(held)", "offsets": "\(held.map { offsets[$0] ?? -1 })"])
        publish(force: true)
        return offsets
    }

    // MARK: Periodic work

    /// Runs `body` on the engine thread, between batches (the engine is woken for it when
    /// idle), with the state of `partition`: how per-user reads reach the owner's state
    /// without a lock on it.
    public func read<Answer: Sendable>(partition: Int32, _ body: @escaping @Sendable (PartitionState) -> Answer) async -> PartitionRead<Answer> {
        await withCheckedContinuation { (c: CheckedContinuation<PartitionRead<Answer>, Never>) in
            let queued = queries.withLock { q in
                guard !q.closed else { return false }
                q.jobs.append { partitions in
                    guard let rt = partitions[partition] else { return c.resume(returning: .notHeld) }
                    c.resume(returning: .answer(body(rt.state)))
                }
                return true
            }
            if queued { source.wake() } else { c.resume(returning: .notHeld) }
        }
    }

    private func answerQueries(closing: Bool = false) {
        let waiting = queries.withLock { q in
            defer {
                q.jobs.removeAll()
                if closing { q.closed = true }
            }
            return q.jobs
        }
        for job in waiting { job(partitions) }
    }

    private var emptyState: PartitionState {
        // The context was checked when the engine was configured.
        try! PartitionState(context)
    }

    private func tick() {
        answerQueries()
        if let inFlight = periodicInFlight, let outcome = inFlight.poll() {
            record(outcome)
            periodicInFlight = nil
        }
        if outputs.permanentFailure != nil, !stopRequested {
            stopRequested = true
            reading.fatalError = "output delivery failed: \(outputs.permanentFailure!)"
            logger.critical("outputs cannot be delivered; stopping. A restart resumes from the last durable snapshot.", metadata: ["error": "\(outputs.permanentFailure!)"])
            source.stop()
        }
        let now = MonotonicClock.nanos
        if settings.snapshotIntervalMillis > 0, periodicInFlight == nil,
            now - lastSnapshotStart >= UInt64(settings.snapshotIntervalMillis) * 1_000_000
        {
            lastSnapshotStart = now
            let schedule = settings.snapshotSchedule
            let due = partitions.filter { _, rt in
                rt.dirty
                    && schedule.isDue(
                        snapshotBytes: rt.snapshotBytes, inputBytes: rt.inputBytes, millisSinceSnapshot: Int((now - rt.snapshotTakenNanos) / 1_000_000))
            }
            if !due.isEmpty {
                let snapshots = due.keys.sorted().map { p in
                    PartitionSnapshot(stream: source.streamName, partition: p, nextOffset: due[p]!.nextOffset, state: due[p]!.state)
                }
                for p in due.keys { partitions[p]!.taken(at: now) }
                periodicInFlight = writer.submit(snapshots, outputsMark: outputs.mark(), timeoutMillis: settings.outputsTimeoutMillis, commit: true)
            }
        }
        publishStates(force: false)
        publish(force: false)
    }

    /// Publishes the shared state of the partitions changed since their last
    /// publication, at most every `publishIntervalMillis`.
    private func publishStates(force: Bool, only: Set<Int32>? = nil) {
        guard let publisher else { return }
        let now = MonotonicClock.nanos
        guard force || now - lastStatePublish >= UInt64(settings.publishIntervalMillis) * 1_000_000 else { return }
        if only == nil { lastStatePublish = now }
        let at = WallClock.millis
        for p in partitions.keys.sorted() {
            if let only, !only.contains(p) { continue }
            let rt = partitions[p]!
            if rt.unpublished || force {
                publisher.publish(PublishedPartition(stream: source.streamName, partition: p, nextOffset: rt.nextOffset, publishedAtMillis: at, state: rt.state.shared))
                partitions[p]!.unpublished = false
            } else {
                publisher.heartbeat(partition: p, nextOffset: rt.nextOffset, atMillis: at)
            }
        }
    }

    private func record(_ outcome: SnapshotWriter.Outcome) {
        switch outcome {
        case .written(let offsets, let bytes):
            for (p, offset) in offsets where partitions[p] != nil {
                partitions[p]!.durableOffset = offset
                partitions[p]!.snapshotBytes = bytes[p] ?? 0
                partitions[p]!.inputInFlight = 0
            }
            reading.snapshotsWritten += Int64(offsets.count)
            reading.lastSnapshotMillis = WallClock.millis
        case .failed(let offsets):
            // Those partitions changed but are not durable: try again next time.
            for p in offsets.keys where partitions[p] != nil {
                partitions[p]!.dirty = true
                partitions[p]!.inputBytes += partitions[p]!.inputInFlight
                partitions[p]!.inputInFlight = 0
            }
            reading.snapshotFailures += 1
        }
    }

    private func publish(force: Bool) {
        let now = MonotonicClock.nanos
        guard force || now - lastPublish >= 100_000_000 else { return }
        lastPublish = now
        // Fully durable state is as fresh as a snapshot taken now.
        if !partitions.isEmpty, partitions.values.allSatisfy({ $0.durableOffset == $0.nextOffset }) {
            reading.lastSnapshotMillis = WallClock.millis
        }
        reading.partitions = partitions.keys.sorted().map { p in
            let rt = partitions[p]!
            let end = source.endOffset(partition: p)
            return EngineReading.Partition(partition: p, nextOffset: rt.nextOffset, durableOffset: rt.durableOffset, lag: end.map { max(0, $0 - rt.nextOffset) })
        }
        statistics.publish(reading)
        metrics.publish(reading)
    }
}
