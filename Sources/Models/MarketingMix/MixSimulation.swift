import Common
import Foundation

/// Data simulated from the model itself, so that what a fit should recover is known:
/// `channels` channels of random weekly spend (about 15 % of weeks dark), two controls
/// (a slow wave and occasional promotions), and a KPI drawn at a random parameter point
/// `truth` (unconstrained, on `model`'s scale) plus Normal noise of standard deviation
/// `noise` on the scale where the intercept is 0.4. For tests, validation and benchmarks.
public struct MixSimulation: Sendable {
    public var data: MixData
    public var truth: [Double]
    public var model: MixModel

    public init(weeks: Int = 104, channels: Int = 3, seed: UInt64, noise: Double = 0.03, specification: MixSpecification = MixSpecification()) throws(MixError) {
        var random = SeededRandom(seed: seed)
        var spend: [Double] = []
        for _ in 0..<weeks {
            for c in 0..<channels { spend.append(random.unit() < 0.15 ? 0 : (1000 + Double(c) * 400) * (0.3 + random.unit())) }
        }
        let controls = (0..<weeks).flatMap { t in [sin(Double(t) / 9), random.unit() < 0.1 ? 1.0 : 0] }
        let names = (0..<channels).map { "ch\($0)" }
        // A placeholder KPI of ones: its scale is 1, so the truth is on the scaled problem.
        let flat = MixData(
            periods: (0..<weeks).map(String.init), kpi: [Double](repeating: 1, count: weeks), channels: names, spend: spend,
            controls: ["wave", "promo"], controlValues: controls)
        let placeholder = try MixModel(data: flat, specification: specification)
        var truth = [Double](repeating: 0, count: placeholder.dimension)
        truth[0] = 0.4
        truth[1] = 0.1
        for j in 0..<(2 * specification.fourierOrder) { truth[2 + j] = 0.03 * (random.unit() - 0.5) }
        truth[2 + 2 * specification.fourierOrder] = 0.05
        truth[3 + 2 * specification.fourierOrder] = 0.08
        for c in 0..<channels {
            let base = placeholder.betaIndex(c)
            truth[base] = log(0.15 + 0.15 * random.unit())
            let decay = 0.2 + 0.5 * random.unit()
            truth[base + 1] = log(decay / (1 - decay))
            // Half-saturated between 0.5 and 1.5 times the typical spend.
            truth[base + 2] = log(0.5 + random.unit())
            if specification.learnSlope { truth[base + 3] = log(1 + random.unit()) }
        }
        truth[placeholder.noiseIndex] = log(noise)
        let mean = placeholder.expectedKPI(truth)
        let kpi = mean.map { 5000 * ($0 + noise * random.normal()) }
        data = MixData(periods: flat.periods, kpi: kpi, channels: names, spend: spend, controls: flat.controls, controlValues: controls)
        model = try MixModel(data: data, specification: specification)
        // The truth on the fitted model's scale: only the KPI's scale changed, and every
        // additive term scales with it.
        let rescale = log(5000 / model.kpiScale)
        self.truth = truth
        for j in 0...model.linearCount { self.truth[j] = truth[j] * exp(rescale) }
        for c in 0..<channels { self.truth[model.betaIndex(c)] += rescale }
        self.truth[model.noiseIndex] += rescale
    }
}

extension MixSimulation {
    /// The channels' true effects (contribution, ROI, …).
    public var trueEffects: [ChannelEffect] { model.channelEffects(truth) }

    /// The data as CSV (`week,kpi,<channels>,<controls>`), for other tools.
    public var csv: String {
        var lines = ["week,kpi," + (data.channels + data.controls).joined(separator: ",")]
        for t in 0..<data.count {
            var fields = [data.periods[t], String(data.kpi[t])]
            for c in 0..<data.channels.count { fields.append(String(data.spend(t, c))) }
            for k in 0..<data.controls.count { fields.append(String(data.controlValues[t * data.controls.count + k])) }
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Several geos simulated from the hierarchical model: per geo random weekly spend (its
/// own size), two controls, and a KPI drawn at a random point `truth` of `model` (pooled
/// effects per channel with geo offsets, shared adstock and saturation) plus Normal
/// noise, then scaled by the geo's size. For tests and validation.
public struct GeoMixSimulation: Sendable {
    public var geos: [(name: String, data: MixData)]
    public var model: GeoMixModel
    /// Per geo, per channel: the true effects.
    public var trueEffects: [[ChannelEffect]]

    public init(geos count: Int, weeks: Int = 104, channels: Int = 2, seed: UInt64, noise: Double = 0.03) throws(MixError) {
        var random = SeededRandom(seed: seed)
        let names = (0..<channels).map { "ch\($0)" }
        var flat: [(name: String, data: MixData)] = []
        var sizes: [Double] = []
        for g in 0..<count {
            let size = 1 + random.unit() * 3
            sizes.append(5000 * size)
            var spend: [Double] = []
            for _ in 0..<weeks {
                for c in 0..<channels { spend.append(random.unit() < 0.15 ? 0 : size * (1000 + Double(c) * 400) * (0.3 + random.unit())) }
            }
            let controls = (0..<weeks).flatMap { t in [sin(Double(t + g) / 9), random.unit() < 0.1 ? 1.0 : 0] }
            flat.append((
                "geo\(g)",
                MixData(
                    periods: (0..<weeks).map(String.init), kpi: [Double](repeating: 1, count: weeks), channels: names, spend: spend,
                    controls: ["wave", "promo"], controlValues: controls)
            ))
        }
        let placeholder = try GeoMixModel(geos: flat)
        var truth = [Double](repeating: 0, count: placeholder.dimension)
        for c in 0..<channels {
            let s = placeholder.shared(c)
            let decay = 0.2 + 0.5 * random.unit()
            truth[s] = log(decay / (1 - decay))
            truth[s + 1] = log(0.5 + random.unit())
            truth[s + 2] = log(0.08 + 0.08 * random.unit())
            truth[s + 3] = log(0.15 + 0.2 * random.unit())
        }
        let L = placeholder.linearCount
        for g in 0..<count {
            let start = placeholder.geoStart(g)
            truth[start] = 0.6
            truth[start + 1] = 0.1
            for j in 0..<(L - 2) { truth[start + 2 + j] = 0.03 * (random.unit() - 0.5) }
            truth[start + L - 1] = 0.05
            truth[start + L] = 0.08
            for c in 0..<channels {
                let s = placeholder.shared(c)
                let mean = truth[s + 2], spread = exp(truth[s + 3])
                // The geo's log β_ref, in the sampler's partially centred coordinate.
                let effect = mean + spread * random.normal()
                truth[start + 1 + L + c] = (effect - mean) / pow(spread, 1 - placeholder.centring) + placeholder.centring * mean
            }
            truth[start + placeholder.perGeo - 1] = log(noise)
        }
        var series: [(name: String, data: MixData)] = []
        var effects: [[ChannelEffect]] = []
        for g in 0..<count {
            let point = placeholder.modelPoint(truth, geo: g)
            let mean = placeholder.models[g].expectedKPI(point)
            var data = flat[g].data
            data.kpi = mean.map { sizes[g] * ($0 + noise * random.normal()) }
            series.append((flat[g].name, data))
            effects.append(placeholder.models[g].channelEffects(point).map { e in
                var e = e
                e.contribution *= sizes[g]
                e.roi *= sizes[g]
                e.marginalROI *= sizes[g]
                e.effect *= sizes[g]
                return e
            })
        }
        geos = series
        model = try GeoMixModel(geos: series)
        trueEffects = effects
    }
}
