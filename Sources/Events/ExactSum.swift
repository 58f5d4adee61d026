import StateFormat

/// A sum of doubles that does not depend on the order of its terms.
///
/// Each term is rounded to a multiple of 2⁻⁶⁴ and added as a 128-bit integer, so the sum
/// is exact over those rounded terms: shards summed in any order and merged give the same
/// bits as one sequential pass. Terms must lie within ±2⁶² (the codec bounds them far
/// below that).
public struct ExactSum: Sendable, Hashable {
    private var scaled: Int128 = 0
    private static let scale = 0x1p64

    public init() {}

    public mutating func add(_ x: Double) {
        precondition(abs(x) < 0x1p62, "ExactSum term out of range")
        scaled += Int128(x * ExactSum.scale)
    }

    public mutating func add(_ other: ExactSum) { scaled += other.scaled }

    public var value: Double {
        let high = Double(Int64(truncatingIfNeeded: scaled >> 64))
        let low = Double(UInt64(truncatingIfNeeded: scaled))
        return high + low / ExactSum.scale
    }

    public func encode(to w: inout StateWriter) {
        w.write(UInt64(truncatingIfNeeded: scaled >> 64))
        w.write(UInt64(truncatingIfNeeded: scaled))
    }

    public init(from r: inout StateReader) throws(StateFormatError) {
        let high = try r.readUInt64()
        let low = try r.readUInt64()
        scaled = Int128(Int64(bitPattern: high)) << 64 | Int128(low)
    }
}
