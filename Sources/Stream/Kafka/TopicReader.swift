import CRdKafka
import Common
import Logging

/// Reads every partition of a topic from its beginning and keeps following it, outside
/// any consumer group: every process of a group reads the whole state topic this way
/// (the published partition states, the surface catalogue, the members).
///
/// One thread (`state-reader`) owns the consumer; it hands each poll's messages to
/// `handle` as (key, value) pairs, in log order per partition. `caughtUp` turns true once
/// every partition has been read to the end it had when reading began; `readToPresent`
/// waits likewise for the end the topic has at the call.
public final class TopicReader: @unchecked Sendable {
    public struct Message: Sendable {
        public var partition: Int32
        public var offset: Int64
        public var key: [UInt8]
        /// nil for a tombstone (a deleted key).
        public var value: [UInt8]?
    }

    public let topic: String
    private let consumer: OpaquePointer
    private let logger: Logger
    private let callbacks: ReaderCallbacks
    private let lock = ConditionLock()
    private var stopping = false
    private var thread: WorkerThread?
    private var ends: [Int32: Int64] = [:]
    private var positions: [Int32: Int64] = [:]
    private var isCaughtUp = false
    private var partitionIDs: [Int32] = []
    /// `readToPresent` calls whose ends the reading thread has yet to ask the broker for.
    private var presentAsked: [(deadline: UInt64, reply: CheckedContinuation<Bool, Never>)] = []
    /// Those whose ends it knows, waiting until the positions reach them.
    private var presentWaiting: [(ends: [Int32: Int64], deadline: UInt64, reply: CheckedContinuation<Bool, Never>)] = []

    public init(topic: String, properties: KafkaProperties, logger: Logger) throws(KafkaError) {
        self.topic = topic
        self.logger = logger
        callbacks = ReaderCallbacks(logger: logger)
        var properties = properties
        // No group membership and no commits: the reader always starts at the beginning.
        properties["group.id"] = properties["group.id"].map { $0 + ".state-reader" } ?? "arbiter.state-reader"
        properties["enable.auto.commit"] = "false"
        properties["enable.partition.eof"] = "true"
        let conf = try properties.makeConfiguration()
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(callbacks).toOpaque())
        forwardLibrdkafkaLogs(conf)
        var errstr = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError("cannot create the \(topic) reader: \(String(cString: errstr))")
        }
        consumer = rk
        rd_kafka_poll_set_consumer(rk)
    }

    deinit { rd_kafka_destroy(consumer) }

    /// Assigns every partition from the beginning and starts the reading thread; fails
    /// when the topic cannot be found within `timeoutMillis`.
    public func start(timeoutMillis: Int32 = 30_000, handle: @escaping @Sendable ([Message]) -> Void) throws(KafkaError) {
        guard let count = partitionCount(timeoutMillis: timeoutMillis) else {
            throw KafkaError("topic \(topic) not found: create it (compacted) before starting the engine")
        }
        let list = rd_kafka_topic_partition_list_new(count)!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for p in 0..<count {
            rd_kafka_topic_partition_list_add(list, topic, p).pointee.offset = Int64(RD_KAFKA_OFFSET_BEGINNING)
            var low: Int64 = 0, high: Int64 = 0
            if rd_kafka_query_watermark_offsets(consumer, topic, p, &low, &high, timeoutMillis) == RD_KAFKA_RESP_ERR_NO_ERROR {
                ends[p] = high
                positions[p] = low
            }
        }
        isCaughtUp = ends.allSatisfy { positions[$0.key]! >= $0.value }
        lock.withLock { partitionIDs = Array(0..<count) }
        let err = rd_kafka_assign(consumer, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError("assign \(topic)", err) }
        thread = WorkerThread(name: "state-reader", priority: .background) { [self] in loop(handle) }
    }

    /// True once everything the topic held when reading began has been handled.
    public var caughtUp: Bool { lock.withLock { isCaughtUp } }

    /// Waits up to `timeoutMillis` for `caughtUp`.
    public func waitUntilCaughtUp(timeoutMillis: Int) -> Bool {
        let deadline = MonotonicClock.nanos + UInt64(timeoutMillis) * 1_000_000
        return lock.withLock {
            while !isCaughtUp, !stopping {
                if !lock.wait(untilNanos: deadline) { break }
            }
            return isCaughtUp
        }
    }

    /// Returns once everything the topic holds now (each partition's end as the broker
    /// gives it at the call) has been handed to `handle`, true; false when that takes
    /// longer than `timeoutMillis`, the broker cannot say, or the reader stops. What a
    /// change to shared state is built on, so that it never builds on a record another
    /// process has already replaced. The reading thread asks the broker (it owns the
    /// consumer), so this answers within one poll (100 ms) plus the round trip.
    public func readToPresent(timeoutMillis: Int) async -> Bool {
        let deadline = MonotonicClock.nanos + UInt64(max(0, timeoutMillis)) * 1_000_000
        return await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            let refused: Bool = lock.withLock {
                // Not started (no partitions) or stopping: no thread would answer.
                if stopping || partitionIDs.isEmpty { return true }
                presentAsked.append((deadline, c))
                return false
            }
            if refused { c.resume(returning: false) }
        }
    }

    public func stop() {
        let unanswered = lock.withLock {
            stopping = true
            lock.broadcast()
            defer { (presentAsked, presentWaiting) = ([], []) }
            return presentAsked.map(\.reply) + presentWaiting.map(\.reply)
        }
        for c in unanswered { c.resume(returning: false) }
        thread?.join()
        thread = nil
        rd_kafka_consumer_close(consumer)
    }

    /// On the reading thread: asks the broker for the ends `readToPresent` callers wait
    /// for, then answers those whose ends are read or whose time is up.
    private func answerPresent() {
        let asked = lock.withLock {
            defer { presentAsked = [] }
            return presentAsked
        }
        var known: [(ends: [Int32: Int64], deadline: UInt64, reply: CheckedContinuation<Bool, Never>)] = []
        if !asked.isEmpty {
            var ends: [Int32: Int64]? = [:]
            for p in lock.withLock({ partitionIDs }) {
                var low: Int64 = 0, high: Int64 = 0
                guard rd_kafka_query_watermark_offsets(consumer, topic, p, &low, &high, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    ends = nil
                    break
                }
                ends![p] = high
            }
            guard let ends else {
                logger.warning("the state topic's ends could not be read from the broker", metadata: ["topic": "\(topic)"])
                for a in asked { a.reply.resume(returning: false) }
                return
            }
            known = asked.map { (ends, $0.deadline, $0.reply) }
        }
        let now = MonotonicClock.nanos
        var answers: [(CheckedContinuation<Bool, Never>, Bool)] = []
        lock.withLock {
            if stopping {
                answers = known.map { ($0.reply, false) }
                return
            }
            presentWaiting += known
            presentWaiting.removeAll { w in
                let read = w.ends.allSatisfy { (positions[$0.key] ?? 0) >= $0.value }
                guard read || now >= w.deadline else { return false }
                answers.append((w.reply, read))
                return true
            }
        }
        for (c, read) in answers { c.resume(returning: read) }
    }

    private func partitionCount(timeoutMillis: Int32) -> Int32? {
        guard let handle = rd_kafka_topic_new(consumer, topic, nil) else { return nil }
        defer { rd_kafka_topic_destroy(handle) }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        guard rd_kafka_metadata(consumer, 0, handle, &metadata, timeoutMillis) == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else { return nil }
        defer { rd_kafka_metadata_destroy(metadata) }
        guard metadata.pointee.topic_cnt == 1, metadata.pointee.topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        let n = metadata.pointee.topics[0].partition_cnt
        return n > 0 ? n : nil
    }

    private func loop(_ handle: @Sendable ([Message]) -> Void) {
        let queue = rd_kafka_queue_get_consumer(consumer)!
        defer { rd_kafka_queue_destroy(queue) }
        let capacity = 500
        let messages = UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>.allocate(capacity: capacity)
        defer { messages.deallocate() }
        while !lock.withLock({ stopping }) {
            answerPresent()
            let n = rd_kafka_consume_batch_queue(queue, 100, messages, capacity)
            guard n > 0 else { continue }
            var batch: [Message] = []
            for i in 0..<Int(n) {
                guard let m = messages[i] else { continue }
                defer { rd_kafka_message_destroy(m) }
                let msg = m.pointee
                if msg.err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                    lock.withLock { positions[msg.partition] = max(positions[msg.partition] ?? 0, msg.offset) }
                    continue
                }
                guard msg.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    logger.warning("state topic read error", metadata: ["topic": "\(topic)", "error": "\(KafkaError("consume", msg.err))"])
                    continue
                }
                let key = msg.key == nil ? [] : Array(UnsafeRawBufferPointer(start: msg.key, count: msg.key_len))
                let value = msg.payload == nil ? nil : Array(UnsafeRawBufferPointer(start: msg.payload, count: msg.len))
                batch.append(Message(partition: msg.partition, offset: msg.offset, key: key, value: value))
            }
            if !batch.isEmpty { handle(batch) }
            lock.withLock {
                for m in batch { positions[m.partition] = max(positions[m.partition] ?? 0, m.offset + 1) }
                if !isCaughtUp, ends.allSatisfy({ (positions[$0.key] ?? 0) >= $0.value }) {
                    isCaughtUp = true
                    lock.broadcast()
                }
            }
        }
    }
}

private final class ReaderCallbacks: LibrdkafkaCallbackTarget, @unchecked Sendable {
    let logger: Logger
    let logThrottle = LogThrottle()
    init(logger: Logger) { self.logger = logger }
}
