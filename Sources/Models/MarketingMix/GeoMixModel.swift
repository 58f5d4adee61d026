import Common
import Foundation

/// The marketing-mix model over several geos (or segments) at once, their channel
/// effects partially pooled: each geo has the single-series model's intercept, trend,
/// seasonality, controls and noise of its own, on its own scale (KPI and spend scaled
/// per geo), while each channel's adstock and saturation are shared and its effect at
/// typical spend varies by geo around a common mean,
///
///   log β_ref[g, c] ~ Normal(μ_c, τ_c),  μ_c ~ Normal(−1.5, 1.5),  τ_c ~ Gamma(4, 12),
///
/// so a geo with little data borrows from the others, and one with much data keeps its
/// own effect. Effects are pooled relative to each geo's size (its KPI and typical
/// spend): geos that respond alike in proportion share information. τ's prior keeps it
/// away from 0 (mean 0.33, 90 % between 0.11 and 0.65: geos' effects differ by 10–90 %),
/// the boundary-avoiding choice Chung et al. (2013) recommend for a spread estimated
/// from a few groups; with Gamma(2, 6) instead, which allows τ near 0, 5 of 8 fits in the
/// coverage study kept divergent transitions. Each geo's intercept is sampled as its KPI
/// level, as in the single-series model, and the geo effects partially centred (see
/// `centring`).
public struct GeoMixModel: Sendable {
    public let geos: [String]
    /// The regions geos are nested in, when there is a third level; empty otherwise.
    public let regions: [String]
    /// Per geo, its region's index (empty without regions).
    let regionOf: [Int]
    /// One single-series model per geo, for its data, scales and likelihood.
    public let models: [MixModel]
    public var specification: MixSpecification { models[0].specification }
    /// Per channel with an ROI prior: its log median plus the log of the channel's spend
    /// over all geos (so the prior is on log contribution), and its log sd.
    let roiPriors: [(logContribution: Double, logSD: Double)?]
    /// Normal(mean, sd) of μ_c, and Gamma(shape, rate) of τ_c.
    public let poolMean = (-1.5, 1.5)
    public let poolSpread = (4.0, 12.0)

    public var channels: [String] { models[0].data.channels }
    var channelCount: Int { channels.count }
    var shapeCount: Int { specification.learnSlope ? 3 : 2 }
    /// Per channel: logit α, log κ, (log s), μ, log τ, and log ω with regions.
    var sharedPerChannel: Int { shapeCount + (regions.isEmpty ? 2 : 3) }
    var linearCount: Int { models[0].linearCount }
    /// Per geo: level, linear terms, log β_ref per channel, log σ.
    var perGeo: Int { 1 + linearCount + channelCount + 1 }
    func shared(_ c: Int) -> Int { c * sharedPerChannel }
    /// Region r's coordinate for channel c (partially centred, as the geos').
    func regionIndex(_ r: Int, _ c: Int) -> Int { channelCount * sharedPerChannel + r * channelCount + c }
    func geoStart(_ g: Int) -> Int { channelCount * sharedPerChannel + regions.count * channelCount + g * perGeo }
    public var dimension: Int { geoStart(geos.count) }

    /// - Parameter regions: geo name → region, for a third level: geos pooled within their
    ///   region (spread τ), regions around the whole (spread ω, prior as τ's).
    public init(geos: [(name: String, data: MixData)], regions: [String: String]? = nil, specification: MixSpecification = MixSpecification()) throws(MixError) {
        guard geos.count >= 2 else { throw MixError("a hierarchical fit needs at least two geos; fit one series without --geo") }
        if let regions {
            var names: [String] = []
            var of: [Int] = []
            for (geo, _) in geos {
                guard let region = regions[geo] else { throw MixError("geo '\(geo)' has no region") }
                if !names.contains(region) { names.append(region) }
                of.append(names.firstIndex(of: region)!)
            }
            guard names.count >= 2 else { throw MixError("a third level needs at least two regions; leave out the regions") }
            self.regions = names
            regionOf = of
        } else {
            self.regions = []
            regionOf = []
        }
        let first = geos[0].data
        for name in specification.roiPriors.keys.sorted() where !first.channels.contains(name) {
            throw MixError("ROI prior for '\(name)', which is not a channel of the data")
        }
        for (name, data) in geos where data.channels != first.channels || data.controls != first.controls {
            throw MixError("geo '\(name)' has other channels or controls than '\(geos[0].name)'")
        }
        for test in specification.liftTests where !geos.contains(where: { $0.name == test.geo }) {
            throw MixError("lift test on '\(test.channel)' names geo '\(test.geo ?? "")'; a hierarchical fit needs one of \(geos.map(\.name).joined(separator: ", "))")
        }
        self.geos = geos.map(\.name)
        // Each geo's lift tests enter its own likelihood.
        // ROI priors speak of a channel over all geos: the model applies them, not each geo.
        roiPriors = try first.channels.enumerated().map { (c, name) throws(MixError) in
            guard let prior = specification.roiPriors[name] else { return nil }
            guard prior.median > 0, prior.median.isFinite, prior.logSD > 0, prior.logSD.isFinite else {
                throw MixError("ROI prior for '\(name)': the median and the log sd must be positive")
            }
            return (log(prior.median) + log(geos.reduce(0.0) { $0 + $1.data.totalSpend(c) }), prior.logSD)
        }
        models = try geos.map { (geo) throws(MixError) in
            var own = specification
            own.roiPriors = [:]
            own.liftTests = specification.liftTests.filter { $0.geo == geo.name }.map { var t = $0; t.geo = nil; return t }
            return try MixModel(data: geo.data, specification: own)
        }
    }

    public var parameterNames: [String] {
        var names: [String] = []
        for c in channels {
            names += ["logit_adstock[\(c)]", "log_half_saturation[\(c)]"]
            if specification.learnSlope { names.append("log_slope[\(c)]") }
            names += ["pool_mean_log_effect[\(c)]", "log_pool_spread[\(c)]"]
            if !regions.isEmpty { names.append("log_region_spread[\(c)]") }
        }
        for r in regions { names += channels.map { "region_offset[\(r),\($0)]" } }
        let linear = Array(models[0].parameterNames[1...linearCount])
        for g in geos {
            names.append("level[\(g)]")
            names += linear.map { "\($0)[\(g)]" }
            names += channels.map { "effect_offset[\(g),\($0)]" }
            names.append("log_noise[\(g)]")
        }
        return names
    }

    /// Geo `g`'s single-series coordinates at `z`, with its intercept as the KPI level
    /// (the single-series model's `centred` form).
    func geoPoint(_ z: [Double], _ g: Int) -> [Double] {
        let m = models[g], start = geoStart(g)
        var q = [Double](repeating: 0, count: m.dimension)
        for i in 0...linearCount { q[i] = z[start + i] }
        for c in 0..<channelCount {
            let base = m.betaIndex(c), s = shared(c)
            for k in 0..<shapeCount { q[base + 1 + k] = z[s + k] }
            q[base] = effect(z, g, c) - m.referenceLogHill(q, c).value
        }
        q[m.noiseIndex] = z[start + perGeo - 1]
        return q
    }

    /// How far the sampler's geo coordinates are centred, λ: 1 moves log β_ref itself, 0
    /// the standardised offset (log β_ref − μ)/τ. Neither suits data of the usual length,
    /// where each geo's effect is known about as well as the spread τ: the centred form
    /// meets a funnel as τ approaches 0, the non-centred one as τ grows (both tried: 9 and
    /// 1 divergent transitions in 2,000 on the test's data, and an R-hat of 1.02 on τ at
    /// a higher target acceptance). Halfway, as in Gorinova et al.'s (2020) partial
    /// centring, the sampler moves z̃ with log β_ref = μ + τ^(1−λ)·(z̃ − λμ), and the
    /// density carries the Jacobian τ^(1−λ) per geo.
    let centring = 0.5

    /// Region `r`'s mean log β_ref for channel `c` at `z`.
    func regionMean(_ z: [Double], _ r: Int, _ c: Int) -> Double {
        let mean = z[shared(c) + shapeCount], logSpread = z[shared(c) + shapeCount + 2]
        return mean + exp((1 - centring) * logSpread) * (z[regionIndex(r, c)] - centring * mean)
    }

    /// The mean geo `g`'s effect is pooled towards: its region's, or the whole's.
    func parentMean(_ z: [Double], _ g: Int, _ c: Int) -> Double {
        regions.isEmpty ? z[shared(c) + shapeCount] : regionMean(z, regionOf[g], c)
    }

    /// Geo `g`'s log β_ref for channel `c` at `z`.
    func effect(_ z: [Double], _ g: Int, _ c: Int) -> Double {
        let mean = parentMean(z, g, c), logSpread = z[shared(c) + shapeCount + 1]
        return mean + exp((1 - centring) * logSpread) * (z[geoStart(g) + 1 + linearCount + c] - centring * mean)
    }

    /// Geo `g`'s single-series model coordinates (the intercept itself) at `z`; a caller
    /// converting many points passes one workspace per geo.
    public func modelPoint(_ z: [Double], geo g: Int, workspace: MixModel.Workspace? = nil) -> [Double] {
        var q = geoPoint(z, g)
        q[0] -= models[g].totalLevel(q, workspace: workspace ?? MixModel.Workspace(models[g]))
        return q
    }

    public final class Workspace {
        let geos: [MixModel.Workspace]
        var gradient: [[Double]]

        public init(_ model: GeoMixModel) {
            geos = model.models.map { MixModel.Workspace($0) }
            gradient = model.models.map { [Double](repeating: 0, count: $0.dimension) }
        }
    }

    /// The log posterior density at `z`, with its gradient.
    public func logDensity(_ z: [Double], gradient g: inout [Double], workspace w: Workspace) -> Double {
        for i in g.indices { g[i] = 0 }
        var lp = 0.0
        // d log density / d log β_ref per geo and channel, passed on to z̃, μ and log τ below.
        var effectGradient = [Double](repeating: 0, count: geos.count * channelCount)
        // Per geo and channel, for ROI priors: contribution in KPI units, its derivatives
        // in logit α, log κ and log s (β fixed), and log h_ref's in log κ and log s.
        var contribution: [(value: Double, dAlpha: Double, dKappa: Double, dSlope: Double, hillKappa: Double, hillSlope: Double)] = []
        for (geo, m) in models.enumerated() {
            let q = geoPoint(z, geo), start = geoStart(geo)
            lp += m.logDensity(q, gradient: &w.gradient[geo], workspace: w.geos[geo], centred: true, channelPriors: false)
            let gq = w.gradient[geo]
            let levels = roiPriors.contains { $0 != nil } ? m.channelLevels(q, workspace: w.geos[geo]) : []
            for i in 0...linearCount { g[start + i] += gq[i] }
            g[start + perGeo - 1] += gq[m.noiseIndex]
            for c in 0..<channelCount {
                let base = m.betaIndex(c), s = shared(c)
                let gb = gq[base]
                let hill = m.referenceLogHill(q, c)
                // log β = log β_ref − log h_ref(κ, s).
                effectGradient[geo * channelCount + c] += gb
                g[s] += gq[base + 1]
                g[s + 1] += gq[base + 2] - gb * hill.dKappa
                if specification.learnSlope { g[s + 2] += gq[base + 3] - gb * hill.dSlope }
                if roiPriors[c] != nil {
                    let level = levels[c], scale = m.kpiScale * Double(m.data.count)
                    contribution.append((level.value * scale, level.dAlpha * scale, level.dKappa * scale, level.dSlope * scale, hill.dKappa, hill.dSlope))
                } else {
                    contribution.append((0, 0, 0, 0, 0, 0))
                }
            }
        }
        for (c, prior) in roiPriors.enumerated() {
            guard let prior else { continue }
            let s = shared(c)
            let parts = (0..<geos.count).map { contribution[$0 * channelCount + c] }
            let total = parts.reduce(0) { $0 + $1.value }
            guard total > 0 else { continue }
            // log ROI over all geos ~ Normal(log median, sd): a statement about the channel,
            // multiplying the pooled prior of its geo effects.
            let r = (log(total) - prior.logContribution) / prior.logSD
            lp -= r * r / 2
            let factor = -r / prior.logSD / total
            for (geo, part) in parts.enumerated() {
                // In log β (model coordinates) the contribution is its own derivative.
                effectGradient[geo * channelCount + c] += factor * part.value
                g[s] += factor * part.dAlpha
                g[s + 1] += factor * (part.dKappa - part.value * part.hillKappa)
                if specification.learnSlope { g[s + 2] += factor * (part.dSlope - part.value * part.hillSlope) }
            }
        }
        let p = specification.priors
        for c in 0..<channelCount {
            let s = shared(c)
            lp += MixModel.betaOnLogit(z, s, p.adstock, &g)
            lp += MixModel.gammaOnLog(z, s + 1, p.halfSaturation, &g)
            if specification.learnSlope { lp += MixModel.gammaOnLog(z, s + 2, p.slope, &g) }
            lp += MixModel.normal(z, s + shapeCount, poolMean, &g)
            lp += MixModel.gammaOnLog(z, s + shapeCount + 1, poolSpread, &g)
            let logSpread = z[s + shapeCount + 1], spread = exp(logSpread)
            let stretch = exp((1 - centring) * logSpread)
            // d log density / d (the mean each geo is pooled towards), per parent.
            var parentGradient = [Double](repeating: 0, count: max(regions.count, 1))
            for geo in 0..<geos.count {
                let i = geoStart(geo) + 1 + linearCount + c
                let mean = parentMean(z, geo, c), parent = regions.isEmpty ? 0 : regionOf[geo]
                let r = (effect(z, geo, c) - mean) / spread
                // Normal(log β_ref | mean, τ), and the Jacobian τ^(1−λ) of z̃ → log β_ref.
                lp += -r * r / 2 - logSpread + (1 - centring) * logSpread
                parentGradient[parent] += r / spread
                g[s + shapeCount + 1] += r * r - 1 + (1 - centring)
                let d = effectGradient[geo * channelCount + c] - r / spread
                g[i] += d * stretch
                parentGradient[parent] += d * (1 - centring * stretch)
                g[s + shapeCount + 1] += d * (1 - centring) * stretch * (z[i] - centring * mean)
            }
            guard !regions.isEmpty else {
                g[s + shapeCount] += parentGradient[0]
                continue
            }
            // The regions around the whole, in the same form one level up.
            lp += MixModel.gammaOnLog(z, s + shapeCount + 2, poolSpread, &g)
            let mean = z[s + shapeCount], logRegionSpread = z[s + shapeCount + 2], regionSpread = exp(logRegionSpread)
            let regionStretch = exp((1 - centring) * logRegionSpread)
            for region in regions.indices {
                let i = regionIndex(region, c)
                let r = (regionMean(z, region, c) - mean) / regionSpread
                lp += -r * r / 2 - logRegionSpread + (1 - centring) * logRegionSpread
                g[s + shapeCount] += r / regionSpread
                g[s + shapeCount + 2] += r * r - 1 + (1 - centring)
                let d = parentGradient[region] - r / regionSpread
                g[i] += d * regionStretch
                g[s + shapeCount] += d * (1 - centring * regionStretch)
                g[s + shapeCount + 2] += d * (1 - centring) * regionStretch * (z[i] - centring * mean)
            }
        }
        return lp
    }

    /// A starting point near the priors' centre, each geo's level at its KPI's mean,
    /// jittered by up to ±`jitter`.
    public func initialPoint(random: inout SeededRandom, jitter: Double = 0.5) -> [Double] {
        var z = (0..<dimension).map { _ in (random.unit() * 2 - 1) * jitter }
        for c in 0..<channelCount {
            z[shared(c) + shapeCount] += log(0.1)
            z[shared(c) + shapeCount + 1] += log(0.2)
            if !regions.isEmpty { z[shared(c) + shapeCount + 2] += log(0.2) }
        }
        for (g, m) in models.enumerated() {
            for c in 0..<channelCount { z[geoStart(g) + 1 + linearCount + c] += log(0.1) }
            z[geoStart(g)] += m.y.reduce(0, +) / Double(m.y.count)
            z[geoStart(g) + perGeo - 1] += log(0.1)
        }
        return z
    }
}

/// The hierarchical model with a workspace of its own, as the sampler's target.
struct BoundGeoModel: LogDensityGradient {
    let model: GeoMixModel
    let workspace: GeoMixModel.Workspace
    var dimension: Int { model.dimension }

    init(_ model: GeoMixModel) {
        self.model = model
        workspace = GeoMixModel.Workspace(model)
    }

    mutating func evaluate(_ q: [Double], gradient: inout [Double]) -> Double {
        model.logDensity(q, gradient: &gradient, workspace: workspace)
    }
}

/// A fitted hierarchical model: chains (in the model's own coordinates: pooled means
/// and spreads, geo offsets), diagnostics, and channel summaries per geo and over all.
public struct GeoMixFit: Sendable {
    public var model: GeoMixModel
    public var settings: FitSettings
    public var chains: [ChainDraws]
    public var convergence: [Convergence]
    /// All geos together: contributions and spend summed, ROI of the sums.
    public var channels: [ChannelSummary]
    /// Per geo, its channels.
    public var geoChannels: [[ChannelSummary]]
    /// Per channel, the pooled effect at typical spend (exp μ, as a share of the KPI's
    /// scale) and the spread τ of its logarithm across geos.
    public var pooledEffect: [Interval]
    public var poolSpread: [Interval]
    /// Per channel, the spread of the regions' means around the whole (with regions).
    public var regionSpread: [Interval]
    /// Per draw, every geo's channels' effects, geo by geo ([draw][geo · channels + channel]).
    public var effects: [[ChannelEffect]]
    /// Per draw, the standard deviation of one period's noise summed over the geos.
    public var noise: [Double]
    public var seconds: Double

    public var divergences: Int { chains.reduce(0) { $0 + $1.divergences } }
    public var worstRHat: Double { convergence.map(\.rHat).max() ?? .nan }
    public var problems: [String] { MixFit.problems(names: model.parameterNames, convergence: convergence, chains: chains, settings: settings) }
    public var converged: Bool { problems.isEmpty }

    public static func fit(_ model: GeoMixModel, settings: FitSettings = FitSettings(), progress: (@Sendable (Double) -> Void)? = nil) -> GeoMixFit {
        let clock = ContinuousClock.now
        let chains = ChainRunner.run(settings: settings, progress: progress) { random in
            (BoundGeoModel(model), model.initialPoint(random: &random))
        }
        let convergence = (0..<model.dimension).map { i in
            Convergence(chains: chains.map { c in (0..<c.count).map { c.value($0, i) } })
        }
        let G = model.geos.count, C = model.channelCount
        // [draw][geo][channel]
        var effects: [[[ChannelEffect]]] = []
        var noise: [Double] = []
        var pooled: [[Double]] = Array(repeating: [], count: C), spread = pooled, regionSpread = pooled
        let workspaces = model.models.map { MixModel.Workspace($0) }
        for chain in chains {
            for d in 0..<chain.count {
                let z = chain.point(d)
                let points = (0..<G).map { model.modelPoint(z, geo: $0, workspace: workspaces[$0]) }
                effects.append((0..<G).map { model.models[$0].channelEffects(points[$0]) })
                noise.append((0..<G).reduce(0.0) { sum, g in let s = model.models[g].noiseScale(points[g]); return sum + s * s }.squareRoot())
                for c in 0..<C {
                    pooled[c].append(exp(z[model.shared(c) + model.shapeCount]))
                    spread[c].append(exp(z[model.shared(c) + model.shapeCount + 1]))
                    if !model.regions.isEmpty { regionSpread[c].append(exp(z[model.shared(c) + model.shapeCount + 2])) }
                }
            }
        }
        let geoChannels = (0..<G).map { g in
            MixFit.summarise(model.models[g], effects.map { $0[g] })
        }
        let channels = model.channels.enumerated().map { c, name in
            let spend = (0..<G).reduce(0.0) { $0 + model.models[$1].data.totalSpend(c) }
            let typical = (0..<G).reduce(0.0) { $0 + model.models[$1].spendScale[c] }
            let contribution = effects.map { e in (0..<G).reduce(0.0) { $0 + e[$1][c].contribution } }
            let total = effects.map { e in e.reduce(0.0) { sum, geo in sum + geo.reduce(0) { $0 + $1.contribution } } }
            let marginal = effects.map { e in (0..<G).reduce(0.0) { $0 + e[$1][c].marginalROI * 0.01 * model.models[$1].data.totalSpend(c) } / (0.01 * spend) }
            return ChannelSummary(
                name: name, spend: spend, contribution: Interval(contribution), share: Interval(zip(contribution, total).map { $0 / max($1, .leastNormalMagnitude) }),
                roi: Interval(contribution.map { $0 / spend }), marginalROI: Interval(marginal), adstock: Interval(effects.map { $0[0][c].adstock }),
                halfSaturation: Interval(effects.map { $0[0][c].halfSaturation / model.models[0].spendScale[c] * typical }),
                slope: Interval(effects.map { $0[0][c].slope }))
        }
        let elapsed = ContinuousClock.now - clock
        return GeoMixFit(
            model: model, settings: settings, chains: chains, convergence: convergence, channels: channels, geoChannels: geoChannels,
            pooledEffect: pooled.map { Interval($0) }, poolSpread: spread.map { Interval($0) },
            regionSpread: model.regions.isEmpty ? [] : regionSpread.map { Interval($0) }, effects: effects.map { $0.flatMap { $0 } }, noise: noise,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }
}

extension GeoMixFit {
    /// Channel `c`'s ROI over all geos, per draw.
    public func roiDraws(_ c: Int) -> [Double] {
        let G = model.geos.count, C = model.channelCount
        let spend = (0..<G).reduce(0.0) { $0 + model.models[$1].data.totalSpend(c) }
        return effects.map { e in (0..<G).reduce(0.0) { $0 + e[$1 * C + c].contribution } / spend }
    }

    /// The optimiser's units: every geo × channel pair, named `geo/channel`.
    public var spendUnits: SpendUnits {
        var names: [String] = [], current: [Double] = [], peak: [Double] = [], channel: [Int] = []
        for (g, geo) in model.geos.enumerated() {
            let data = model.models[g].data
            for (c, name) in data.channels.enumerated() {
                names.append("\(geo)/\(name)")
                current.append(data.meanSpend(c))
                peak.append(data.peakSpend(c))
                channel.append(c)
            }
        }
        return SpendUnits(names: names, current: current, peak: peak, effects: effects, noise: noise, channel: channel)
    }

    /// What the HTML report draws, over all geos together: the geos' KPI, fit,
    /// baseline and contributions summed per period, and per channel the response of all
    /// geos when the channel's spend is split across them as in the data. Nil when the
    /// geos do not share their periods (nothing to add up period by period).
    public func figures(plan: BudgetPlan? = nil, draws limit: Int = 500) -> MixFigures? {
        let G = model.geos.count, C = model.channelCount
        let periods = model.models[0].data.periods
        guard model.models.allSatisfy({ $0.data.periods == periods }) else { return nil }
        let T = periods.count
        let workspaces = model.models.map { MixModel.Workspace($0) }
        var fitted: [[Double]] = [], baseline = [Double](repeating: 0, count: T)
        var contributions = [[Double]](repeating: [Double](repeating: 0, count: T), count: C)
        var used = 0.0
        for z in chains.thinnedPoints(limit: limit) {
            var total = [Double](repeating: 0, count: T)
            for g in 0..<G {
                let (base, channels) = model.models[g].decomposition(model.modelPoint(z, geo: g, workspace: workspaces[g]), workspace: workspaces[g])
                for t in 0..<T {
                    baseline[t] += base[t]
                    total[t] += base[t]
                    for c in 0..<C {
                        contributions[c][t] += channels[c][t]
                        total[t] += channels[c][t]
                    }
                }
            }
            fitted.append(total)
            used += 1
        }
        let actual = (0..<T).map { t in model.models.reduce(0.0) { $0 + $1.data.kpi[t] } }
        let curves = model.channels.enumerated().map { c, name in
            let spend = (0..<G).map { model.models[$0].data.meanSpend(c) }
            let total = spend.reduce(0, +)
            let peak = (0..<T).map { t in model.models.reduce(0.0) { $0 + $1.data.spend(t, c) } }.max() ?? 0
            let recommended = plan.map { p in (0..<G).reduce(0.0) { $0 + p.optimal.spend[$1 * C + c] } }
            let grid = (0..<41).map { max(2 * peak, recommended ?? 0) * Double($0) / 40 }
            let draws = effects.map { e in
                grid.map { s in (0..<G).reduce(0.0) { $0 + e[$1 * C + c].response(toSpend: s * spend[$1] / max(total, .leastNormalMagnitude)) } }
            }
            return ResponseCurve(channel: name, spend: grid, response: Band(draws: draws), currentSpend: total, recommendedSpend: recommended)
        }
        return MixFigures(
            periods: periods, actual: actual, fitted: Band(draws: fitted), baseline: baseline.map { $0 / used },
            contributions: contributions.map { $0.map { $0 / used } }, channels: channels, curves: curves)
    }
}
