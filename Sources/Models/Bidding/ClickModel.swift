import Common
import StateFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The probability of a click (or a conversion) given a request's features: logistic
/// regression on hashed binary features, learnt online by FTRL-proximal (McMahan et al.,
/// KDD 2013) with L1 and L2 penalties, per-coordinate learning rates, and a base rate
/// the model starts from (so a campaign bids sensibly before its first outcome).
///
/// Features are `name=value` strings hashed (FNV-1a) into `buckets` coordinates; only
/// coordinates that have seen a gradient are stored, so memory is bounded by `buckets`
/// and in practice by the features that occur.
///
/// Merge law: a shard's (z, n) are sums over its examples of gradient terms, and merging
/// adds them. That is the state of one sequential run whose gradients were taken at each
/// shard's own weights — close to, not bit-equal with, a sequential run (the same
/// exception as logit demand). Encodings are canonical (coordinates in order).
public struct ClickModel: Sendable, Equatable {
    public struct Settings: Sendable, Equatable {
        public var alpha: Double
        public var beta: Double
        public var l1: Double
        public var l2: Double
        /// The rate predicted before any outcome: the intercept's offset.
        public var baseRate: Double
        public var buckets: UInt32

        public init(alpha: Double = 0.1, beta: Double = 1, l1: Double = 1, l2: Double = 1, baseRate: Double = 0.002, buckets: UInt32 = 1 << 18) {
            self.alpha = alpha
            self.beta = beta
            self.l1 = l1
            self.l2 = l2
            self.baseRate = baseRate
            self.buckets = buckets
        }
    }

    public let settings: Settings
    /// Per coordinate: z (gradients less the proximal terms) and n (squared gradients).
    private(set) var z: [UInt32: Double] = [:]
    private(set) var n: [UInt32: Double] = [:]
    public private(set) var examples: Int64 = 0
    public private(set) var positives: Int64 = 0

    public init(settings: Settings = Settings()) {
        self.settings = settings
    }

    /// The coordinate of a feature; the intercept is feature "".
    public func index(_ feature: String) -> UInt32 { index(hash: Self.hash(feature)) }

    /// The coordinate of a feature hashed by `hash`.
    public func index(hash h: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: h % UInt64(settings.buckets)) }

    /// FNV-1a of `s`'s UTF-8, continuing from `h` (the hash of a prefix), so a caller can
    /// hash `prefix + s` without making the string.
    public static func hash(_ s: String, from h: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
        func fold(_ bytes: some Sequence<UInt8>) -> UInt64 {
            var h = h
            for b in bytes {
                h ^= UInt64(b)
                h &*= 0x100_0000_01b3
            }
            return h
        }
        return s.utf8.withContiguousStorageIfAvailable(fold) ?? fold(s.utf8)
    }

    /// The coordinates of `features` with the intercept first.
    public func indices(_ features: [String]) -> [UInt32] {
        [index("")] + features.map(index)
    }

    /// The coordinates of features hashed by `hash`, with the intercept first.
    public func indices(hashes: [UInt64]) -> [UInt32] {
        [index("")] + hashes.map { index(hash: $0) }
    }

    private var offset: Double { log(settings.baseRate / (1 - settings.baseRate)) }

    /// The weight of coordinate `i`: 0 within the L1 threshold (so most stay 0).
    @inline(__always)
    func weight(_ i: UInt32) -> Double {
        guard let zi = z[i], abs(zi) > settings.l1 else { return 0 }
        let ni = n[i] ?? 0
        return -(zi - (zi < 0 ? -settings.l1 : settings.l1)) / ((settings.beta + ni.squareRoot()) / settings.alpha + settings.l2)
    }

    public func probability(_ indices: [UInt32]) -> Double {
        var m = offset
        for i in indices { m += weight(i) }
        return 1 / (1 + exp(-m))
    }

    /// One example: the features of an impression and whether it was clicked.
    public mutating func learn(_ indices: [UInt32], positive: Bool) {
        let p = probability(indices)
        let g = p - (positive ? 1 : 0)
        for i in indices {
            let ni = n[i] ?? 0
            let sigma = ((ni + g * g).squareRoot() - ni.squareRoot()) / settings.alpha
            z[i, default: 0] += g - sigma * weight(i)
            n[i] = ni + g * g
        }
        examples += 1
        if positive { positives += 1 }
    }

    public mutating func merge(_ other: ClickModel) {
        for (i, v) in other.z { z[i, default: 0] += v }
        for (i, v) in other.n { n[i, default: 0] += v }
        examples += other.examples
        positives += other.positives
    }

    /// The weights that are not 0, for serving: a lookup per coordinate instead of the
    /// threshold arithmetic.
    public func prepared() -> Weights {
        var w: [(UInt32, Double)] = []
        for i in z.keys {
            let x = weight(i)
            if x != 0 { w.append((i, x)) }
        }
        return Weights(offset: offset, weights: WeightTable(w), buckets: settings.buckets)
    }

    /// A model's weights frozen for decisions.
    public struct Weights: Sendable {
        public let offset: Double
        let weights: WeightTable
        let buckets: UInt32
        public func index(_ feature: String) -> UInt32 { index(hash: ClickModel.hash(feature)) }
        public func index(hash h: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: h % UInt64(buckets)) }
        public func margin(_ indices: [UInt32]) -> Double {
            var m = 0.0
            for i in indices { m += weights[i] }
            return m
        }
        /// The weight of the feature hashed `h`.
        public func weight(of h: UInt64) -> Double { weights[index(hash: h)] }
        public func probability(margin: Double) -> Double { 1 / (1 + exp(-(offset + margin))) }
        public var nonZero: Int { weights.count }
    }

    /// The non-zero weights for serving, in an open-addressing table keyed by coordinate:
    /// a multiply and a probe or two per lookup, where a dictionary would hash each key
    /// with SipHash on the path of every bid.
    struct WeightTable: Sendable {
        /// `empty` marks a free slot: no coordinate reaches it (coordinates are below
        /// `buckets`, itself a `UInt32`).
        private static let empty = UInt32.max
        private let keys: [UInt32]
        private let values: [Double]
        private let mask: Int
        let count: Int

        init(_ weights: [(UInt32, Double)]) {
            var capacity = 16
            while capacity < 2 * weights.count { capacity *= 2 }
            var k = [UInt32](repeating: Self.empty, count: capacity), v = [Double](repeating: 0, count: capacity)
            let mask = capacity - 1
            for (key, value) in weights {
                var slot = Self.slot(key, mask)
                while k[slot] != Self.empty { slot = (slot + 1) & mask }
                k[slot] = key
                v[slot] = value
            }
            (keys, values, self.mask, count) = (k, v, mask, weights.count)
        }

        /// Fibonacci hashing: the high bits of the key times 2⁶⁴/φ.
        private static func slot(_ key: UInt32, _ mask: Int) -> Int { Int(truncatingIfNeeded: (UInt64(key) &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask }

        /// The weight of coordinate `key`, 0 when it has none.
        subscript(key: UInt32) -> Double {
            var slot = Self.slot(key, mask)
            while true {
                let k = keys[slot]
                if k == key { return values[slot] }
                if k == Self.empty { return 0 }
                slot = (slot + 1) & mask
            }
        }
    }

    // MARK: State

    func encode(to w: inout StateWriter) {
        w.write(settings.alpha)
        w.write(settings.beta)
        w.write(settings.l1)
        w.write(settings.l2)
        w.write(settings.baseRate)
        w.write(settings.buckets)
        w.write(examples)
        w.write(positives)
        let keys = z.keys.sorted()
        w.writeVarint(UInt64(keys.count))
        for k in keys {
            w.write(k)
            w.write(z[k]!)
            w.write(n[k] ?? 0)
        }
    }

    init(from r: inout StateReader) throws(StateFormatError) {
        let s = Settings(
            alpha: try r.readDouble(), beta: try r.readDouble(), l1: try r.readDouble(), l2: try r.readDouble(), baseRate: try r.readDouble(),
            buckets: try r.readUInt32())
        guard s.baseRate > 0, s.baseRate < 1, s.buckets > 0, s.alpha > 0 else { throw StateFormatError("click model: settings out of range") }
        settings = s
        examples = try r.readInt64()
        positives = try r.readInt64()
        for _ in 0..<(try r.readCount(elementSize: 20)) {
            let k = try r.readUInt32()
            z[k] = try r.readDouble()
            n[k] = try r.readDouble()
        }
    }

    /// The same coordinates under new settings: kept when the hashing is the same (the
    /// rates and penalties apply from now on), else started afresh.
    func adopting(_ fresh: Settings) -> ClickModel {
        guard fresh.buckets == settings.buckets else { return ClickModel(settings: fresh) }
        var m = ClickModel(settings: fresh)
        m.z = z
        m.n = n
        m.examples = examples
        m.positives = positives
        return m
    }
}
