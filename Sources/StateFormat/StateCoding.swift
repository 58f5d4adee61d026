/// Why stored state could not be read.
public struct StateFormatError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A value that can write itself to and read itself from the binary state format.
/// Learners conform so that the engine can snapshot and restore them.
public protocol StateCodable {
    /// Bumped whenever the encoding changes; `init(from:)` may read older versions.
    static var stateVersion: UInt16 { get }
    func encode(to writer: inout StateWriter)
    init(from reader: inout StateReader, version: UInt16) throws(StateFormatError)
}

/// Appends little-endian binary fields. Learner state sorts unordered collections first,
/// so equal state gives equal bytes (replays and snapshots are compared byte for byte);
/// the decision service's reward join is the exception, see `RewardJoin.encode`.
public struct StateWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func write(_ v: UInt8) { bytes.append(v) }

    public mutating func write(_ v: UInt16) { appendLittleEndian(v) }
    public mutating func write(_ v: UInt32) { appendLittleEndian(v) }
    public mutating func write(_ v: UInt64) { appendLittleEndian(v) }
    public mutating func write(_ v: Int64) { appendLittleEndian(UInt64(bitPattern: v)) }
    public mutating func write(_ v: Int32) { appendLittleEndian(UInt32(bitPattern: v)) }
    public mutating func write(_ v: Double) { appendLittleEndian(v.bitPattern) }
    public mutating func write(_ v: Bool) { bytes.append(v ? 1 : 0) }

    /// Unsigned LEB128, for counts and lengths.
    public mutating func writeVarint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    public mutating func write(_ s: String) {
        writeVarint(UInt64(s.utf8.count))
        bytes.append(contentsOf: s.utf8)
    }

    /// Writes a nested value with its version and length, so a reader can check and skip it.
    public mutating func write<T: StateCodable>(section value: T) {
        write(T.stateVersion)
        var inner = StateWriter()
        value.encode(to: &inner)
        writeVarint(UInt64(inner.bytes.count))
        bytes.append(contentsOf: inner.bytes)
    }

    private mutating func appendLittleEndian<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }
}

/// Reads what `StateWriter` wrote, failing cleanly on truncated or inconsistent input.
public struct StateReader {
    private let bytes: [UInt8]
    public private(set) var position: Int

    public init(_ bytes: [UInt8], position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    public var isAtEnd: Bool { position == bytes.count }
    public var remaining: Int { bytes.count - position }

    private mutating func take(_ n: Int) throws(StateFormatError) -> ArraySlice<UInt8> {
        guard n >= 0, bytes.count - position >= n else {
            throw StateFormatError("truncated state: need \(n) bytes at \(position), have \(bytes.count - position)")
        }
        defer { position += n }
        return bytes[position..<(position + n)]
    }

    private mutating func readLittleEndian<T: FixedWidthInteger>(_: T.Type) throws(StateFormatError) -> T {
        let slice = try take(MemoryLayout<T>.size)
        var v: T = 0
        for (k, b) in slice.enumerated() { v |= T(b) << (8 * k) }
        return v
    }

    public mutating func readUInt8() throws(StateFormatError) -> UInt8 { try take(1).first! }
    public mutating func readUInt16() throws(StateFormatError) -> UInt16 { try readLittleEndian(UInt16.self) }
    public mutating func readUInt32() throws(StateFormatError) -> UInt32 { try readLittleEndian(UInt32.self) }
    public mutating func readUInt64() throws(StateFormatError) -> UInt64 { try readLittleEndian(UInt64.self) }
    public mutating func readInt64() throws(StateFormatError) -> Int64 { Int64(bitPattern: try readUInt64()) }
    public mutating func readInt32() throws(StateFormatError) -> Int32 { Int32(bitPattern: try readUInt32()) }
    public mutating func readDouble() throws(StateFormatError) -> Double { Double(bitPattern: try readUInt64()) }

    public mutating func readBool() throws(StateFormatError) -> Bool {
        switch try readUInt8() {
        case 0: return false
        case 1: return true
        case let b: throw StateFormatError("invalid boolean byte \(b) at \(position - 1)")
        }
    }

    public mutating func readVarint() throws(StateFormatError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try readUInt8()
            guard shift < 64 else { throw StateFormatError("varint too long at \(position)") }
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
        }
    }

    /// A count or length that must fit in what is left of the input.
    public mutating func readCount(elementSize: Int = 1) throws(StateFormatError) -> Int {
        let n = try readVarint()
        guard n <= UInt64(remaining / max(1, elementSize)) else {
            throw StateFormatError("count \(n) at \(position) exceeds the remaining \(remaining) bytes")
        }
        return Int(n)
    }

    public mutating func readString() throws(StateFormatError) -> String {
        let n = try readCount()
        let slice = try take(n)
        guard let s = String(validating: slice, as: UTF8.self) else {
            throw StateFormatError("invalid UTF-8 in string at \(position - n)")
        }
        return s
    }

    public mutating func readBytes() throws(StateFormatError) -> [UInt8] {
        Array(try take(try readCount()))
    }

    /// Reads a value written by `StateWriter.write(section:)`, checking that it consumed
    /// exactly its recorded length.
    public mutating func read<T: StateCodable>(section: T.Type) throws(StateFormatError) -> T {
        let version = try readUInt16()
        guard version <= T.stateVersion else {
            throw StateFormatError("\(T.self) state version \(version) is newer than this build reads (\(T.stateVersion))")
        }
        let length = try readCount()
        var inner = StateReader(Array(try take(length)))
        let value = try T(from: &inner, version: version)
        guard inner.isAtEnd else {
            throw StateFormatError("\(T.self) state has \(inner.remaining) unread bytes")
        }
        return value
    }
}
