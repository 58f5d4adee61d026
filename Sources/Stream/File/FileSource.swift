import Common
/// A JSON-lines file read as one partition of a stream (0 unless told otherwise) whose
/// offsets are line numbers (from 0), for replay through the very pipeline that serves
/// Kafka.
///
/// It goes through the life cycle of a consumer that joins a group, reads to the end and
/// leaves: `.assigned([p])`, records from the offset the engine replies with,
/// `.revoked([p])`, `.end`. Blank lines are skipped but keep their line numbers, so an
/// offset always names the same line; a trailing CR (CRLF files) is not part of a record.
public final class FileSource: EventSource, @unchecked Sendable {
    /// One non-blank line: its number and its bytes within the file.
    public struct Line: Sendable {
        public var number: Int64
        public var range: Range<Int>
    }

    public let streamName: String
    public let partition: Int32
    private let bytes: [UInt8]
    private let lines: [Line]
    private let batchSize: Int
    private let lock = ConditionLock()
    private var cursor = 0
    private var stopped = false
    private var phase = Phase.start

    private enum Phase {
        case start
        case starting(Handoff<[Int32: Int64]>)
        case reading
        case leaving(Handoff<[Int32: Int64]>)
        case finished
    }

    /// Reads the whole file: replay inputs are bounded, and one read keeps offsets simple.
    public init(path: String, streamName: String? = nil, partition: Int32 = 0, batchSize: Int = 1000) throws(IOError) {
        let bytes = try FileIO.readAll(path)
        self.bytes = bytes
        self.partition = partition
        self.streamName = streamName ?? path
        self.batchSize = max(1, batchSize)
        self.lines = FileSource.split(bytes)
    }

    private static func split(_ bytes: [UInt8]) -> [Line] {
        var found: [Line] = []
        var start = 0
        var number: Int64 = 0
        func add(_ end: Int) {
            var e = end
            if e > start, bytes[e - 1] == 0x0D { e -= 1 }
            let blank = bytes[start..<e].allSatisfy { $0 == 0x20 || $0 == 0x09 }
            if !blank { found.append(Line(number: number, range: start..<e)) }
            number += 1
        }
        for (i, b) in bytes.enumerated() where b == 0x0A {
            add(i)
            start = i + 1
        }
        if start < bytes.count { add(bytes.count) }
        return found
    }

    /// Calls `body` with the number and bytes of every non-blank line, in order.
    public func forEachLine(_ body: (Int64, UnsafeRawBufferPointer) throws -> Void) rethrows {
        try bytes.withUnsafeBytes { raw in
            for line in lines { try body(line.number, UnsafeRawBufferPointer(rebasing: raw[line.range])) }
        }
    }

    /// Non-blank lines in the file.
    public var recordCount: Int { lines.count }

    public func next(timeoutMillis: Int) -> SourceDelivery? {
        lock.withLock {
            switch phase {
            case .start:
                let reply = Handoff<[Int32: Int64]>()
                phase = .starting(reply)
                return .assigned([partition], reply: reply)
            case .starting(let reply):
                let start = reply.take()[partition] ?? 0
                cursor = lines.firstIndex { $0.number >= start } ?? lines.count
                phase = .reading
                return readOrLeave()
            case .reading:
                return readOrLeave()
            case .leaving(let reply):
                _ = reply.take()
                phase = .finished
                return .end
            case .finished:
                return .end
            }
        }
    }

    /// A file never makes the engine wait: nothing to wake.
    public func wake() {}

    private func readOrLeave() -> SourceDelivery {
        guard !stopped, cursor < lines.count else {
            let reply = Handoff<[Int32: Int64]>()
            phase = .leaving(reply)
            return .revoked([partition], reply: reply)
        }
        let end = min(lines.count, cursor + batchSize)
        let batch = Array(lines[cursor..<end])
        cursor = end
        let byteCount = batch.reduce(0) { $0 + $1.range.count }
        return .records(RecordBatch(storage: .lines(bytes: bytes, lines: batch, partition: partition), count: batch.count, byteCount: byteCount))
    }

    public func release(_ batch: RecordBatch) {}

    public func endOffset(partition: Int32) -> Int64? {
        partition == self.partition ? (lines.last.map { $0.number + 1 } ?? 0) : nil
    }

    public func stop() {
        lock.withLock { stopped = true }
    }
}
