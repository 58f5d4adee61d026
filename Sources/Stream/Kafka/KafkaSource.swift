import CRdKafka
import Common
import Logging

/// A Kafka consumer-group member feeding the engine thread.
///
/// Threads: a poll thread owns the librdkafka consumer — it polls, runs the rebalance
/// callback and pauses or resumes fetching; the engine thread takes deliveries with
/// `next`. Records wait in between in a queue bounded by `maxBufferedBytes`. When it is
/// full the poll thread first stalls: it stops draining librdkafka, whose own prefetch
/// queue (bounded by `queued.max.messages.kbytes`) then stops the fetcher without
/// discarding anything. A stall longer than `pauseAfterMillis` pauses every assigned
/// partition, so that polling — and with it rebalances — can go on; fetching resumes once
/// the engine has drained the queue to half. (Pausing alone would be costly: librdkafka
/// discards what it has prefetched for a paused partition and fetches it again.) Memory
/// stays bounded however slow the engine is.
///
/// Rebalances are eager or cooperative, as configured. On revocation every record already
/// delivered is applied first (the queue is FIFO), then the engine snapshots the revoked
/// partitions and the poll thread commits the offsets the snapshot includes. On assignment
/// the engine restores each partition's snapshot and fetching starts at its offset.
public final class KafkaSource: EventSource, @unchecked Sendable {
    public struct Settings: Sendable {
        public var topic: String
        /// librdkafka consumer properties (bootstrap.servers, group.id, security …).
        public var properties: KafkaProperties
        public var maxBufferedBytes: Int
        public var pollBatchSize: Int
        public var pauseAfterMillis: Int

        public init(topic: String, properties: KafkaProperties, maxBufferedBytes: Int = 16 << 20, pollBatchSize: Int = 1000, pauseAfterMillis: Int = 1000) {
            self.topic = topic
            self.properties = properties
            self.maxBufferedBytes = maxBufferedBytes
            self.pollBatchSize = pollBatchSize
            self.pauseAfterMillis = pauseAfterMillis
        }
    }

    public let streamName: String
    private let settings: Settings
    private let logger: Logger
    private let consumer: OpaquePointer
    private let queue: OpaquePointer
    private let mailbox = Mailbox<SourceDelivery>()
    private let lock = ConditionLock()
    private var pollThread: WorkerThread?
    private var probeThread: WorkerThread?
    /// librdkafka's callback opaque must exist before the client does; it points back here.
    private let callbacks: CallbackTarget

    // Guarded by `lock`.
    private var queuedBytes = 0
    private var stopping = false
    private var assigned: [Int32] = []

    // Poll-thread only.
    private var paused = false

    /// Observable health of the consumer, read by metrics.
    public let health = SourceHealth()

    public init(settings: Settings, logger: Logger) throws(KafkaError) {
        self.settings = settings
        self.logger = logger
        self.streamName = settings.topic
        self.callbacks = CallbackTarget(logger: logger)
        var properties = settings.properties
        // The engine commits offsets itself, only after a durable snapshot.
        properties["enable.auto.commit"] = "false"
        properties["enable.auto.offset.store"] = "false"
        // Offsets come from snapshots (or the beginning of the log, explicitly). An offset
        // the log no longer holds must stop that partition, not be skipped silently:
        // skipping would lose records from the state. Operators can accept the gap with
        // auto.offset.reset=earliest.
        properties["auto.offset.reset"] = properties["auto.offset.reset"] ?? "error"
        properties["queued.max.messages.kbytes"] = properties["queued.max.messages.kbytes"] ?? "16384"
        let conf = try properties.makeConfiguration()
        if properties["fetch.queue.backoff.ms"] == nil {
            // After a stall the fetcher should restart at once, not after the default 1 s
            // back-off. The property exists from librdkafka 2.4.0; older ones keep the default.
            _ = rd_kafka_conf_set(conf, "fetch.queue.backoff.ms", "10", nil, 0)
        }
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(callbacks).toOpaque())
        rd_kafka_conf_set_rebalance_cb(conf, kafkaSourceRebalance)
        rd_kafka_conf_set_error_cb(conf, kafkaSourceError)
        forwardLibrdkafkaLogs(conf)
        var errstr = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError("cannot create Kafka consumer: \(String(cString: errstr))")
        }
        consumer = rk
        rd_kafka_poll_set_consumer(rk)
        queue = rd_kafka_queue_get_consumer(rk)
        callbacks.source = self
    }

    deinit {
        rd_kafka_queue_destroy(queue)
        rd_kafka_destroy(consumer)
    }

    /// Subscribes and starts the poll thread.
    public func start() throws(KafkaError) {
        let list = rd_kafka_topic_partition_list_new(1)!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        rd_kafka_topic_partition_list_add(list, settings.topic, RD_KAFKA_PARTITION_UA)
        let err = rd_kafka_subscribe(consumer, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError("subscribe to \(settings.topic)", err) }
        pollThread = WorkerThread(name: "kafka-poll", priority: .background) { [self] in pollLoop() }
        probeThread = WorkerThread(name: "kafka-probe") { [self] in probeLoop() }
    }

    /// Asks for cluster metadata every second: the only way to notice a broker that
    /// accepts connections but no longer answers (a hung or partitioned broker).
    private func probeLoop() {
        while !lock.withLock({ stopping }) {
            let started = MonotonicClock.nanos
            health.recordProbe(reachable: probeBroker(timeoutMillis: 2000))
            lock.withLock {
                let deadline = started + 1_000_000_000
                while !stopping, MonotonicClock.nanos < deadline { lock.wait(untilNanos: deadline) }
            }
        }
    }

    public func next(timeoutMillis: Int) -> SourceDelivery? {
        mailbox.take(timeoutMillis: timeoutMillis)
    }

    public func wake() { mailbox.interrupt() }

    public func release(_ batch: RecordBatch) {
        if case .kafka(let messages) = batch.storage {
            for m in messages { rd_kafka_message_destroy(m) }
        }
        lock.withLock {
            queuedBytes -= batch.byteCount
            lock.broadcast()
        }
    }

    public func stop() {
        lock.withLock {
            stopping = true
            lock.broadcast()
        }
    }

    /// Waits for the poll and probe threads after `.end` was delivered.
    public func join() {
        pollThread?.join()
        pollThread = nil
        probeThread?.join()
        probeThread = nil
    }

    /// Commits `offsets` (next offset to read, per partition) for the group.
    public func commit(_ offsets: [Int32: Int64], synchronously: Bool) -> KafkaError? {
        guard !offsets.isEmpty else { return nil }
        let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (partition, offset) in offsets.sorted(by: { $0.key < $1.key }) {
            rd_kafka_topic_partition_list_add(list, settings.topic, partition).pointee.offset = offset
        }
        let err = rd_kafka_commit(consumer, list, synchronously ? 0 : 1)
        return err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError("commit offsets", err)
    }

    /// The last high watermark librdkafka saw for `partition` (no network round trip).
    public func endOffset(partition: Int32) -> Int64? {
        var low: Int64 = -1
        var high: Int64 = -1
        let err = rd_kafka_get_watermark_offsets(consumer, settings.topic, partition, &low, &high)
        return err == RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0 ? high : nil
    }

    /// Asks the cluster for metadata with a short timeout: false when no broker answers.
    public func probeBroker(timeoutMillis: Int32) -> Bool {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(consumer, 0, nil, &metadata, timeoutMillis)
        if let metadata { rd_kafka_metadata_destroy(metadata) }
        return err == RD_KAFKA_RESP_ERR_NO_ERROR
    }

    /// Bytes of records delivered to the engine's queue and not yet released.
    public var bufferedBytes: Int { lock.withLock { queuedBytes } }

    // MARK: Poll thread

    private func pollLoop() {
        let capacity = max(1, settings.pollBatchSize)
        let messages = UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>.allocate(capacity: capacity)
        defer { messages.deallocate() }
        var stalledSince: UInt64?
        while !lock.withLock({ stopping }) {
            if !paused, waitWhileFull(since: &stalledSince) { continue }
            let n = rd_kafka_consume_batch_queue(queue, 100, messages, capacity)
            if n > 0 { deliver(messages, Int(n)) }
            if paused, lock.withLock({ queuedBytes }) <= settings.maxBufferedBytes / 2 {
                setPaused(false)
            }
        }
        // Closing leaves the group; the rebalance callback revokes our partitions through
        // the engine before the call returns.
        let err = rd_kafka_consumer_close(consumer)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.warning("consumer close", metadata: ["error": "\(KafkaError("close", err))"])
        }
        mailbox.put(.end)
    }

    /// While the queue is full, waits (up to 50 ms at a time) for the engine to drain it
    /// and returns true; pauses fetching once the stall has lasted `pauseAfterMillis`.
    /// Returns false when there is room.
    private func waitWhileFull(since stalledSince: inout UInt64?) -> Bool {
        let full = lock.withLock {
            if queuedBytes >= settings.maxBufferedBytes, !stopping {
                _ = lock.wait(untilNanos: MonotonicClock.nanos + 50_000_000)
            }
            return queuedBytes >= settings.maxBufferedBytes && !stopping
        }
        guard full else {
            stalledSince = nil
            return false
        }
        let now = MonotonicClock.nanos
        let since = stalledSince ?? now
        stalledSince = since
        if now - since >= UInt64(settings.pauseAfterMillis) * 1_000_000 {
            setPaused(true)
            return false
        }
        return true
    }

    private func deliver(_ messages: UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>, _ n: Int) {
        var kept: [UnsafeMutablePointer<rd_kafka_message_t>] = []
        kept.reserveCapacity(n)
        var bytes = 0
        for i in 0..<n {
            guard let m = messages[i] else { continue }
            if m.pointee.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                consumerError(m.pointee.err, m.pointee.partition)
                rd_kafka_message_destroy(m)
                continue
            }
            bytes += m.pointee.len + m.pointee.key_len
            kept.append(m)
        }
        guard !kept.isEmpty else { return }
        health.recordContact()
        lock.withLock { queuedBytes += bytes }
        mailbox.put(.records(RecordBatch(storage: .kafka(kept), count: kept.count, byteCount: bytes)))
    }

    private func consumerError(_ err: rd_kafka_resp_err_t, _ partition: Int32) {
        guard err != RD_KAFKA_RESP_ERR__PARTITION_EOF, let suppressed = callbacks.logThrottle.admit("consume-\(err.rawValue)") else { return }
        if err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET {
            logger.error("""
                partition \(partition): the offset to resume from is no longer in the log (retention, \
                or the topic was recreated); the partition is stopped rather than skipping records. \
                To accept the gap, set kafka.properties.auto.offset.reset to earliest.
                """, metadata: ["partition": "\(partition)", "suppressed_since_last": "\(suppressed)"])
        } else {
            logger.warning("consumer error", metadata: ["partition": "\(partition)", "error": "\(KafkaError("consume", err))", "suppressed_since_last": "\(suppressed)"])
        }
    }

    private func setPaused(_ pause: Bool) {
        let partitions = lock.withLock { assigned }
        paused = pause
        health.setPaused(pause)
        guard !partitions.isEmpty else { return }
        let list = partitionList(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = pause ? rd_kafka_pause_partitions(consumer, list) : rd_kafka_resume_partitions(consumer, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.warning("pause/resume", metadata: ["error": "\(KafkaError(pause ? "pause" : "resume", err))"])
        } else {
            logger.debug(pause ? "paused fetching: engine queue full" : "resumed fetching")
        }
    }

    private func partitionList(_ partitions: [Int32]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        let list = rd_kafka_topic_partition_list_new(Int32(partitions.count))!
        for p in partitions { rd_kafka_topic_partition_list_add(list, settings.topic, p) }
        return list
    }

    fileprivate func rebalance(_ err: rd_kafka_resp_err_t, _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        let cooperative = String(cString: rd_kafka_rebalance_protocol(consumer)) == "COOPERATIVE"
        var partitions: [Int32] = []
        for i in 0..<Int(list.pointee.cnt) where String(cString: list.pointee.elems[i].topic) == settings.topic {
            partitions.append(list.pointee.elems[i].partition)
        }
        partitions.sort()
        health.recordRebalance()
        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            let reply = Handoff<[Int32: Int64]>()
            mailbox.put(.assigned(partitions, reply: reply))
            let starts = reply.take()
            warnAboutMissingSnapshots(partitions.filter { starts[$0] == nil })
            for i in 0..<Int(list.pointee.cnt) {
                let p = list.pointee.elems[i].partition
                list.pointee.elems[i].offset = starts[p] ?? Int64(RD_KAFKA_OFFSET_BEGINNING)
            }
            let failure: KafkaError?
            if cooperative {
                let e = rd_kafka_incremental_assign(consumer, list)
                failure = e.map { KafkaError("incremental assign: \(String(cString: rd_kafka_error_string($0)))") }
                if let e { rd_kafka_error_destroy(e) }
            } else {
                let e = rd_kafka_assign(consumer, list)
                failure = e == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError("assign", e)
            }
            if let failure { logger.error("assignment failed", metadata: ["error": "\(failure)"]) }
            lock.withLock {
                assigned = Array(Set(assigned + partitions)).sorted()
            }
            if paused, !partitions.isEmpty {
                let l = partitionList(partitions)
                rd_kafka_pause_partitions(consumer, l)
                rd_kafka_topic_partition_list_destroy(l)
            }
            logger.info("partitions assigned", metadata: [
                "partitions": "\(partitions)", "resume_at": "\(partitions.map { starts[$0] ?? 0 })",
            ])
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            let reply = Handoff<[Int32: Int64]>()
            mailbox.put(.revoked(partitions, reply: reply))
            let offsets = reply.take()
            if rd_kafka_assignment_lost(consumer) != 0 {
                logger.warning("assignment lost (session expired): offsets not committed; the snapshot still holds them", metadata: ["partitions": "\(partitions)"])
            } else if let failure = commit(offsets, synchronously: true) {
                logger.warning("commit on revoke failed; the snapshot still holds the offsets", metadata: ["error": "\(failure)"])
            }
            if cooperative {
                if let e = rd_kafka_incremental_unassign(consumer, list) { rd_kafka_error_destroy(e) }
            } else {
                rd_kafka_assign(consumer, nil)
            }
            lock.withLock {
                assigned = cooperative ? assigned.filter { !partitions.contains($0) } : []
            }
            logger.info("partitions revoked", metadata: ["partitions": "\(partitions)"])
        default:
            // Whatever went wrong, the partitions are no longer ours: the engine must flush
            // and drop them as on a revocation, before they are unassigned.
            logger.error("rebalance error", metadata: ["error": "\(KafkaError("rebalance", err))"])
            let held = lock.withLock { assigned }
            if !held.isEmpty {
                let reply = Handoff<[Int32: Int64]>()
                mailbox.put(.revoked(held, reply: reply))
                _ = reply.take()
            }
            rd_kafka_assign(consumer, nil)
            lock.withLock { assigned = [] }
        }
    }

    /// A partition without a snapshot but with a committed offset had state that this
    /// process cannot see (a snapshot directory not shared by the whole group, or lost):
    /// it is rebuilt from the beginning of the log, which an operator should know about.
    private func warnAboutMissingSnapshots(_ partitions: [Int32]) {
        guard !partitions.isEmpty else { return }
        let list = partitionList(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        guard rd_kafka_committed(consumer, list, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR else { return }
        for i in 0..<Int(list.pointee.cnt) where list.pointee.elems[i].offset >= 0 {
            logger.error("""
                partition \(list.pointee.elems[i].partition) has committed offset \(list.pointee.elems[i].offset) \
                but no snapshot: its state is rebuilt from the beginning of the log. Is \
                engine.snapshot_dir shared by every process of the group?
                """)
        }
    }

    fileprivate func clientError(_ code: Int32, _ reason: String) {
        let err = rd_kafka_resp_err_t(code)
        if let suppressed = callbacks.logThrottle.admit("client-\(code)") {
            logger.warning("kafka client error", metadata: ["error": "\(String(cString: rd_kafka_err2name(err))): \(reason)", "suppressed_since_last": "\(suppressed)"])
        }
    }
}

private final class CallbackTarget: LibrdkafkaCallbackTarget, @unchecked Sendable {
    weak var source: KafkaSource?
    let logger: Logger
    let logThrottle = LogThrottle()
    init(logger: Logger) { self.logger = logger }
}

private func kafkaSourceRebalance(
    _ rk: OpaquePointer?, _ err: rd_kafka_resp_err_t,
    _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let opaque, let list else { return }
    Unmanaged<CallbackTarget>.fromOpaque(opaque).takeUnretainedValue().source?.rebalance(err, list)
}

private func kafkaSourceError(_ rk: OpaquePointer?, _ code: Int32, _ reason: UnsafePointer<CChar>?, _ opaque: UnsafeMutableRawPointer?) {
    guard let opaque else { return }
    Unmanaged<CallbackTarget>.fromOpaque(opaque).takeUnretainedValue().source?.clientError(code, reason.map { String(cString: $0) } ?? "")
}
