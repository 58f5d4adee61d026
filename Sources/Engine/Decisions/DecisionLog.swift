import Common
import Stream
import Synchronization

/// Where decision records go: the events topic itself (in the partition of the user, so
/// that the decision and its rewards meet in one partition's state), or a JSON-lines
/// file (replay, tests, a laptop without Kafka).
public protocol DecisionLog: AnyObject, Sendable {
    /// Queues one record keyed by `key` for `partition` (nil: placed by the key); throws
    /// when it cannot be accepted (the decision is then refused). The ticket says when
    /// the record is durable.
    func append(partition: Int32?, key: [UInt8], record: [UInt8]) throws -> DecisionLogTicket
    /// Waits until every record appended so far is durable; false on timeout or failure.
    func flush(timeoutMillis: Int) -> Bool
}

/// One appended record, awaitable until the log has it durably.
public struct DecisionLogTicket: Sendable {
    private let wait: @Sendable () async -> Bool

    public init(_ wait: @escaping @Sendable () async -> Bool) { self.wait = wait }

    /// A record that is durable as soon as it is appended.
    public static let durable = DecisionLogTicket { true }

    /// True once the record is durable, false if it never will be.
    public func durable() async -> Bool { await wait() }
}

/// Decision records to a Kafka topic (the events topic) through an idempotent producer.
public final class KafkaDecisionLog: DecisionLog {
    public let producer: KafkaProducer
    public let topic: String

    public init(producer: KafkaProducer, topic: String) {
        self.producer = producer
        self.topic = topic
    }

    public func append(partition: Int32?, key: [UInt8], record: [UInt8]) throws -> DecisionLogTicket {
        if let failure = producer.permanentFailure { throw failure }
        let sequence = try producer.send(topic: topic, partition: partition, key: key, value: record)
        let producer = producer
        return DecisionLogTicket { await producer.delivered(sequence) }
    }

    public func flush(timeoutMillis: Int) -> Bool {
        producer.waitForDelivery(through: producer.lastSequence, timeoutMillis: timeoutMillis)
    }
}

/// Decision records as JSON lines in a file.
public final class FileDecisionLog: DecisionLog {
    private let sink: Mutex<JSONLinesSink>

    public init(path: String) throws(IOError) {
        sink = Mutex(try JSONLinesSink(path: path))
    }

    public func append(partition: Int32?, key: [UInt8], record: [UInt8]) throws -> DecisionLogTicket {
        try sink.withLock { sink throws in try sink.append(record) }
        return .durable
    }

    public func flush(timeoutMillis: Int) -> Bool {
        sink.withLock { sink in (try? sink.sync()) != nil }
    }
}
