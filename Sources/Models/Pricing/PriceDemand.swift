import Bandits
import Common
import StateFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A posterior estimate with its central credible interval.
public struct Estimate: Sendable, Equatable {
    public var mean: Double
    public var low: Double
    public var high: Double

    public init(mean: Double, low: Double, high: Double) {
        self.mean = mean
        self.low = low
        self.high = high
    }

    /// The estimate times `factor` (≥ 0): conversion into revenue or margin.
    public func scaled(_ factor: Double) -> Estimate {
        factor >= 0 ? Estimate(mean: mean * factor, low: low * factor, high: high * factor)
            : Estimate(mean: mean * factor, low: high * factor, high: low * factor)
    }
}

/// Conversion per price point, Beta–Bernoulli: every customer quoted point k either buys
/// (1) or not (0), and point k's conversion has posterior Beta(1 + purchases, 1 + quotes
/// − purchases). The counts are `RewardCounts`, the bandits' estimator: exact sums, so
/// shards merge to the sequential state bit for bit; with a discount γ < 1 every
/// observation's weight decays by γ per quote of the product (any point), which is how
/// the policy follows demand that moves.
///
/// Credible intervals cost a few evaluations of the incomplete beta function each; a
/// state that many decisions read (a published view) computes them once (`prepared`),
/// and learning drops them.
public struct PriceDemand: Sendable, Equatable {
    public private(set) var counts: RewardCounts { didSet { intervals = nil } }
    private let noPriors: [ArmPrior]
    private var intervals: (level: Double, estimates: [Estimate])?

    public static func == (a: PriceDemand, b: PriceDemand) -> Bool { a.counts == b.counts }

    /// This state with every point's interval of probability `level` computed, for the
    /// decisions that read it.
    public func prepared(level: Double) -> PriceDemand {
        var p = self
        p.intervals = (level, (0..<points).map { computeConversion($0, level: level) })
        return p
    }

    public init(points: Int, discount: Double = 1) {
        var c = RewardCounts(discount: discount, clipsRewards: true)
        for _ in 0..<points { _ = c.addArm() }
        counts = c
        noPriors = [ArmPrior](repeating: .none, count: points)
    }

    public var points: Int { counts.armCount }
    public var discount: Double { counts.discount }
    /// Outcomes learnt.
    public var outcomes: Int64 { counts.updates }

    /// Learns whether the customer quoted point `k` bought.
    public mutating func learn(point k: Int, purchased: Bool) {
        counts.learn(arm: k, features: [], reward: purchased ? 1 : 0, propensity: 1)
    }

    /// Adds another shard's outcomes for the same ladder.
    public mutating func merge(_ other: PriceDemand) {
        precondition(other.points == points && other.discount == discount, "demand of another ladder")
        counts.merge(other.counts, arms: Array(0..<points))
    }

    /// Point k's (discounted) quotes and purchases.
    public func observations(_ k: Int) -> (quotes: Double, purchases: Double) {
        let m = counts.moments(k, prior: .none)
        return (m.n, m.n * m.mean)
    }

    /// Point k's posterior conversion: mean and central interval of probability `level`.
    public func conversion(_ k: Int, level: Double = 0.9) -> Estimate {
        if let intervals, intervals.level == level { return intervals.estimates[k] }
        return computeConversion(k, level: level)
    }

    private func computeConversion(_ k: Int, level: Double) -> Estimate {
        let (n, s) = observations(k)
        let a = 1 + s, b = 1 + n - s
        let tail = (1 - level) / 2
        return Estimate(mean: a / (a + b), low: BetaDistribution.quantile(tail, a, b), high: BetaDistribution.quantile(1 - tail, a, b))
    }

    /// One posterior draw of the conversion of each of `points`, in their order.
    public func draw(_ points: [Int], random: inout SeededRandom) -> [Double] {
        counts.draw(DecisionInput(eligible: points), priors: noPriors, posterior: .beta, random: &random)!
    }

    /// The posterior means of `points`, in their order.
    public func means(_ points: [Int]) -> [Double] {
        points.map { k in
            let (n, s) = observations(k)
            return (1 + s) / (2 + n)
        }
    }
}

extension PriceDemand: StateCodable {
    public static let stateVersion: UInt16 = 1

    public func encode(to w: inout StateWriter) { w.write(section: counts) }

    public init(from r: inout StateReader, version: UInt16) throws(StateFormatError) {
        let c = try r.read(section: RewardCounts.self)
        guard c.clipsRewards else { throw StateFormatError("price demand counts must be Bernoulli") }
        counts = c
        noPriors = [ArmPrior](repeating: .none, count: c.armCount)
    }
}

/// The Beta distribution's quantiles, for credible intervals of conversion rates.
public enum BetaDistribution {
    /// The regularised incomplete beta function I_x(a, b), by its continued fraction
    /// (modified Lentz), through the symmetry I_x(a, b) = 1 − I_{1−x}(b, a) where that
    /// converges faster.
    public static func cdf(_ x: Double, _ a: Double, _ b: Double) -> Double {
        cdf(x, a, b, logB: lgamma(a) + lgamma(b) - lgamma(a + b))
    }

    static func cdf(_ x: Double, _ a: Double, _ b: Double, logB: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let front = exp(a * log(x) + b * log(1 - x) - logB)
        if x < (a + 1) / (a + b + 2) { return front * fraction(x, a, b) / a }
        return 1 - front * fraction(1 - x, b, a) / b
    }

    private static func fraction(_ x: Double, _ a: Double, _ b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...300 {
            let m = Double(m)
            let even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 + even * d
            if abs(d) < tiny { d = tiny }
            c = 1 + even / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            let odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 + odd * d
            if abs(d) < tiny { d = tiny }
            c = 1 + odd / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let step = d * c
            h *= step
            if abs(step - 1) < 1e-12 { break }
        }
        return h
    }

    /// The p-quantile: Newton's method on the distribution function from the normal
    /// approximation, kept inside a bracket that every step narrows (a step leaving it
    /// bisects instead), to 10⁻¹⁰ — two or three evaluations of the continued fraction.
    public static func quantile(_ p: Double, _ a: Double, _ b: Double) -> Double {
        if p <= 0 { return 0 }
        if p >= 1 { return 1 }
        let logB = lgamma(a) + lgamma(b) - lgamma(a + b)
        var low = 0.0, high = 1.0
        let n = a + b
        let sd = (a * b / (n * n * (n + 1))).squareRoot()
        var x = min(1 - 1e-9, max(1e-9, a / n + normalQuantile(p) * sd))
        for _ in 0..<100 {
            let f = cdf(x, a, b, logB: logB) - p
            if f < 0 { low = x } else { high = x }
            let density = exp((a - 1) * log(x) + (b - 1) * log(1 - x) - logB)
            var next = x - f / density
            if !(next > low && next < high) || !density.isFinite || density == 0 { next = (low + high) / 2 }
            if abs(next - x) < 1e-10 || high - low < 1e-15 { return next }
            x = next
        }
        return x
    }
}
