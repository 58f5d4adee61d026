import CRdKafka
import Common

/// One message from a source: its position and its bytes. The buffers are valid only
/// inside the `RecordBatch.forEach` call that yields them.
public struct Record {
    public var partition: Int32
    public var offset: Int64
    public var key: UnsafeRawBufferPointer
    public var value: UnsafeRawBufferPointer
    /// The Kafka message, for reading its timestamp and headers on demand.
    var message: UnsafeMutablePointer<rd_kafka_message_t>?

    /// The broker's timestamp in epoch milliseconds, when the record has one.
    public var timestamp: Int64? {
        guard let message else { return nil }
        var kind = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let ts = rd_kafka_message_timestamp(message, &kind)
        return kind == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : ts
    }

    /// The value of the last header called `name`, if the record has one.
    public func header(_ name: String) -> [UInt8]? {
        guard let message else { return nil }
        var headers: OpaquePointer?
        guard rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, let headers else { return nil }
        var value: UnsafeRawPointer?
        var size = 0
        guard rd_kafka_header_get_last(headers, name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        guard let value else { return [] }
        return Array(UnsafeRawBufferPointer(start: value, count: size))
    }
}

/// Records in source order (per partition, offsets increase). A batch holds the memory of
/// its records until the source's `release` is called.
public final class RecordBatch: @unchecked Sendable {
    enum Storage {
        case kafka([UnsafeMutablePointer<rd_kafka_message_t>])
        case lines(bytes: [UInt8], lines: [FileSource.Line], partition: Int32)
    }

    let storage: Storage
    public let count: Int
    public let byteCount: Int

    init(storage: Storage, count: Int, byteCount: Int) {
        self.storage = storage
        self.count = count
        self.byteCount = byteCount
    }

    public func forEach(_ body: (Record) -> Void) {
        switch storage {
        case .kafka(let messages):
            for m in messages {
                let msg = m.pointee
                body(Record(
                    partition: msg.partition, offset: msg.offset,
                    key: UnsafeRawBufferPointer(start: msg.key, count: msg.key == nil ? 0 : msg.key_len),
                    value: UnsafeRawBufferPointer(start: msg.payload, count: msg.payload == nil ? 0 : msg.len),
                    message: m))
            }
        case .lines(let bytes, let lines, let partition):
            bytes.withUnsafeBytes { raw in
                for line in lines {
                    body(Record(
                        partition: partition, offset: line.number,
                        key: UnsafeRawBufferPointer(start: nil, count: 0),
                        value: UnsafeRawBufferPointer(rebasing: raw[line.range]),
                        message: nil))
                }
            }
        }
    }
}

/// What a source hands the engine thread, in order. Partition changes travel in the
/// same queue as records, so every record delivered before a revocation is applied
/// before the revocation is handled.
public enum SourceDelivery {
    case records(RecordBatch)
    /// The partitions are now the engine's. The engine restores their state and replies
    /// with the offset to resume each from; a partition missing from the reply starts at
    /// the beginning of the log.
    case assigned([Int32], reply: Handoff<[Int32: Int64]>)
    /// The partitions are leaving. The engine makes their state durable, drops it, and
    /// replies with the offsets to commit (the next offset to read, per partition).
    case revoked([Int32], reply: Handoff<[Int32: Int64]>)
    /// The source has nothing more (end of file, or the consumer was closed).
    case end
}

/// A source of records for the engine thread: a Kafka consumer group or a file.
public protocol EventSource: AnyObject, Sendable {
    /// Names the stream (the topic, or the file) in snapshots and dead letters.
    var streamName: String { get }
    /// Waits up to `timeoutMillis` for the next delivery.
    func next(timeoutMillis: Int) -> SourceDelivery?
    /// Ends a wait of `next` that finds nothing delivered now (it returns nil): the engine
    /// has a read of partition state to answer.
    func wake()
    /// Returns a processed batch's memory.
    func release(_ batch: RecordBatch)
    /// Asks the source to wind down; it revokes its partitions and then delivers `.end`.
    func stop()
    /// The offset after the last record of `partition` as last seen, for lag.
    func endOffset(partition: Int32) -> Int64?
}
