import COpenBLAS
import Common
import StateFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a pricing policy needs of a demand model: learn one customer's answer to a price,
/// and say — as a posterior mean, a draw, or an interval — how likely a customer with a
/// given context is to buy at each price point.
public protocol DemandModel: Sendable, Equatable {
    var points: Int { get }
    /// Learns whether the customer quoted point `k` with `context` bought.
    mutating func learn(point k: Int, context: [Double], purchased: Bool)
    /// One joint posterior draw of the conversion at each of `points`, in their order.
    func draw(_ points: [Int], context: [Double], random: inout SeededRandom) -> [Double]
    /// The posterior mean conversion at each of `points`.
    func means(_ points: [Int], context: [Double]) -> [Double]
    /// Point k's conversion with a central interval of probability `level`.
    func conversion(_ k: Int, context: [Double], level: Double) -> Estimate
    /// This state with what every decision would compute from it computed once (a
    /// published view is read by many decisions and changes only when it is replaced).
    func prepared(level: Double) -> Self
}

extension PriceDemand: DemandModel {
    public mutating func learn(point k: Int, context: [Double], purchased: Bool) { learn(point: k, purchased: purchased) }
    public func draw(_ points: [Int], context: [Double], random: inout SeededRandom) -> [Double] { draw(points, random: &random) }
    public func means(_ points: [Int], context: [Double]) -> [Double] { means(points) }
    public func conversion(_ k: Int, context: [Double], level: Double) -> Estimate { conversion(k, level: level) }
}

/// Logit demand in price with context features: P(buy | price p, context c) =
/// σ(θ₀ + θ₁·(p − centre)/scale + θ_c·c), Bayesian logistic regression learnt online by an
/// online Newton step (the Laplace approximation carried from one customer to the next):
/// with w = σ'(mᵀx) the precision H grows by w·xxᵀ and the mean moves by H⁻¹x(y − σ(mᵀx)).
/// Every price point shares the coefficients, so what one price teaches moves the
/// neighbouring prices too — on a ladder of ten, per-point counts learn each point alone.
///
/// With a discount γ < 1 the evidence in the precision decays by γ per customer before each
/// step (the prior does not), so old customers weigh less and the model follows demand
/// that moves.
///
/// Merging two shards multiplies their Gaussian posteriors (precisions and information
/// vectors add, the prior counted once): close to a sequential run, not bit for bit, since
/// the Laplace steps depend on the order of the customers. Dense algebra through LAPACK.
public struct LogitDemand: DemandModel {
    /// The prices of the ladder's points, in currency units.
    public let prices: [Double]
    /// Context features the model weighs beside price.
    public let contextCount: Int
    /// Prior standard deviation of every coefficient.
    public let priorScale: Double
    /// Per-customer decay of the evidence (1: none).
    public let discount: Double
    let centre: Double
    let scale: Double
    /// Posterior precision (row-major, dimension²) and mean.
    public private(set) var precision: [Double] { didSet { cachedFactor = nil } }
    public private(set) var mean: [Double]
    public private(set) var outcomes: Int64 = 0
    /// The precision's Cholesky factor, kept by `prepared` for the draws of many decisions.
    private var cachedFactor: [Double]?

    public static func == (a: LogitDemand, b: LogitDemand) -> Bool {
        a.prices == b.prices && a.contextCount == b.contextCount && a.priorScale == b.priorScale && a.discount == b.discount && a.precision == b.precision
            && a.mean == b.mean
            && a.outcomes == b.outcomes
    }

    public func prepared(level: Double) -> LogitDemand {
        var p = self
        p.cachedFactor = factor()
        return p
    }

    public init(prices: [Double], contextCount: Int = 0, priorScale: Double = 3, discount: Double = 1) {
        precondition(!prices.isEmpty && priorScale > 0 && discount > 0 && discount <= 1)
        self.prices = prices
        self.contextCount = contextCount
        self.priorScale = priorScale
        self.discount = discount
        let lo = prices.min()!, hi = prices.max()!
        centre = (lo + hi) / 2
        scale = hi > lo ? (hi - lo) / 2 : max(1, abs(lo))
        let d = 2 + contextCount
        precision = [Double](repeating: 0, count: d * d)
        for i in 0..<d { precision[i * d + i] = 1 / (priorScale * priorScale) }
        mean = [Double](repeating: 0, count: d)
    }

    public var points: Int { prices.count }
    public var dimension: Int { 2 + contextCount }

    func features(_ k: Int, _ context: [Double]) -> [Double] {
        var x = [1, (prices[k] - centre) / scale]
        for i in 0..<contextCount { x.append(i < context.count ? context[i] : 0) }
        return x
    }

    func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

    /// A context value that is not finite teaches nothing (it would poison the precision).
    public mutating func learn(point k: Int, context: [Double], purchased: Bool) {
        let x = features(k, context)
        guard x.allSatisfy(\.isFinite) else { return }
        let p = sigmoid(dot(mean, x))
        let w = max(p * (1 - p), 1e-6)
        let d = dimension
        let prior = 1 / (priorScale * priorScale)
        var h = precision
        for i in 0..<d {
            for j in 0..<d {
                if discount < 1 { h[i * d + j] = i == j ? prior + discount * (h[i * d + j] - prior) : discount * h[i * d + j] }
                h[i * d + j] += w * x[i] * x[j]
            }
        }
        precision = h
        let step = solve(x)
        let residual = (purchased ? 1 : 0) - p
        for i in 0..<d { mean[i] += step[i] * residual }
        outcomes += 1
    }

    /// H⁻¹b through the Cholesky factor of the precision (LAPACK dposv).
    func solve(_ b: [Double]) -> [Double] {
        var a = precision
        var x = b
        var n = Int32(dimension), nrhs: Int32 = 1, lda = n, ldb = n, info: Int32 = 0
        var uplo = CChar(UInt8(ascii: "U"))
        a.withUnsafeMutableBufferPointer { ap in
            x.withUnsafeMutableBufferPointer { xp in dposv_(&uplo, &n, &nrhs, ap.baseAddress, &lda, xp.baseAddress, &ldb, &info, 1) }
        }
        precondition(info == 0, "the precision of a logit demand model is positive definite")
        return x
    }

    /// The upper Cholesky factor R (RᵀR = H), row-major in LAPACK's column-major view:
    /// θ = m + R⁻¹z draws from N(m, H⁻¹).
    func factor() -> [Double] {
        if let cachedFactor { return cachedFactor }
        guard let r = Self.cholesky(precision, dimension) else { preconditionFailure("the precision of a logit demand model is positive definite") }
        return r
    }

    /// The upper factor of `h` (row-major, d × d), nil when `h` is not positive definite.
    /// Row-major H is column-major Hᵀ = H; LAPACK's lower factor L (column-major) read
    /// row-major is Lᵀ = R.
    static func cholesky(_ h: [Double], _ d: Int) -> [Double]? {
        var a = h
        var n = Int32(d), lda = n, info: Int32 = 0
        var uplo = CChar(UInt8(ascii: "L"))
        a.withUnsafeMutableBufferPointer { dpotrf_(&uplo, &n, $0.baseAddress, &lda, &info, 1) }
        guard info == 0 else { return nil }
        for i in 0..<d { for j in 0..<i { a[i * d + j] = 0 } }
        return a
    }

    /// One draw of the coefficients: m + R⁻¹z, by back substitution.
    public func drawCoefficients(_ random: inout SeededRandom) -> [Double] {
        let r = factor()
        let d = dimension
        var v = (0..<d).map { _ in random.normal() }
        for i in stride(from: d - 1, through: 0, by: -1) {
            var s = v[i]
            for j in (i + 1)..<d { s -= r[i * d + j] * v[j] }
            v[i] = s / r[i * d + i]
        }
        return zip(mean, v).map { $0 + $1 }
    }

    public func draw(_ points: [Int], context: [Double], random: inout SeededRandom) -> [Double] {
        let theta = drawCoefficients(&random)
        return points.map { sigmoid(dot(theta, features($0, context))) }
    }

    /// The linear predictor's posterior mean and variance at point k.
    func predictor(_ k: Int, _ context: [Double]) -> (mean: Double, variance: Double) {
        let x = features(k, context)
        return (dot(mean, x), max(0, dot(x, solve(x))))
    }

    /// The probit approximation of E[σ(η)], η ~ N(μ, v) (MacKay 1992).
    private static func expectedSigmoid(_ mu: Double, _ v: Double) -> Double { sigmoid(mu / (1 + Double.pi * v / 8).squareRoot()) }

    public func means(_ points: [Int], context: [Double]) -> [Double] {
        points.map { k in
            let (mu, v) = predictor(k, context)
            return Self.expectedSigmoid(mu, v)
        }
    }

    public func conversion(_ k: Int, context: [Double], level: Double) -> Estimate {
        let (mu, v) = predictor(k, context)
        let z = normalQuantile(1 - (1 - level) / 2) * v.squareRoot()
        return Estimate(mean: Self.expectedSigmoid(mu, v), low: sigmoid(mu - z), high: sigmoid(mu + z))
    }

    /// Price elasticity of demand at point k under the posterior mean: (∂d/∂p)·p/d
    /// = θ₁/scale · p · (1 − d).
    public func elasticity(_ k: Int, context: [Double] = []) -> Double {
        let d = sigmoid(dot(mean, features(k, context)))
        return mean[1] / scale * prices[k] * (1 - d)
    }

    /// Adds another shard's evidence: precisions and information vectors add, the prior
    /// (counted in both) once.
    public mutating func merge(_ other: LogitDemand) {
        precondition(other.prices == prices && other.contextCount == contextCount && other.priorScale == priorScale && other.discount == discount, "demand of another model")
        let d = dimension
        let info = zip(matrixTimes(precision, mean), matrixTimes(other.precision, other.mean)).map { $0 + $1 }
        var h = zip(precision, other.precision).map { $0 + $1 }
        for i in 0..<d { h[i * d + i] -= 1 / (priorScale * priorScale) }
        precision = h
        mean = solve(info)
        outcomes += other.outcomes
    }

    private func matrixTimes(_ m: [Double], _ v: [Double]) -> [Double] {
        let d = dimension
        return (0..<d).map { i in (0..<d).reduce(0) { $0 + m[i * d + $1] * v[$1] } }
    }
}

extension LogitDemand: StateCodable {
    public static let stateVersion: UInt16 = 1

    public func encode(to w: inout StateWriter) {
        w.writeVarint(UInt64(prices.count))
        for p in prices { w.write(p) }
        w.writeVarint(UInt64(contextCount))
        w.write(priorScale)
        w.write(discount)
        w.write(outcomes)
        for v in precision { w.write(v) }
        for v in mean { w.write(v) }
    }

    public init(from r: inout StateReader, version: UInt16) throws(StateFormatError) {
        let n = try r.readCount(elementSize: 8)
        var prices: [Double] = []
        for _ in 0..<n { prices.append(try r.readDouble()) }
        let contextCount = Int(try r.readVarint())
        let priorScale = try r.readDouble()
        let discount = try r.readDouble()
        guard !prices.isEmpty, prices.allSatisfy(\.isFinite), contextCount <= 1_000, priorScale > 0, priorScale.isFinite, discount > 0, discount <= 1 else {
            throw StateFormatError("logit demand settings out of range")
        }
        self.init(prices: prices, contextCount: contextCount, priorScale: priorScale, discount: discount)
        outcomes = try r.readInt64()
        for i in precision.indices { precision[i] = try r.readDouble() }
        for i in mean.indices { mean[i] = try r.readDouble() }
        guard precision.allSatisfy(\.isFinite), mean.allSatisfy(\.isFinite), outcomes >= 0, Self.cholesky(precision, dimension) != nil else {
            throw StateFormatError("logit demand state out of range (a precision must be finite and positive definite)")
        }
    }
}

func sigmoid(_ x: Double) -> Double { x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)) }
