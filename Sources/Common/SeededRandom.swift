/// A fast deterministic generator (xoshiro256**), seeded from a decision id so that a
/// replay of the same decisions draws the same numbers.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// Seeds the four words from `seed` through SplitMix64, as the xoshiro authors advise.
    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix()
        s1 = splitMix()
        s2 = splitMix()
        s3 = splitMix()
    }

    /// Seeds from a decision id (FNV-1a of its UTF-8) mixed with a policy-specific salt,
    /// so that two policies deciding the same id draw independently.
    public init(decisionID: String, salt: UInt64 = 0) {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in decisionID.utf8 {
            h ^= UInt64(b)
            h &*= 0x0000_0100_0000_01B3
        }
        self.init(seed: h ^ salt)
    }

    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func unit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// Standard normal (Marsaglia's polar method; the spare value is discarded so that a
    /// draw's result never depends on an earlier call).
    public mutating func normal() -> Double {
        while true {
            let u = 2 * unit() - 1
            let v = 2 * unit() - 1
            let s = u * u + v * v
            if s > 0, s < 1 { return u * (-2 * log(s) / s).squareRoot() }
        }
    }

    /// Standard normal by the ziggurat method (Marsaglia and Tsang 2000, in Doornik's
    /// 128-layer form, 2005): one 64-bit draw and no logarithm for 98.8 % of draws, where
    /// the polar method takes two draws, a logarithm and a square root. What Gamma draws
    /// (and through them Beta draws, Thompson sampling's) use.
    public mutating func zigguratNormal() -> Double {
        let z = Ziggurat.table
        while true {
            let bits = next()
            let u = Double(bits >> 11) * 0x1p-52 - 1  // uniform in [-1, 1)
            let i = Int(bits & 0x7F)
            if abs(u) < z.ratio[i] { return u * z.x[i] }
            if i == 0 {
                // The base layer's tail beyond R (Marsaglia 1964).
                var x: Double, y: Double
                repeat {
                    x = log(1 - unit()) / Ziggurat.r
                    y = log(1 - unit())
                } while -2 * y < x * x
                return u < 0 ? x - Ziggurat.r : Ziggurat.r - x
            }
            // The wedge between layers i and i + 1.
            let x = u * z.x[i]
            let f0 = exp(-0.5 * (z.x[i] * z.x[i] - x * x))
            let f1 = exp(-0.5 * (z.x[i + 1] * z.x[i + 1] - x * x))
            if f1 + unit() * (f0 - f1) < 1 { return x }
        }
    }

    /// Gamma(shape, 1) by Marsaglia and Tsang (2000); shapes below 1 use the boost
    /// Gamma(a) = Gamma(a + 1) · U^(1/a).
    public mutating func gamma(shape: Double) -> Double {
        if shape < 1 {
            return gamma(shape: shape + 1) * pow(max(unit(), .leastNonzeroMagnitude), 1 / shape)
        }
        let d = shape - 1.0 / 3
        let c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double
            var v: Double
            repeat {
                x = zigguratNormal()
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = unit()
            if u < 1 - 0.0331 * x * x * x * x { return d * v }
            if log(max(u, .leastNonzeroMagnitude)) < 0.5 * x * x + d * (1 - v + log(v)) { return d * v }
        }
    }

    /// Beta(a, b) as a ratio of gammas.
    public mutating func beta(_ a: Double, _ b: Double) -> Double {
        let x = gamma(shape: a)
        let y = gamma(shape: b)
        return x / (x + y)
    }
}

/// The ziggurat's layers for the standard normal density f(x) = exp(−x²/2): 128 layers of
/// equal area V, the base one holding the tail beyond R.
enum Ziggurat {
    static let r = 3.442619855899
    static let area = 9.91256303526217e-3
    /// x[i], the layers' right edges (x[0] = V / f(R), the base's equivalent width;
    /// x[128] = 0), and x[i + 1] / x[i], below which a draw is inside the layer's box.
    struct Table: Sendable {
        var x: [Double]
        var ratio: [Double]
    }
    static let table: Table = {
        var x = [Double](repeating: 0, count: 129)
        var f = exp(-0.5 * r * r)
        x[0] = area / f
        x[1] = r
        for i in 2..<128 {
            x[i] = (-2 * log(area / x[i - 1] + f)).squareRoot()
            f = exp(-0.5 * x[i] * x[i])
        }
        x[128] = 0
        return Table(x: x, ratio: (0..<128).map { x[$0 + 1] / x[$0] })
    }()
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
