import Common
import Foundation

/// The marketing-mix model's settings: adstock length, seasonality, noise and priors.
public struct MixSpecification: Sendable, Equatable {
    public enum Noise: Sendable, Equatable {
        case normal
        /// Student-t with fixed degrees of freedom.
        case studentT(Double)
    }

    /// Weeks (periods) an impulse of spend carries over, including its own.
    public var maxLag = 8
    /// Sine–cosine pairs of yearly seasonality.
    public var fourierOrder = 2
    public var noise = Noise.normal
    /// Sample each channel's Hill slope (prior `priors.slope`) instead of fixing it at 1.
    /// A free slope trades off against the half-saturation point and the effect size,
    /// which weekly data rarely separate; Meridian fixes it at 1 by default too.
    public var learnSlope = false
    public var priors = MixPriors()
    /// Per channel name, a prior on its ROI that replaces the half-normal on its effect.
    public var roiPriors: [String: ROIPrior] = [:]
    /// Experiments whose measured lift enters the likelihood.
    public var liftTests: [LiftTest] = []

    public init(
        maxLag: Int = 8, fourierOrder: Int = 2, noise: Noise = .normal, learnSlope: Bool = false, priors: MixPriors = MixPriors(),
        roiPriors: [String: ROIPrior] = [:], liftTests: [LiftTest] = []
    ) {
        self.maxLag = maxLag
        self.fourierOrder = fourierOrder
        self.noise = noise
        self.learnSlope = learnSlope
        self.priors = priors
        self.roiPriors = roiPriors
        self.liftTests = liftTests
    }
}

/// What the analyst already believes about a channel's ROI (its contribution over the
/// data divided by its spend): log-normal with this median and standard deviation of the
/// logarithm. ROI is what experiments and finance teams state, so it is the natural
/// scale for prior knowledge; the prior on the effect β follows from it and the channel's
/// adstock and saturation, as in Meridian's ROI parameterisation.
public struct ROIPrior: Sendable, Equatable {
    public var median: Double
    public var logSD: Double

    public init(median: Double, logSD: Double) {
        self.median = median
        self.logSD = logSD
    }
}

/// A lift test: an experiment measured `lift` extra KPI (± `standardError`) from a
/// channel's spend over the periods `first` … `last` (period labels as in the data,
/// inclusive). The model's counterpart is the channel's contribution over those periods,
/// and the measurement enters the likelihood as Normal(lift | contribution, standard error).
public struct LiftTest: Sendable, Equatable {
    public var channel: String
    public var first: String
    public var last: String
    public var lift: Double
    public var standardError: Double
    /// The geo the test ran in (hierarchical fits only).
    public var geo: String?

    public init(channel: String, first: String, last: String, lift: Double, standardError: Double, geo: String? = nil) {
        self.geo = geo
        self.channel = channel
        self.first = first
        self.last = last
        self.lift = lift
        self.standardError = standardError
    }
}

/// Weakly-informative priors on the scaled problem (KPI and controls divided by their
/// largest absolute value, each channel's spend by its mean over the periods it ran),
/// so the same defaults suit any currency and volume.
public struct MixPriors: Sendable, Equatable {
    /// Normal(mean, sd) on the intercept, trend (over the whole span) and each
    /// seasonality and control coefficient.
    public var intercept = (0.0, 2.0)
    public var trend = (0.0, 1.0)
    public var seasonality = (0.0, 0.5)
    public var control = (0.0, 1.0)
    /// Half-normal scale of each channel's effect at full saturation.
    public var channelScale = 1.0
    /// Beta(a, b) on the geometric adstock decay.
    public var adstock = (1.0, 3.0)
    /// Gamma(shape, rate) on the Hill half-saturation point, in units of the channel's
    /// typical spend (mean 1: half-saturated at typical spend, sd 0.58), and on the Hill
    /// slope when it is learnt.
    public var halfSaturation = (6.0, 6.0)
    public var slope = (3.0, 2.0)
    /// Half-normal scale of the noise.
    public var noiseScale = 0.5

    public init() {}

    public static func == (a: MixPriors, b: MixPriors) -> Bool {
        a.intercept == b.intercept && a.trend == b.trend && a.seasonality == b.seasonality && a.control == b.control
            && a.channelScale == b.channelScale && a.adstock == b.adstock && a.halfSaturation == b.halfSaturation && a.slope == b.slope
            && a.noiseScale == b.noiseScale
    }
}

/// The model: y_t = intercept + trend·t/(T−1) + Fourier seasonality + Σ controls
/// + Σ_c β_c · Hill(adstock_c(x)_t) + noise, with geometric adstock normalised by the sum
/// of its weights (zero spend before the first period) and Hill saturation
/// a^s / (a^s + κ^s). Sampled on an unconstrained vector: β, κ, s and the noise scale
/// through their logarithm, the adstock decay through its logit; the log density
/// includes the Jacobians. The gradient is analytic.
public struct MixModel: Sendable {
    public let data: MixData
    public let specification: MixSpecification
    let kpiScale: Double
    /// Per channel, the mean of its non-zero spend: scaled spend is 1 in a typical period.
    let spendScale: [Double]
    /// [channel][period], scaled, flattened.
    let x: [Double]
    let y: [Double]
    /// [period][feature], flattened: trend, then sine/cosine pairs, then scaled controls.
    let design: [Double]
    let linearCount: Int
    /// Per channel: the ROI prior's log median and log sd, and log(kpiScale / spend).
    let roiPriors: [(logMedian: Double, logSD: Double, logScale: Double)?]
    /// Lift tests resolved to channel indices and period ranges, on the scaled problem.
    let lifts: [(channel: Int, periods: ClosedRange<Int>, lift: Double, standardError: Double)]

    public var channelCount: Int { data.channels.count }
    /// Coordinates per channel: log β, logit α, log κ, and log s when the slope is learnt.
    var perChannel: Int { specification.learnSlope ? 4 : 3 }
    var channelStart: Int { 1 + linearCount }
    func betaIndex(_ c: Int) -> Int { channelStart + perChannel * c }
    var noiseIndex: Int { channelStart + perChannel * channelCount }
    public var dimension: Int { noiseIndex + 1 }

    public init(data: MixData, specification: MixSpecification = MixSpecification()) throws(MixError) {
        guard specification.maxLag >= 1, specification.fourierOrder >= 0 else { throw MixError("max lag must be at least 1 and the Fourier order not negative") }
        if case .studentT(let nu) = specification.noise, !(nu > 0) { throw MixError("Student-t degrees of freedom must be positive") }
        self.data = data
        self.specification = specification
        let T = data.count, C = data.channels.count
        let kpiScale = max(data.kpi.map(abs).max() ?? 1, .leastNormalMagnitude)
        self.kpiScale = kpiScale
        y = data.kpi.map { $0 / kpiScale }
        var scales: [Double] = []
        var x: [Double] = []
        for c in 0..<C {
            let column = (0..<T).map { data.spend($0, c) }
            let active = column.filter { $0 > 0 }
            let typical = active.isEmpty ? 1 : active.reduce(0, +) / Double(active.count)
            scales.append(typical)
            x.append(contentsOf: column.map { $0 / typical })
        }
        spendScale = scales
        self.x = x
        let K = data.controls.count
        let controlScales = (0..<K).map { k in
            max((0..<T).map { abs(data.controlValues[$0 * K + k]) }.max() ?? 1, .leastNormalMagnitude)
        }
        var design: [Double] = []
        for t in 0..<T {
            design.append(T > 1 ? Double(t) / Double(T - 1) : 0)
            for j in 0..<specification.fourierOrder {
                let angle = 2 * Double.pi * Double(j + 1) * data.dayOfYear[t] / 365.25
                design.append(sin(angle))
                design.append(cos(angle))
            }
            for k in 0..<K { design.append(data.controlValues[t * K + k] / controlScales[k]) }
        }
        self.design = design
        linearCount = 1 + 2 * specification.fourierOrder + K
        for name in specification.roiPriors.keys.sorted() where !data.channels.contains(name) {
            throw MixError("ROI prior for '\(name)', which is not a channel of the data")
        }
        roiPriors = try data.channels.enumerated().map { (c, name) throws(MixError) in
            guard let prior = specification.roiPriors[name] else { return nil }
            guard prior.median > 0, prior.median.isFinite, prior.logSD > 0, prior.logSD.isFinite else {
                throw MixError("ROI prior for '\(name)': the median and the log sd must be positive")
            }
            return (log(prior.median), prior.logSD, log(kpiScale / data.totalSpend(c)))
        }
        lifts = try specification.liftTests.map { (test) throws(MixError) in
            if let geo = test.geo { throw MixError("lift test in geo '\(geo)', but this fit has no geos") }
            guard let c = data.channels.firstIndex(of: test.channel) else { throw MixError("lift test on '\(test.channel)', which is not a channel of the data") }
            guard let first = data.periods.firstIndex(of: test.first), let last = data.periods.firstIndex(of: test.last) else {
                throw MixError("lift test on '\(test.channel)': periods '\(test.first)' … '\(test.last)' are not both in the data")
            }
            guard first <= last else { throw MixError("lift test on '\(test.channel)': '\(test.first)' comes after '\(test.last)'") }
            guard test.lift.isFinite, test.standardError > 0, test.standardError.isFinite else {
                throw MixError("lift test on '\(test.channel)': the lift must be a number and its standard error positive")
            }
            return (c, first...last, test.lift / kpiScale, test.standardError / kpiScale)
        }
    }

    /// Names of the unconstrained coordinates, for diagnostics.
    public var parameterNames: [String] {
        var names = ["intercept", "trend"]
        for j in 0..<specification.fourierOrder { names += ["season_sin\(j + 1)", "season_cos\(j + 1)"] }
        names += data.controls.map { "control[\($0)]" }
        for c in data.channels {
            names += ["log_beta[\(c)]", "logit_adstock[\(c)]", "log_half_saturation[\(c)]"]
            if specification.learnSlope { names.append("log_slope[\(c)]") }
        }
        return names + ["log_noise"]
    }

    /// A starting point: the intercept at the KPI's mean, everything else near the
    /// priors' centre, jittered by up to ±`jitter` on the unconstrained scale.
    public func initialPoint(random: inout SeededRandom, jitter: Double = 0.5) -> [Double] {
        var q = (0..<dimension).map { _ in (random.unit() * 2 - 1) * jitter }
        q[0] += y.reduce(0, +) / Double(y.count)
        q[noiseIndex] += log(0.1)
        for c in 0..<channelCount { q[betaIndex(c)] += log(0.2) }
        return q
    }

    /// Per-channel curves and derivatives, reused across calls on one thread.
    public final class Workspace {
        var mu: [Double]
        /// d log-likelihood / dμ_t.
        var weight: [Double]
        /// [channel][period], flattened: h, and dh by logit α, log κ and log s.
        var h: [Double]
        var dAlpha: [Double]
        var dKappa: [Double]
        var dSlope: [Double]
        var powers: [Double]
        var powerSlopes: [Double]

        public init(_ model: MixModel) {
            let T = model.data.count, C = model.channelCount, L = model.specification.maxLag
            mu = [Double](repeating: 0, count: T)
            weight = mu
            h = [Double](repeating: 0, count: T * C)
            dAlpha = h
            dKappa = h
            dSlope = h
            powers = [Double](repeating: 0, count: L)
            powerSlopes = powers
        }
    }

    /// The log posterior density (up to a constant) at `q`, with its gradient. With
    /// `centred`, `q[0]` is not the intercept but the intercept plus every channel's mean
    /// contribution (see `samplerPoint`), and the gradient is in that coordinate.
    /// Without `channelPriors` the priors of β, α, κ and s are left out: a hierarchical
    /// model that shares or pools them adds its own.
    public func logDensity(_ q: [Double], gradient g: inout [Double], workspace w: Workspace, centred: Bool = false, channelPriors: Bool = true) -> Double {
        let T = data.count, C = channelCount, J = linearCount, p = specification.priors
        let learnSlope = specification.learnSlope
        for i in 0..<g.count { g[i] = 0 }
        var lp = 0.0
        q.withUnsafeBufferPointer { q in
            design.withUnsafeBufferPointer { design in
                w.mu.withUnsafeMutableBufferPointer { mu in
                    for t in 0..<T {
                        var m = q[0]
                        for j in 0..<J { m += q[1 + j] * design[t * J + j] }
                        mu[t] = m
                    }
                }
            }
        }
        // Channels: adstock, saturation, and their derivatives.
        for c in 0..<C {
            let base = betaIndex(c)
            let beta = exp(q[base]), alpha = 1 / (1 + exp(-q[base + 1])), logKappa = q[base + 2]
            let s = learnSlope ? exp(q[base + 3]) : 1
            channelCurve(c, alpha: alpha, logKappa: logKappa, slope: s, beta: beta, learnSlope: learnSlope, workspace: w)
        }
        var intercept = q[0]
        let levels = centred ? channelLevels(q, workspace: w) : []
        if centred {
            let level = levels.reduce(0) { $0 + $1.value }
            intercept -= level
            for t in 0..<T { w.mu[t] -= level }
        }
        // Likelihood, and dlogL/dμ_t.
        let logSigma = q[noiseIndex], sigma = exp(logSigma), variance = sigma * sigma
        var dLogSigma = 0.0
        switch specification.noise {
        case .normal:
            var squares = 0.0
            for t in 0..<T {
                let r = y[t] - w.mu[t]
                squares += r * r
                w.weight[t] = r / variance
            }
            lp += -Double(T) * logSigma - squares / (2 * variance)
            dLogSigma = -Double(T) + squares / variance
        case .studentT(let nu):
            for t in 0..<T {
                let r = y[t] - w.mu[t]
                let z = nu * variance + r * r
                lp += -logSigma - (nu + 1) / 2 * log1p(r * r / (nu * variance))
                dLogSigma += -1 + (nu + 1) * r * r / z
                w.weight[t] = (nu + 1) * r / z
            }
        }
        g[noiseIndex] = dLogSigma
        design.withUnsafeBufferPointer { design in
            for t in 0..<T {
                let weight = w.weight[t]
                g[0] += weight
                for j in 0..<J { g[1 + j] += weight * design[t * J + j] }
            }
        }
        w.weight.withUnsafeBufferPointer { weight in
            w.h.withUnsafeBufferPointer { h in
                w.dAlpha.withUnsafeBufferPointer { dAlpha in
                    w.dKappa.withUnsafeBufferPointer { dKappa in
                        w.dSlope.withUnsafeBufferPointer { dSlope in
                            for c in 0..<C {
                                let base = betaIndex(c)
                                let beta = exp(q[base])
                                var gb = 0.0, ga = 0.0, gk = 0.0, gs = 0.0
                                for t in 0..<T {
                                    let wt = weight[t] * beta, i = c * T + t
                                    gb += wt * h[i]
                                    ga += wt * dAlpha[i]
                                    gk += wt * dKappa[i]
                                    if learnSlope { gs += wt * dSlope[i] }
                                }
                                g[base] += gb
                                g[base + 1] += ga
                                g[base + 2] += gk
                                if learnSlope { g[base + 3] += gs }
                            }
                        }
                    }
                }
            }
        }
        // Priors, with the Jacobians of the transforms.
        let zIntercept = (intercept - p.intercept.0) / p.intercept.1
        lp -= zIntercept * zIntercept / 2
        g[0] -= zIntercept / p.intercept.1
        lp += Self.normal(q, 1, p.trend, &g)
        for j in 0..<(2 * specification.fourierOrder) { lp += Self.normal(q, 2 + j, p.seasonality, &g) }
        for k in 0..<data.controls.count { lp += Self.normal(q, 2 + 2 * specification.fourierOrder + k, p.control, &g) }
        lp += calibration(q, &g, workspace: w)
        for c in 0..<C where channelPriors {
            let base = betaIndex(c)
            if roiPriors[c] == nil { lp += Self.halfNormalOnLog(q, base, p.channelScale, &g) }
            lp += Self.betaOnLogit(q, base + 1, p.adstock, &g)
            lp += Self.gammaOnLog(q, base + 2, p.halfSaturation, &g)
            if learnSlope { lp += Self.gammaOnLog(q, base + 3, p.slope, &g) }
        }
        lp += Self.halfNormalOnLog(q, noiseIndex, p.noiseScale, &g)
        if centred {
            // The intercept is q[0] minus the channels' levels: the density's slope in the
            // intercept reaches every parameter a level depends on.
            for (c, level) in levels.enumerated() {
                let base = betaIndex(c)
                g[base] -= g[0] * level.value
                g[base + 1] -= g[0] * level.dAlpha
                g[base + 2] -= g[0] * level.dKappa
                if learnSlope { g[base + 3] -= g[0] * level.dSlope }
            }
        }
        return lp
    }

    /// Each channel's mean contribution over the periods, β·mean(h), on the scaled
    /// problem, with its derivatives in logit α, log κ and log s (in log β it is the
    /// level itself); the curves must be in the workspace.
    func channelLevels(_ q: [Double], workspace w: Workspace) -> [(value: Double, dAlpha: Double, dKappa: Double, dSlope: Double)] {
        let T = data.count
        return (0..<channelCount).map { c in
            var h = 0.0, a = 0.0, k = 0.0, s = 0.0
            for t in 0..<T {
                h += w.h[c * T + t]
                a += w.dAlpha[c * T + t]
                k += w.dKappa[c * T + t]
                s += w.dSlope[c * T + t]
            }
            let scale = exp(q[betaIndex(c)]) / Double(T)
            return (scale * h, scale * a, scale * k, scale * s)
        }
    }

    /// ROI priors and lift tests: both are functions of a channel's curve (already in the
    /// workspace), so they add to the density and to the gradient of log β and the shape.
    private func calibration(_ q: [Double], _ g: inout [Double], workspace w: Workspace) -> Double {
        let T = data.count
        var lp = 0.0
        // Adds ∂/∂(shape) of log Σ_t∈range h_t (times `factor`) to the gradient.
        func shapeGradient(_ c: Int, _ range: ClosedRange<Int>, _ factor: Double) {
            let base = betaIndex(c)
            var a = 0.0, k = 0.0, s = 0.0
            for t in range {
                a += w.dAlpha[c * T + t]
                k += w.dKappa[c * T + t]
                s += w.dSlope[c * T + t]
            }
            g[base + 1] += factor * a
            g[base + 2] += factor * k
            if specification.learnSlope { g[base + 3] += factor * s }
        }
        for (c, prior) in roiPriors.enumerated() {
            guard let prior else { continue }
            let total = (0..<T).reduce(0.0) { $0 + w.h[c * T + $1] }
            guard total > 0 else { continue }
            // log ROI = log β + log Σ h + log(kpiScale / spend); at fixed shape its map from
            // log β has unit Jacobian, so the log-normal's density on log ROI is the term.
            let z = (q[betaIndex(c)] + log(total) + prior.logScale - prior.logMedian) / prior.logSD
            lp -= z * z / 2
            g[betaIndex(c)] -= z / prior.logSD
            shapeGradient(c, 0...(T - 1), -z / prior.logSD / total)
        }
        for test in lifts {
            let c = test.channel, beta = exp(q[betaIndex(c)])
            let sum = test.periods.reduce(0.0) { $0 + w.h[c * T + $1] }
            let z = (test.lift - beta * sum) / test.standardError
            lp -= z * z / 2
            g[betaIndex(c)] += z / test.standardError * beta * sum
            shapeGradient(c, test.periods, z / test.standardError * beta)
        }
        return lp
    }

    /// Channel `c`'s adstocked, saturated curve added to `w.mu` (times β), with the
    /// curve's derivatives in logit α, log κ and log s.
    private func channelCurve(_ c: Int, alpha: Double, logKappa: Double, slope s: Double, beta: Double, learnSlope: Bool, workspace w: Workspace) {
        let T = data.count, L = specification.maxLag
        var d = 0.0, dd = 0.0
        w.powers.withUnsafeMutableBufferPointer { powers in
            w.powerSlopes.withUnsafeMutableBufferPointer { slopes in
                for l in 0..<L {
                    powers[l] = l == 0 ? 1 : powers[l - 1] * alpha
                    slopes[l] = l == 0 ? 0 : Double(l) * powers[l - 1]
                    d += powers[l]
                    dd += slopes[l]
                }
                let logisticSlope = alpha * (1 - alpha)
                x.withUnsafeBufferPointer { x in
                    w.mu.withUnsafeMutableBufferPointer { mu in
                        w.h.withUnsafeMutableBufferPointer { h in
                            w.dAlpha.withUnsafeMutableBufferPointer { dAlpha in
                                w.dKappa.withUnsafeMutableBufferPointer { dKappa in
                                    w.dSlope.withUnsafeMutableBufferPointer { dSlope in
                                        let xc = c * T
                                        for t in 0..<T {
                                            var n = 0.0, dn = 0.0
                                            for l in 0...min(L - 1, t) {
                                                let v = x[xc + t - l]
                                                n += powers[l] * v
                                                dn += slopes[l] * v
                                            }
                                            let i = xc + t
                                            let a = n / d
                                            guard a > 0 else {
                                                h[i] = 0
                                                dAlpha[i] = 0
                                                dKappa[i] = 0
                                                dSlope[i] = 0
                                                continue
                                            }
                                            let da = (dn - a * dd) / d
                                            let logA = log(a)
                                            // Slope 1 needs no exponential: h = a / (a + κ).
                                            let hv = learnSlope ? 1 / (1 + exp(s * (logKappa - logA))) : a / (a + exp(logKappa))
                                            let gv = hv * (1 - hv)
                                            h[i] = hv
                                            dAlpha[i] = gv * s / a * da * logisticSlope
                                            dKappa[i] = -s * gv
                                            dSlope[i] = learnSlope ? -gv * s * (logKappa - logA) : 0
                                            mu[t] += beta * hv
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    static func normal(_ q: [Double], _ i: Int, _ prior: (Double, Double), _ g: inout [Double]) -> Double {
        let z = (q[i] - prior.0) / prior.1
        g[i] -= z / prior.1
        return -z * z / 2
    }

    static func halfNormalOnLog(_ q: [Double], _ i: Int, _ scale: Double, _ g: inout [Double]) -> Double {
        let v = exp(q[i])
        g[i] += 1 - v * v / (scale * scale)
        return q[i] - v * v / (2 * scale * scale)
    }

    static func betaOnLogit(_ q: [Double], _ i: Int, _ prior: (Double, Double), _ g: inout [Double]) -> Double {
        let alpha = 1 / (1 + exp(-q[i]))
        g[i] += prior.0 * (1 - alpha) - prior.1 * alpha
        // log α = −log(1 + e^{−u}), log(1 − α) = −log(1 + e^{u}), stable for large |u|.
        return -prior.0 * softplus(-q[i]) - prior.1 * softplus(q[i])
    }

    static func gammaOnLog(_ q: [Double], _ i: Int, _ prior: (Double, Double), _ g: inout [Double]) -> Double {
        let v = exp(q[i])
        g[i] += prior.0 - prior.1 * v
        return prior.0 * q[i] - prior.1 * v
    }

    private static func softplus(_ u: Double) -> Double {
        u > 30 ? u : log1p(exp(u))
    }
}

extension MixModel {
    /// The model's mean KPI per period at the unconstrained point `q`, in the KPI's units.
    public func expectedKPI(_ q: [Double]) -> [Double] {
        let w = Workspace(self)
        var g = [Double](repeating: 0, count: dimension)
        _ = logDensity(q, gradient: &g, workspace: w)
        return w.mu.map { $0 * kpiScale }
    }
}

/// The sampler's coordinates. Far below saturation a channel's curve is
/// β·(a/κ)^s, so β and κ trade off along a narrow curved ridge that forces NUTS into
/// deep trees. The sampler therefore moves log β_ref = log β + log h(1) instead of
/// log β: the channel's effect at its typical spend (scaled spend 1), which the data
/// pin down. And the intercept trades off against every channel's level (a larger
/// effect with a lower baseline fits as well), a ridge that curves once β moves on a log
/// scale and pinches NUTS into divergent transitions at large effects; so the sampler
/// moves the intercept plus the channels' mean contributions instead, the KPI's level,
/// which the data pin down whatever the split. Each map changes one coordinate by a
/// function of the others, so the Jacobian determinant is 1 and the density unchanged.
extension MixModel {
    /// log h(1) of channel `c` at `q`, with its derivatives in log κ and log s.
    func referenceLogHill(_ q: [Double], _ c: Int) -> (value: Double, dKappa: Double, dSlope: Double) {
        let base = betaIndex(c)
        let s = specification.learnSlope ? exp(q[base + 3]) : 1
        let gap = q[base + 2]
        let r = s * gap
        // log h = −log(1 + e^r), computed without overflow.
        let value = -(r > 30 ? r : log1p(exp(r)))
        let oneMinusH = 1 / (1 + exp(-r))
        return (value, -s * oneMinusH, -s * oneMinusH * gap)
    }

    /// Sampler coordinates → model coordinates; a caller converting many points passes
    /// one workspace for all.
    public func modelPoint(_ z: [Double], workspace: Workspace? = nil) -> [Double] {
        var q = z
        for c in 0..<channelCount { q[betaIndex(c)] = z[betaIndex(c)] - referenceLogHill(z, c).value }
        q[0] -= totalLevel(q, workspace: workspace ?? Workspace(self))
        return q
    }

    /// Model coordinates → sampler coordinates.
    public func samplerPoint(_ q: [Double]) -> [Double] {
        var z = q
        for c in 0..<channelCount { z[betaIndex(c)] = q[betaIndex(c)] + referenceLogHill(q, c).value }
        z[0] += totalLevel(q, workspace: Workspace(self))
        return z
    }

    /// The channels' summed mean contribution at `q` (its intercept is not used).
    func totalLevel(_ q: [Double], workspace w: Workspace) -> Double {
        var g = [Double](repeating: 0, count: dimension)
        _ = logDensity(q, gradient: &g, workspace: w)
        return channelLevels(q, workspace: w).reduce(0) { $0 + $1.value }
    }

    /// The log density at sampler coordinates `z`, with its gradient in them.
    public func samplerLogDensity(_ z: [Double], gradient g: inout [Double], workspace: Workspace) -> Double {
        var q = z
        for c in 0..<channelCount { q[betaIndex(c)] = z[betaIndex(c)] - referenceLogHill(z, c).value }
        let lp = logDensity(q, gradient: &g, workspace: workspace, centred: true)
        for c in 0..<channelCount {
            let base = betaIndex(c)
            let (_, dKappa, dSlope) = referenceLogHill(z, c)
            // log β = z_β − log h_ref(z_κ, z_s).
            g[base + 2] -= g[base] * dKappa
            if specification.learnSlope { g[base + 3] -= g[base] * dSlope }
        }
        return lp
    }
}

/// The model's parameters on their natural scale, and what follows from them.
public struct ChannelEffect: Sendable {
    public var effect: Double
    public var adstock: Double
    public var halfSaturation: Double
    public var slope: Double
    /// KPI attributed to the channel over the data, in the KPI's units.
    public var contribution: Double
    /// contribution / spend.
    public var roi: Double
    /// Extra KPI per extra unit of spend when every period's spend grows by 1 %.
    public var marginalROI: Double
}

extension MixModel {
    /// The channels' effects at the unconstrained point `q`.
    public func channelEffects(_ q: [Double]) -> [ChannelEffect] {
        let T = data.count, L = specification.maxLag
        return (0..<channelCount).map { c in
            let base = betaIndex(c)
            let beta = exp(q[base]), alpha = 1 / (1 + exp(-q[base + 1])), kappa = exp(q[base + 2])
            let s = specification.learnSlope ? exp(q[base + 3]) : 1
            var weights = [Double](repeating: 1, count: L)
            for l in 1..<max(L, 1) { weights[l] = weights[l - 1] * alpha }
            let d = weights.reduce(0, +)
            func hill(_ a: Double) -> Double { a > 0 ? 1 / (1 + pow(kappa / a, s)) : 0 }
            var total = 0.0, lifted = 0.0
            for t in 0..<T {
                var a = 0.0
                for l in 0...min(L - 1, t) { a += weights[l] * x[c * T + t - l] }
                a /= d
                total += hill(a)
                lifted += hill(a * 1.01)
            }
            let spend = data.totalSpend(c)
            let contribution = beta * total * kpiScale
            return ChannelEffect(
                effect: beta * kpiScale, adstock: alpha, halfSaturation: kappa * spendScale[c], slope: s, contribution: contribution,
                roi: contribution / spend, marginalROI: beta * (lifted - total) * kpiScale / (0.01 * spend))
        }
    }
}

extension MixModel {
    /// The expected KPI per period at `q` split into its baseline (intercept, trend,
    /// seasonality, controls) and each channel's contribution, in the KPI's units.
    public func decomposition(_ q: [Double], workspace w: Workspace) -> (baseline: [Double], channels: [[Double]]) {
        let T = data.count
        var g = [Double](repeating: 0, count: dimension)
        _ = logDensity(q, gradient: &g, workspace: w)
        var baseline = w.mu
        let channels = (0..<channelCount).map { c in
            let beta = exp(q[betaIndex(c)])
            return (0..<T).map { t in
                let v = beta * w.h[c * T + t]
                baseline[t] -= v
                return v * kpiScale
            }
        }
        return (baseline.map { $0 * kpiScale }, channels)
    }

    /// The noise scale at `q`, in the KPI's units.
    public func noiseScale(_ q: [Double]) -> Double { exp(q[noiseIndex]) * kpiScale }
}
