import StateFormat

/// A sum of doubles that does not depend on the order of its terms.
///
/// Each term is rounded to a multiple of 2⁻⁴⁰ (about 10⁻¹²) and added as a 128-bit
/// integer, so the sum is exact over those rounded terms: shards summed in any order and
/// merged give the same bits as one sequential pass. The codec bounds terms to ±10¹²
/// (< 2⁴⁰), so 2⁴⁷ terms of the largest size fit; beyond that the sum saturates rather
/// than trapping, so that no input can crash the engine.
public struct ExactSum: Sendable, Hashable {
    @usableFromInline var scaled: Int128 = 0
    @usableFromInline static let scale = 0x1p40
    @usableFromInline static let largestTerm = 0x1p40

    public init() {}

    @inlinable public mutating func add(_ x: Double) {
        // The usual term, |x| < 2²³: x · 2⁴⁰ is exact (a power of two) and fits an Int64,
        // and its truncation is the same integer the two halves below give.
        if abs(x) < 0x1p23 {
            add(scaled: Int128(Int64(x * ExactSum.scale)))
            return
        }
        guard x.isFinite else { return }
        let clamped = max(-ExactSum.largestTerm, min(ExactSum.largestTerm, x))
        // trunc(clamped · 2⁴⁰), computed through Int64 halves: converting a Double to
        // Int128 directly is far slower. Both parts truncate toward zero, like the whole.
        let whole = clamped.rounded(.towardZero)
        let fraction = Int64((clamped - whole) * ExactSum.scale)
        add(scaled: Int128(Int64(whole)) << 40 + Int128(fraction))
    }

    @inlinable public mutating func add(_ other: ExactSum) { add(scaled: other.scaled) }

    /// `roundedScaledTerm` takes terms below this in magnitude.
    public static let roundedTermBound = 0x1p11

    /// x · 2⁴⁰ rounded to the nearest integer, for |x| < `roundedTermBound`: the sum of
    /// x and 1.5 · 2¹² lies in a binade whose spacing is 2⁻⁴⁰, so its bits minus those of
    /// 1.5 · 2¹² are that integer. One add and no range check, so that a learner adding
    /// many terms per event sums them in 64-bit integers (then `add(scaledSum:)`) in a
    /// loop the compiler vectorises, instead of saturating 128-bit adds. It rounds to
    /// nearest where `add(_:)` truncates: each term's rounding is still a function of the
    /// term alone, so sums stay independent of order and sharding.
    @inlinable public static func roundedScaledTerm(_ x: Double) -> Int64 {
        Int64(bitPattern: (x + 0x1.8p12).bitPattern) &- Int64(bitPattern: (0x1.8p12 as Double).bitPattern)
    }

    /// Adds a sum of `roundedScaledTerm` integers.
    @inlinable public mutating func add(scaledSum: Int64) { add(scaled: Int128(scaledSum)) }

    @inlinable mutating func add(scaled term: Int128) {
        let (sum, overflow) = scaled.addingReportingOverflow(term)
        scaled = overflow ? (term > 0 ? .max : .min) : sum
    }

    @inlinable public var value: Double {
        // Through Int64 when it fits (|value| < 2²³, the usual case): converting an Int128
        // to a Double goes through the standard library's generic path, which led the
        // profile of every learner that reads its sums. Beyond, the two halves: rounded
        // twice, still the same bits on every machine.
        if let small = Int64(exactly: scaled) { return Double(small) / ExactSum.scale }
        let high = Int64(truncatingIfNeeded: scaled >> 64)
        let low = UInt64(truncatingIfNeeded: scaled)
        return (Double(high) * 0x1p64 + Double(low)) / ExactSum.scale
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
