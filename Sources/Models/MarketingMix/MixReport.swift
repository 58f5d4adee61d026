import Common

/// The JSON document of a fit: settings, convergence (and whether to trust it), and per
/// channel the posterior of contribution, share, ROI, marginal ROI and the adstock and
/// saturation parameters, each as mean and 90 % interval.
public enum MixReport {
    public static func json(_ fit: MixFit, plan: BudgetPlan? = nil, curves: [ResponseCurve] = []) -> [UInt8] {
        var w = JSONWriter(reservingCapacity: 8192)
        let model = fit.model, s = fit.settings
        w.beginObject()
        w.key("data"); w.beginObject()
        w.key("periods"); w.int(Int64(model.data.count))
        w.key("channels"); w.beginArray()
        for c in model.data.channels { w.string(c) }
        w.endArray()
        w.key("controls"); w.beginArray()
        for c in model.data.controls { w.string(c) }
        w.endArray()
        w.endObject()
        w.key("model"); w.beginObject()
        w.key("adstock"); w.string("geometric, normalised, max lag \(model.specification.maxLag)")
        w.key("saturation"); w.string(model.specification.learnSlope ? "hill, slope learnt" : "hill, slope 1")
        w.key("fourier_order"); w.int(Int64(model.specification.fourierOrder))
        switch model.specification.noise {
        case .normal: w.key("noise"); w.string("normal")
        case .studentT(let nu): w.key("noise"); w.string("student-t"); w.key("nu"); w.double(nu)
        }
        w.endObject()
        w.key("sampler"); w.beginObject()
        w.key("chains"); w.int(Int64(s.chains))
        w.key("warmup"); w.int(Int64(s.sampler.warmup))
        w.key("draws"); w.int(Int64(s.sampler.draws))
        w.key("max_tree_depth"); w.int(Int64(s.sampler.maxDepth))
        w.key("target_acceptance"); w.double(s.sampler.targetAcceptance)
        w.key("seed"); w.int(Int64(bitPattern: s.seed))
        w.key("seconds"); w.double(fit.seconds)
        w.key("gradient_evaluations"); w.int(Int64(fit.chains.reduce(0) { $0 + $1.gradientEvaluations }))
        w.endObject()
        w.key("convergence"); w.beginObject()
        w.key("converged"); w.bool(fit.converged)
        w.key("problems"); w.beginArray()
        for p in fit.problems { w.string(p) }
        w.endArray()
        w.key("worst_r_hat"); w.double(fit.worstRHat)
        w.key("smallest_bulk_ess"); w.double(fit.smallestBulkESS)
        w.key("smallest_tail_ess"); w.double(fit.smallestTailESS)
        w.key("divergences"); w.int(Int64(fit.divergences))
        w.key("max_depth_hits"); w.int(Int64(fit.maxDepthHits))
        w.parameters(model.parameterNames, fit.convergence)
        w.endObject()
        w.key("channels"); w.channels(fit.channels)
        if !curves.isEmpty {
            w.key("response_curves"); w.beginArray()
            for curve in curves {
                w.beginObject()
                w.key("channel"); w.string(curve.channel)
                w.key("current_spend_per_period"); w.double(curve.currentSpend)
                func series(_ name: String, _ values: [Double]) {
                    w.key(name); w.beginArray()
                    for v in values { w.double(v) }
                    w.endArray()
                }
                series("spend_per_period", curve.spend)
                series("kpi_per_period_mean", curve.response.mean)
                series("kpi_per_period_lower_5", curve.response.lower)
                series("kpi_per_period_upper_95", curve.response.upper)
                w.endObject()
            }
            w.endArray()
        }
        if let plan { w.budget(plan) }
        w.endObject()
        w.newline()
        return w.bytes
    }

    /// The JSON document of a hierarchical fit: settings, convergence, per channel over
    /// all geos, the pooled effect and its spread across geos, and per geo its channels.
    public static func json(_ fit: GeoMixFit, plan: BudgetPlan? = nil) -> [UInt8] {
        var w = JSONWriter(reservingCapacity: 8192)
        let s = fit.settings
        w.beginObject()
        w.key("geos"); w.beginArray()
        for g in fit.model.geos { w.string(g) }
        w.endArray()
        if !fit.model.regions.isEmpty {
            w.key("region_of_geo"); w.beginObject()
            for (g, name) in fit.model.geos.enumerated() { w.key(name); w.string(fit.model.regions[fit.model.regionOf[g]]) }
            w.endObject()
        }
        w.key("model"); w.beginObject()
        w.key("pooling"); w.string(fit.model.regions.isEmpty
            ? "log effect at typical spend ~ Normal(mean_c, spread_c) across geos; adstock and saturation shared"
            : "log effect at typical spend ~ Normal(region mean, spread_c) across a region's geos, region means ~ Normal(mean_c, region spread_c); adstock and saturation shared")
        w.key("adstock"); w.string("geometric, normalised, max lag \(fit.model.specification.maxLag)")
        w.key("fourier_order"); w.int(Int64(fit.model.specification.fourierOrder))
        w.endObject()
        w.key("sampler"); w.beginObject()
        w.key("chains"); w.int(Int64(s.chains))
        w.key("warmup"); w.int(Int64(s.sampler.warmup))
        w.key("draws"); w.int(Int64(s.sampler.draws))
        w.key("seed"); w.int(Int64(bitPattern: s.seed))
        w.key("seconds"); w.double(fit.seconds)
        w.endObject()
        w.key("convergence"); w.beginObject()
        w.key("converged"); w.bool(fit.converged)
        w.key("problems"); w.beginArray()
        for p in fit.problems { w.string(p) }
        w.endArray()
        w.key("worst_r_hat"); w.double(fit.worstRHat)
        w.key("divergences"); w.int(Int64(fit.divergences))
        w.parameters(fit.model.parameterNames, fit.convergence)
        w.endObject()
        w.key("channels"); w.channels(fit.channels)
        w.key("pooling"); w.beginArray()
        for (c, name) in fit.model.channels.enumerated() {
            w.beginObject()
            w.key("channel"); w.string(name)
            w.interval("pooled_effect_at_typical_spend", fit.pooledEffect[c])
            w.interval("spread_across_geos", fit.poolSpread[c])
            if !fit.regionSpread.isEmpty { w.interval("spread_across_regions", fit.regionSpread[c]) }
            w.endObject()
        }
        w.endArray()
        if let plan { w.budget(plan) }
        w.key("by_geo"); w.beginArray()
        for (g, name) in fit.model.geos.enumerated() {
            w.beginObject()
            w.key("geo"); w.string(name)
            w.key("channels"); w.channels(fit.geoChannels[g])
            w.endObject()
        }
        w.endArray()
        w.endObject()
        w.newline()
        return w.bytes
    }
}

extension JSONWriter {
    /// `name`: {mean, lower_5, upper_95}.
    mutating func interval(_ name: String, _ i: Interval) {
        key(name); beginObject()
        key("mean"); double(i.mean)
        key("lower_5"); double(i.lower)
        key("upper_95"); double(i.upper)
        endObject()
    }

    /// Every parameter's R-hat and bulk and tail ESS, as `parameters`.
    mutating func parameters(_ names: [String], _ convergence: [Convergence]) {
        key("parameters"); beginArray()
        for (name, c) in zip(names, convergence) {
            beginObject()
            key("name"); string(name)
            key("r_hat"); double(c.rHat)
            key("bulk_ess"); double(c.bulkESS)
            key("tail_ess"); double(c.tailESS)
            endObject()
        }
        endArray()
    }

    /// The channel summaries as an array.
    mutating func channels(_ list: [ChannelSummary]) {
        beginArray()
        for c in list {
            beginObject()
            key("name"); string(c.name)
            key("spend"); double(c.spend)
            interval("contribution", c.contribution)
            interval("share", c.share)
            interval("roi", c.roi)
            interval("marginal_roi", c.marginalROI)
            interval("adstock", c.adstock)
            interval("half_saturation_spend", c.halfSaturation)
            interval("slope", c.slope)
            endObject()
        }
        endArray()
    }

    /// The budget plan, as `budget`.
    mutating func budget(_ plan: BudgetPlan) {
        func allocation(_ name: String, _ a: Allocation) {
            key(name); beginObject()
            key("spend_per_period"); beginObject()
            for (c, name) in plan.channels.enumerated() { key(name); double(a.spend[c]) }
            endObject()
            key("total_spend_per_period"); double(a.total)
            interval("expected_kpi_per_period", a.expected)
            interval("predictive_kpi_per_period", a.predictive)
            endObject()
        }
        key("budget"); beginObject()
        key("bounds"); beginObject()
        for (c, name) in plan.channels.enumerated() {
            key(name); beginArray(); double(plan.bounds[c].lowerBound); double(plan.bounds[c].upperBound); endArray()
        }
        endObject()
        allocation("current", plan.current)
        allocation("optimal", plan.optimal)
        interval("gain_over_current", plan.gain)
        allocation("ten_percent_more", plan.tenPercentMore)
        interval("ten_percent_more_gain", plan.tenPercentGain)
        endObject()
    }
}
