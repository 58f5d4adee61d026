import CRdKafka
import Common
import Logging

/// An idempotent librdkafka producer for the engine's outputs (decisions, dead letters).
///
/// Every message gets a sequence number; `waitForDelivery(through:)` tells when all
/// messages up to one are acknowledged by the broker, which is what the engine waits for
/// before a snapshot may claim the inputs behind them. Messages are retried until
/// delivered (`message.timeout.ms` 0 by default), so an outage delays snapshots rather
/// than dropping output; a permanent failure is sticky and stops snapshots.
public final class KafkaProducer: @unchecked Sendable {
    public typealias Header = (name: String, value: [UInt8])

    private let producer: OpaquePointer
    private let logger: Logger
    private let callbacks: ProducerCallbacks
    private let lock = ConditionLock()
    private var pollThread: WorkerThread?

    // Guarded by `lock`.
    private var nextSequence: UInt64 = 1
    private var outstanding = Set<UInt64>()
    private var failure: KafkaError?
    private var closing = false
    /// Callers waiting for one message's acknowledgement (`delivered(_:)`).
    private var waiters: [UInt64: CheckedContinuation<Bool, Never>] = [:]

    public init(properties: KafkaProperties, logger: Logger) throws(KafkaError) {
        self.logger = logger
        self.callbacks = ProducerCallbacks(logger: logger)
        var properties = properties
        properties["enable.idempotence"] = "true"
        properties["message.timeout.ms"] = properties["message.timeout.ms"] ?? "0"
        let conf = try properties.makeConfiguration()
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(callbacks).toOpaque())
        rd_kafka_conf_set_dr_msg_cb(conf, kafkaProducerDelivery)
        forwardLibrdkafkaLogs(conf)
        var errstr = [CChar](repeating: 0, count: 512)
        guard let rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError("cannot create Kafka producer: \(String(cString: errstr))")
        }
        producer = rk
        callbacks.producer = self
        pollThread = WorkerThread(name: "kafka-produce") { [self] in
            while !lock.withLock({ closing }) { rd_kafka_poll(producer, 100) }
        }
    }

    deinit {
        rd_kafka_destroy(producer)
    }

    /// Queues one message (the bytes are copied) and returns its sequence number. Without
    /// `partition` the configured partitioner places it by its key.
    @discardableResult
    public func send(topic: String, partition: Int32? = nil, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, headers: [Header] = []) throws(KafkaError) -> UInt64 {
        let sequence = lock.withLock {
            let s = nextSequence
            nextSequence += 1
            outstanding.insert(s)
            return s
        }
        var err = attempt(topic: topic, partition: partition, key: key, value: value, headers: headers, sequence: sequence)
        // A full local queue is back-pressure: wait for deliveries to make room.
        while err == RD_KAFKA_RESP_ERR__QUEUE_FULL {
            lock.withLock { _ = lock.wait(untilNanos: MonotonicClock.nanos + 10_000_000) }
            err = attempt(topic: topic, partition: partition, key: key, value: value, headers: headers, sequence: sequence)
        }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            // Sticky: the message can never be delivered, so no snapshot may claim the
            // input behind it (`waitForDelivery` fails from now on).
            let error = KafkaError("produce to \(topic)", err)
            lock.withLock {
                outstanding.remove(sequence)
                if failure == nil { failure = error }
            }
            throw error
        }
        return sequence
    }

    private func attempt(topic: String, partition: Int32?, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, headers: [Header], sequence: UInt64) -> rd_kafka_resp_err_t {
        topic.withCString { topicName in
            let fixed = partition == nil ? 5 : 6
            var values = [rd_kafka_vu_t](repeating: rd_kafka_vu_t(), count: fixed + headers.count)
            values[0].vtype = RD_KAFKA_VTYPE_TOPIC
            values[0].u.cstr = topicName
            values[1].vtype = RD_KAFKA_VTYPE_KEY
            values[1].u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress)
            values[1].u.mem.size = key.count
            values[2].vtype = RD_KAFKA_VTYPE_VALUE
            values[2].u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress)
            values[2].u.mem.size = value.count
            values[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS
            values[3].u.i = RD_KAFKA_MSG_F_COPY
            values[4].vtype = RD_KAFKA_VTYPE_OPAQUE
            values[4].u.ptr = UnsafeMutableRawPointer(bitPattern: UInt(sequence))
            if let partition {
                values[5].vtype = RD_KAFKA_VTYPE_PARTITION
                values[5].u.i32 = partition
            }
            return withHeaderStorage(headers) { names, bytes in
                for (i, h) in headers.enumerated() {
                    values[fixed + i].vtype = RD_KAFKA_VTYPE_HEADER
                    values[fixed + i].u.header.name = names[i]
                    values[fixed + i].u.header.val = UnsafeRawPointer(bytes[i].baseAddress)
                    values[fixed + i].u.header.size = h.value.count
                }
                guard let error = rd_kafka_produceva(producer, &values, values.count) else {
                    return RD_KAFKA_RESP_ERR_NO_ERROR
                }
                let code = rd_kafka_error_code(error)
                rd_kafka_error_destroy(error)
                return code
            }
        }
    }

    /// Sends from byte arrays.
    @discardableResult
    public func send(topic: String, partition: Int32? = nil, key: [UInt8], value: [UInt8], headers: [Header] = []) throws(KafkaError) -> UInt64 {
        do {
            return try key.withUnsafeBytes { k in
                try value.withUnsafeBytes { v in try send(topic: topic, partition: partition, key: k, value: v, headers: headers) }
            }
        } catch let error as KafkaError {
            throw error
        } catch {
            throw KafkaError("\(error)")
        }
    }

    /// The sequence number of the latest message queued (0 before the first).
    public var lastSequence: UInt64 { lock.withLock { nextSequence - 1 } }

    /// The first permanent delivery failure, if any.
    public var permanentFailure: KafkaError? { lock.withLock { failure } }

    /// Waits until every message with a sequence number up to `sequence` is acknowledged.
    /// False on timeout or after a permanent failure.
    public func waitForDelivery(through sequence: UInt64, timeoutMillis: Int) -> Bool {
        let deadline = MonotonicClock.nanos + UInt64(timeoutMillis) * 1_000_000
        return lock.withLock {
            while true {
                if failure != nil { return false }
                if !outstanding.contains(where: { $0 <= sequence }) { return true }
                let now = MonotonicClock.nanos
                if now >= deadline { return false }
                lock.wait(untilNanos: min(deadline, now + 20_000_000))
            }
        }
    }

    /// Waits, without holding a thread, until message `sequence` is acknowledged: true
    /// when it was, false when delivery failed for good (or the producer closed first).
    public func delivered(_ sequence: UInt64) async -> Bool {
        await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            let answer: Bool? = lock.withLock {
                if failure != nil { return false }
                if !outstanding.contains(sequence) { return true }
                if closing { return false }
                waiters[sequence] = c
                return nil
            }
            if let answer { c.resume(returning: answer) }
        }
    }

    /// The partition count of `topic` from cluster metadata, nil when the broker does not
    /// answer within `timeoutMillis` or the topic does not exist.
    public func partitionCount(topic: String, timeoutMillis: Int32 = 5000) -> Int32? {
        guard let handle = rd_kafka_topic_new(producer, topic, nil) else { return nil }
        defer { rd_kafka_topic_destroy(handle) }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(producer, 0, handle, &metadata, timeoutMillis)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else { return nil }
        defer { rd_kafka_metadata_destroy(metadata) }
        guard metadata.pointee.topic_cnt == 1, metadata.pointee.topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        let n = metadata.pointee.topics[0].partition_cnt
        return n > 0 ? n : nil
    }

    /// Flushes what is queued (up to `timeoutMillis`) and stops the poll thread.
    public func close(timeoutMillis: Int32) {
        let err = rd_kafka_flush(producer, timeoutMillis)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.warning("producer flush on close incomplete", metadata: ["error": "\(KafkaError("flush", err))"])
        }
        let abandoned: [CheckedContinuation<Bool, Never>] = lock.withLock {
            closing = true
            defer { waiters.removeAll() }
            return Array(waiters.values)
        }
        for c in abandoned { c.resume(returning: false) }
        pollThread?.join()
        pollThread = nil
    }

    fileprivate func delivered(_ message: UnsafePointer<rd_kafka_message_t>) {
        let sequence = UInt64(UInt(bitPattern: message.pointee._private))
        let err = message.pointee.err
        let waiter: CheckedContinuation<Bool, Never>? = lock.withLock {
            outstanding.remove(sequence)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR, failure == nil {
                failure = KafkaError("delivery of output message \(sequence)", err)
            }
            lock.broadcast()
            return waiters.removeValue(forKey: sequence)
        }
        waiter?.resume(returning: err == RD_KAFKA_RESP_ERR_NO_ERROR)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.error("output delivery failed", metadata: ["error": "\(KafkaError("delivery", err))"])
        }
    }
}

/// Keeps header names as C strings and values pinned while `body` runs.
private func withHeaderStorage<R>(
    _ headers: [KafkaProducer.Header],
    _ body: ([UnsafePointer<CChar>], [UnsafeBufferPointer<UInt8>]) -> R
) -> R {
    var names: [UnsafeMutablePointer<CChar>] = []
    var values: [UnsafeMutableBufferPointer<UInt8>] = []
    defer {
        names.forEach { $0.deallocate() }
        values.forEach { $0.deallocate() }
    }
    for h in headers {
        let utf8 = Array(h.name.utf8CString)
        let n = UnsafeMutablePointer<CChar>.allocate(capacity: utf8.count)
        n.initialize(from: utf8, count: utf8.count)
        names.append(n)
        let v = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(1, h.value.count))
        _ = v.initialize(from: h.value)
        values.append(v)
    }
    return body(names.map { UnsafePointer($0) }, values.map { UnsafeBufferPointer($0) })
}

private final class ProducerCallbacks: LibrdkafkaCallbackTarget, @unchecked Sendable {
    weak var producer: KafkaProducer?
    let logger: Logger
    let logThrottle = LogThrottle()
    init(logger: Logger) { self.logger = logger }
}

private func kafkaProducerDelivery(_ rk: OpaquePointer?, _ message: UnsafePointer<rd_kafka_message_t>?, _ opaque: UnsafeMutableRawPointer?) {
    guard let opaque, let message else { return }
    Unmanaged<ProducerCallbacks>.fromOpaque(opaque).takeUnretainedValue().producer?.delivered(message)
}
