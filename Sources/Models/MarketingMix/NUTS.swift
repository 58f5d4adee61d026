import Common
import Foundation

/// A log density (up to a constant) with its gradient: what the sampler needs.
public protocol LogDensityGradient {
    var dimension: Int { get }
    /// The log density at `q`; writes its gradient into `gradient`.
    mutating func evaluate(_ q: [Double], gradient: inout [Double]) -> Double
}

/// The No-U-Turn sampler with multinomial trajectory sampling (Betancourt 2017, as in
/// Stan): the trajectory doubles in a random direction until it turns back on itself
/// (the generalised criterion, checked across every merge of subtrees, also between
/// their halves) or reaches `maxDepth`; the draw is taken from the whole trajectory in
/// proportion to exp(−H), progressively. Warm-up adapts the step size by dual averaging
/// towards `targetAcceptance` and the metric (inverse mass matrix) from the draws'
/// covariance, or only their variances with `denseMetric` off, in windows that double
/// (75 / 25… / 50 iterations for 1,000, as Stan). A dense metric costs d² per leapfrog
/// step instead of d, and removes linear correlations between coordinates — in a
/// marketing-mix model the intercept trades off against every channel's baseline.
public struct NUTSSettings: Sendable, Equatable {
    public var warmup = 1000
    public var draws = 1000
    public var maxDepth = 10
    public var targetAcceptance = 0.8
    public var denseMetric = true

    public init(warmup: Int = 1000, draws: Int = 1000, maxDepth: Int = 10, targetAcceptance: Double = 0.8, denseMetric: Bool = true) {
        self.warmup = warmup
        self.draws = draws
        self.maxDepth = maxDepth
        self.targetAcceptance = targetAcceptance
        self.denseMetric = denseMetric
    }
}

/// One chain's output.
public struct ChainDraws: Sendable {
    /// [draw][coordinate], flattened (post-warm-up draws only).
    public var draws: [Double]
    public var dimension: Int
    /// Per post-warm-up draw, whether its transition diverged (where divergences
    /// cluster shows where the geometry is hard).
    public var divergent: [Bool]
    public var divergences: Int { divergent.filter { $0 }.count }
    /// Post-warm-up transitions that stopped at the maximum tree depth.
    public var maxDepthHits: Int
    public var stepSize: Double
    /// The adapted metric's diagonal: the posterior variances warm-up found.
    public var inverseMass: [Double]
    public var meanAcceptance: Double
    public var gradientEvaluations: Int

    public var count: Int { dimension == 0 ? 0 : draws.count / dimension }
    public func value(_ draw: Int, _ coordinate: Int) -> Double { draws[draw * dimension + coordinate] }
    /// Draw `draw`'s coordinates.
    public func point(_ draw: Int) -> [Double] { Array(draws[(draw * dimension)..<((draw + 1) * dimension)]) }
}

public struct NUTSSampler<Target: LogDensityGradient> {
    private struct Point {
        var q: [Double]
        var p: [Double]
        var g: [Double]
        var logp: Double
    }

    /// A stretch of trajectory in time order: its first and last momenta (and their
    /// mass-scaled versions) and the sum of its momenta.
    private struct Span {
        var firstP: [Double]
        var firstSharp: [Double]
        var lastP: [Double]
        var lastSharp: [Double]
        var rho: [Double]
    }

    private struct Subtree {
        var span: Span
        var proposal: Point
        var logWeight: Double
        var valid: Bool
    }

    private var target: Target
    private var random: SeededRandom
    private let settings: NUTSSettings
    private let n: Int
    private var stepSize = 1.0
    private var metric: Metric
    private var current: Point
    // Per-transition tallies.
    private var acceptanceSum = 0.0
    private var leapfrogs = 0
    private var diverged = false
    private var gradients = 0

    public init(target: Target, start: [Double], settings: NUTSSettings, seed: UInt64) {
        self.target = target
        self.settings = settings
        n = target.dimension
        random = SeededRandom(seed: seed)
        metric = Metric(identity: n)
        var g = [Double](repeating: 0, count: n)
        let logp = self.target.evaluate(start, gradient: &g)
        current = Point(q: start, p: [Double](repeating: 0, count: n), g: g, logp: logp)
    }

    /// Runs warm-up then the draws. `progress` is told each finished iteration.
    public mutating func run(progress: ((Int) -> Void)? = nil) -> ChainDraws {
        let total = settings.warmup + settings.draws
        var draws: [Double] = []
        draws.reserveCapacity(settings.draws * n)
        var adaptation = Adaptation(warmup: settings.warmup, dimension: n, dense: settings.denseMetric)
        initialiseStepSize()
        var averaging = DualAveraging(stepSize: stepSize, target: settings.targetAcceptance)
        var divergent: [Bool] = []
        var depthHits = 0, acceptance = 0.0
        for iteration in 0..<total {
            let (accept, depth) = transition()
            if iteration < settings.warmup {
                stepSize = averaging.update(accept)
                if adaptation.record(current.q, iteration: iteration) {
                    metric = adaptation.metric()
                    initialiseStepSize()
                    averaging = DualAveraging(stepSize: stepSize, target: settings.targetAcceptance)
                }
                if iteration == settings.warmup - 1 { stepSize = averaging.final }
            } else {
                draws.append(contentsOf: current.q)
                divergent.append(diverged)
                if depth >= settings.maxDepth { depthHits += 1 }
                acceptance += accept
            }
            progress?(iteration + 1)
        }
        return ChainDraws(
            draws: draws, dimension: n, divergent: divergent, maxDepthHits: depthHits, stepSize: stepSize, inverseMass: metric.diagonal,
            meanAcceptance: settings.draws > 0 ? acceptance / Double(settings.draws) : 0, gradientEvaluations: gradients)
    }

    // MARK: Hamiltonian dynamics

    private func kinetic(_ p: [Double]) -> Double {
        let v = metric.times(p)
        var k = 0.0
        for i in 0..<n { k += v[i] * p[i] }
        return k / 2
    }

    private func sharp(_ p: [Double]) -> [Double] {
        metric.times(p)
    }

    private mutating func leapfrog(_ z: inout Point, _ epsilon: Double) {
        for i in 0..<n { z.p[i] += epsilon / 2 * z.g[i] }
        let velocity = metric.times(z.p)
        for i in 0..<n { z.q[i] += epsilon * velocity[i] }
        z.logp = target.evaluate(z.q, gradient: &z.g)
        gradients += 1
        for i in 0..<n { z.p[i] += epsilon / 2 * z.g[i] }
    }

    private mutating func momentum() -> [Double] {
        metric.momentum((0..<n).map { _ in random.normal() })
    }

    private func energy(_ z: Point) -> Double {
        let h = -z.logp + kinetic(z.p)
        return h.isNaN ? .infinity : h
    }

    /// Stan's heuristic: double or halve the step until one leapfrog step's acceptance
    /// crosses 0.8.
    private mutating func initialiseStepSize() {
        var z = current
        z.p = momentum()
        let h0 = energy(z)
        leapfrog(&z, stepSize)
        let direction = h0 - energy(z) > log(0.8) ? 1.0 : -1.0
        for _ in 0..<100 {
            var trial = current
            trial.p = momentum()
            let start = energy(trial)
            leapfrog(&trial, stepSize)
            let delta = start - energy(trial)
            if direction > 0, !(delta > log(0.8)) { break }
            if direction < 0, !(delta < log(0.8)) { break }
            stepSize = direction > 0 ? stepSize * 2 : stepSize / 2
            if stepSize > 1e7 || stepSize < 1e-7 { break }
        }
    }

    // MARK: Trees

    /// True when the stretch from `first` to `last` with momentum sum `rho` still moves
    /// away from its ends.
    private func noUTurn(_ firstSharp: [Double], _ lastSharp: [Double], _ rho: [Double]) -> Bool {
        var a = 0.0, b = 0.0
        for i in 0..<n {
            a += firstSharp[i] * rho[i]
            b += lastSharp[i] * rho[i]
        }
        return a > 0 && b > 0
    }

    /// Joins two adjacent stretches (`left` earlier in time); false when the result, or
    /// either stretch extended by the other's nearest point, turns.
    private func merge(_ left: Span, _ right: Span) -> (Span, Bool) {
        let rho = zip(left.rho, right.rho).map(+)
        var ok = noUTurn(left.firstSharp, right.lastSharp, rho)
        ok = ok && noUTurn(left.firstSharp, right.firstSharp, zip(left.rho, right.firstP).map(+))
        ok = ok && noUTurn(left.lastSharp, right.lastSharp, zip(right.rho, left.lastP).map(+))
        return (Span(firstP: left.firstP, firstSharp: left.firstSharp, lastP: right.lastP, lastSharp: right.lastSharp, rho: rho), ok)
    }

    /// 2^depth leapfrog steps from `z` in `direction`; `z` ends at the new end.
    private mutating func build(_ z: inout Point, depth: Int, direction: Double, h0: Double) -> Subtree {
        if depth == 0 {
            leapfrog(&z, direction * stepSize)
            let h = energy(z)
            leapfrogs += 1
            acceptanceSum += h0 - h > 0 ? 1 : exp(h0 - h)
            let divergent = h - h0 > 1000
            if divergent { diverged = true }
            let s = sharp(z.p)
            return Subtree(span: Span(firstP: z.p, firstSharp: s, lastP: z.p, lastSharp: s, rho: z.p), proposal: z, logWeight: h0 - h, valid: !divergent)
        }
        let first = build(&z, depth: depth - 1, direction: direction, h0: h0)
        guard first.valid else { return first }
        let second = build(&z, depth: depth - 1, direction: direction, h0: h0)
        guard second.valid else { return second }
        let logWeight = logAddExp(first.logWeight, second.logWeight)
        let proposal = log(random.unit()) < second.logWeight - logWeight ? second.proposal : first.proposal
        let (span, ok) = direction > 0 ? merge(first.span, second.span) : merge(second.span, first.span)
        return Subtree(span: span, proposal: proposal, logWeight: logWeight, valid: ok)
    }

    /// One NUTS transition from `current`: returns the mean acceptance statistic over the
    /// trajectory and the tree depth reached.
    private mutating func transition() -> (Double, Int) {
        acceptanceSum = 0
        leapfrogs = 0
        diverged = false
        var start = current
        start.p = momentum()
        let h0 = energy(start)
        var forward = start, backward = start
        let s = sharp(start.p)
        var span = Span(firstP: start.p, firstSharp: s, lastP: start.p, lastSharp: s, rho: start.p)
        var sample = start
        var logWeight = 0.0
        var depth = 0
        while depth < settings.maxDepth {
            let direction: Double = random.next() & 1 == 0 ? 1 : -1
            let subtree: Subtree
            if direction > 0 {
                subtree = build(&forward, depth: depth, direction: 1, h0: h0)
            } else {
                subtree = build(&backward, depth: depth, direction: -1, h0: h0)
            }
            guard subtree.valid else { break }
            depth += 1
            // Biased progressive sampling: prefer the new half when it weighs more.
            if subtree.logWeight > logWeight || random.unit() < exp(subtree.logWeight - logWeight) {
                sample = subtree.proposal
            }
            logWeight = logAddExp(logWeight, subtree.logWeight)
            let (merged, ok) = direction > 0 ? merge(span, subtree.span) : merge(subtree.span, span)
            span = merged
            if !ok { break }
        }
        current = Point(q: sample.q, p: sample.p, g: sample.g, logp: sample.logp)
        return (leapfrogs > 0 ? acceptanceSum / Double(leapfrogs) : 0, depth)
    }
}

func logAddExp(_ a: Double, _ b: Double) -> Double {
    if a == -.infinity { return b }
    if b == -.infinity { return a }
    return max(a, b) + log1p(exp(-abs(a - b)))
}

/// Nesterov dual averaging of log step size (Hoffman & Gelman 2014; Stan's constants).
struct DualAveraging {
    private let mu: Double
    private let target: Double
    private var counter = 0.0
    private var hBar = 0.0
    private var logAverage = 0.0

    init(stepSize: Double, target: Double) {
        mu = log(10 * stepSize)
        self.target = target
    }

    mutating func update(_ acceptance: Double) -> Double {
        counter += 1
        let eta = 1 / (counter + 10)
        hBar = (1 - eta) * hBar + eta * (target - acceptance)
        let logStep = mu - counter.squareRoot() / 0.05 * hBar
        let weight = pow(counter, -0.75)
        logAverage = weight * logStep + (1 - weight) * logAverage
        return exp(logStep)
    }

    var final: Double { exp(logAverage) }
}

/// The inverse mass matrix Σ (the metric) and its Cholesky factor L (Σ = LLᵀ): velocity
/// is Σp, and momentum is drawn as L⁻ᵀz so that its covariance is Σ⁻¹.
struct Metric {
    let n: Int
    /// Row-major Σ, and L below its diagonal (row-major); nil when Σ is diagonal.
    private let covariance: [Double]?
    private let factor: [Double]?
    private let variances: [Double]

    init(identity n: Int) {
        self.n = n
        covariance = nil
        factor = nil
        variances = [Double](repeating: 1, count: n)
    }

    init(variances: [Double]) {
        n = variances.count
        covariance = nil
        factor = nil
        self.variances = variances
    }

    /// A dense metric; falls back to the diagonal if `sigma` is not positive definite.
    init(covariance sigma: [Double], n: Int) {
        self.n = n
        variances = (0..<n).map { sigma[$0 * n + $0] }
        var l = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0...i {
                var sum = sigma[i * n + j]
                for k in 0..<j { sum -= l[i * n + k] * l[j * n + k] }
                if i == j {
                    guard sum > 0 else {
                        covariance = nil
                        factor = nil
                        return
                    }
                    l[i * n + i] = sum.squareRoot()
                } else {
                    l[i * n + j] = sum / l[j * n + j]
                }
            }
        }
        covariance = sigma
        factor = l
    }

    var diagonal: [Double] { variances }

    func times(_ p: [Double]) -> [Double] {
        guard let c = covariance else { return (0..<n).map { variances[$0] * p[$0] } }
        var out = [Double](repeating: 0, count: n)
        c.withUnsafeBufferPointer { c in
            for i in 0..<n {
                var s = 0.0
                for j in 0..<n { s += c[i * n + j] * p[j] }
                out[i] = s
            }
        }
        return out
    }

    /// L⁻ᵀz (back substitution), or z/√σ for a diagonal metric.
    func momentum(_ z: [Double]) -> [Double] {
        guard let l = factor else { return (0..<n).map { z[$0] / variances[$0].squareRoot() } }
        var p = z
        for i in stride(from: n - 1, through: 0, by: -1) {
            var s = p[i]
            for k in (i + 1)..<n { s -= l[k * n + i] * p[k] }
            p[i] = s / l[i * n + i]
        }
        return p
    }
}

/// Stan's windowed warm-up of the metric: a fast initial buffer, slow windows that
/// double, and a fast terminal buffer; each window's draws give the covariance (or the
/// variances), shrunk towards 1e-3·I as Stan does.
struct Adaptation {
    private let start: Int
    private let end: Int
    private let dense: Bool
    private let n: Int
    private var windowSize: Int
    private var windowEnd: Int
    private var draws: [[Double]] = []

    init(warmup: Int, dimension: Int, dense: Bool) {
        var initial = 75, terminal = 50, base = 25
        if warmup < 150 {
            initial = warmup * 15 / 100
            terminal = warmup / 10
            base = warmup - initial - terminal
        }
        start = initial
        end = warmup - terminal
        windowSize = base
        windowEnd = initial + base
        if windowEnd + 2 * windowSize > end { windowEnd = end }
        self.dense = dense
        n = dimension
    }

    /// Records a warm-up draw; true when a window closed and `metric()` is new.
    mutating func record(_ q: [Double], iteration: Int) -> Bool {
        guard iteration >= start, iteration < end, windowSize > 0 else { return false }
        draws.append(q)
        guard iteration + 1 == windowEnd else { return false }
        windowSize *= 2
        windowEnd = iteration + 1 + windowSize
        if windowEnd + 2 * windowSize > end { windowEnd = end }
        return true
    }

    /// The closed window's regularised metric; starts the next window.
    mutating func metric() -> Metric {
        defer { draws.removeAll(keepingCapacity: true) }
        let m = Double(draws.count)
        guard m > 1 else { return Metric(identity: n) }
        var mean = [Double](repeating: 0, count: n)
        for d in draws { for i in 0..<n { mean[i] += d[i] / m } }
        let shrink = m / (m + 5), floor = 1e-3 * (5 / (m + 5))
        if !dense {
            let variances = (0..<n).map { i in draws.reduce(0) { $0 + ($1[i] - mean[i]) * ($1[i] - mean[i]) } / (m - 1) * shrink + floor }
            return Metric(variances: variances)
        }
        var sigma = [Double](repeating: 0, count: n * n)
        for d in draws {
            for i in 0..<n {
                let a = d[i] - mean[i]
                for j in 0...i { sigma[i * n + j] += a * (d[j] - mean[j]) }
            }
        }
        for i in 0..<n {
            for j in 0...i {
                let v = sigma[i * n + j] / (m - 1) * shrink + (i == j ? floor : 0)
                sigma[i * n + j] = v
                sigma[j * n + i] = v
            }
        }
        return Metric(covariance: sigma, n: n)
    }
}
