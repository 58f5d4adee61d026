import Common
/// Where the engine's outputs go: dead letters now, decisions later. Outputs must be
/// durable before a snapshot may claim the inputs that produced them, hence `mark` and
/// `waitUntilDurable`.
public protocol OutputSink: AnyObject, Sendable {
    /// Records a rejected input with the reason and the original bytes.
    func writeDeadLetter(_ letter: DeadLetter) throws
    /// A mark covering everything written so far.
    func mark() -> UInt64
    /// Waits until everything up to `mark` is durable; false on timeout or failure.
    func waitUntilDurable(_ mark: UInt64, timeoutMillis: Int) -> Bool
    /// A failure that makes further outputs impossible, if one happened.
    var permanentFailure: (any Error)? { get }
    func close()
}

/// A rejected input: where it came from, why, and its bytes (valid during the call).
public struct DeadLetter {
    public var stream: String
    public var partition: Int32
    public var offset: Int64
    public var reason: DecodeError
    public var payload: UnsafeRawBufferPointer

    public init(stream: String, partition: Int32, offset: Int64, reason: DecodeError, payload: UnsafeRawBufferPointer) {
        self.stream = stream
        self.partition = partition
        self.offset = offset
        self.reason = reason
        self.payload = payload
    }

    /// `stream/partition/offset`: the dead letter's Kafka key, unique per input, so a
    /// consumer can drop the duplicates a crash-restart may re-send.
    public var sourceKey: String { "\(stream)/\(partition)/\(offset)" }

    /// Payloads above this are cut, so a dead letter always fits a broker's default
    /// message size limit.
    public static let maximumPayloadBytes = 512 * 1024
}

/// Dead letters to a Kafka topic through the idempotent producer. The value is the
/// original payload; the reason travels in headers.
public final class KafkaOutputs: OutputSink, @unchecked Sendable {
    public let producer: KafkaProducer
    public let deadLetterTopic: String

    public init(producer: KafkaProducer, deadLetterTopic: String) {
        self.producer = producer
        self.deadLetterTopic = deadLetterTopic
    }

    public func writeDeadLetter(_ letter: DeadLetter) throws {
        let truncated = letter.payload.count > DeadLetter.maximumPayloadBytes
        let payload = truncated ? UnsafeRawBufferPointer(rebasing: letter.payload[0..<DeadLetter.maximumPayloadBytes]) : letter.payload
        var headers: [KafkaProducer.Header] = [
            ("arbiter.reason", Array(letter.reason.category.rawValue.utf8)),
            ("arbiter.message", Array(letter.reason.message.utf8)),
            ("arbiter.source", Array(letter.sourceKey.utf8)),
        ]
        if truncated { headers.append(("arbiter.truncated-from", Array(String(letter.payload.count).utf8))) }
        let key = Array(letter.sourceKey.utf8)
        try key.withUnsafeBytes { k in
            _ = try producer.send(topic: deadLetterTopic, key: k, value: payload, headers: headers)
        }
    }

    public func mark() -> UInt64 { producer.lastSequence }

    public func waitUntilDurable(_ mark: UInt64, timeoutMillis: Int) -> Bool {
        producer.waitForDelivery(through: mark, timeoutMillis: timeoutMillis)
    }

    public var permanentFailure: (any Error)? { producer.permanentFailure }

    public func close() { producer.close(timeoutMillis: 10_000) }
}

/// Dead letters as JSON lines, for replay: one object per line with the source position,
/// the reason and the payload (as text when it is UTF-8, else base64).
public final class FileOutputs: OutputSink, @unchecked Sendable {
    private let deadLetters: JSONLinesSink
    // Written by the engine thread, synced by the snapshot thread.
    private let lock = ConditionLock()
    private var written: UInt64 = 0
    private var writer = JSONWriter()
    private var failure: (any Error)?

    public init(deadLettersPath: String) throws(IOError) {
        deadLetters = try JSONLinesSink(path: deadLettersPath)
    }

    public func writeDeadLetter(_ letter: DeadLetter) throws {
        try lock.withLock {
            writer.removeAll()
            writer.beginObject()
            writer.key("stream"); writer.string(letter.stream)
            writer.key("partition"); writer.int(Int64(letter.partition))
            writer.key("offset"); writer.int(letter.offset)
            writer.key("reason"); writer.string(letter.reason.category.rawValue)
            writer.key("message"); writer.string(letter.reason.message)
            let payload = Array(letter.payload.prefix(DeadLetter.maximumPayloadBytes))
            if let text = String(validating: payload, as: UTF8.self) {
                writer.key("payload"); writer.string(text)
            } else {
                writer.key("payload_base64"); writer.string(Base64.encode(payload))
            }
            if letter.payload.count > DeadLetter.maximumPayloadBytes {
                writer.key("truncated_from"); writer.int(Int64(letter.payload.count))
            }
            writer.endObject()
            do {
                try deadLetters.append(writer.bytes)
            } catch {
                // Sticky, as for Kafka: no snapshot may claim this input any more.
                if failure == nil { failure = error }
                throw error
            }
            written += 1
        }
    }

    public func mark() -> UInt64 { lock.withLock { written } }

    public func waitUntilDurable(_ mark: UInt64, timeoutMillis: Int) -> Bool {
        lock.withLock { failure == nil && (try? deadLetters.sync()) != nil }
    }

    public var permanentFailure: (any Error)? { lock.withLock { failure } }

    public func close() { lock.withLock { _ = try? deadLetters.sync() } }
}
