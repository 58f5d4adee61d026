import Common
import Synchronization
import Stream

/// Where decision records go: the decisions topic, or a JSON-lines file. Records are
/// keyed by user, like events, so a user's decisions and rewards share a partition.
public protocol DecisionLog: AnyObject, Sendable {
    /// Queues one record; throws when it cannot be accepted (the decision is then refused).
    func append(key: [UInt8], record: [UInt8]) throws
    /// Waits until every record appended so far is durable; false on timeout or failure.
    func flush(timeoutMillis: Int) -> Bool
}

/// Decision records to a Kafka topic through the engine's idempotent producer.
public final class KafkaDecisionLog: DecisionLog {
    public let producer: KafkaProducer
    public let topic: String

    public init(producer: KafkaProducer, topic: String) {
        self.producer = producer
        self.topic = topic
    }

    public func append(key: [UInt8], record: [UInt8]) throws {
        if let failure = producer.permanentFailure { throw failure }
        try producer.send(topic: topic, key: key, value: record)
    }

    public func flush(timeoutMillis: Int) -> Bool {
        producer.waitForDelivery(through: producer.lastSequence, timeoutMillis: timeoutMillis)
    }
}

/// Decision records as JSON lines in a file (replay, tests, a laptop without Kafka).
public final class FileDecisionLog: DecisionLog {
    private let sink: Mutex<JSONLinesSink>

    public init(path: String) throws(IOError) {
        sink = Mutex(try JSONLinesSink(path: path))
    }

    public func append(key: [UInt8], record: [UInt8]) throws {
        try sink.withLock { sink throws in try sink.append(record) }
    }

    public func flush(timeoutMillis: Int) -> Bool {
        sink.withLock { sink in (try? sink.sync()) != nil }
    }
}
