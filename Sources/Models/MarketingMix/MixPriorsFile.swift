import Foundation
import Common

/// The file the engine reads after a refit: per channel, the posterior of its ROI (with
/// the log-normal that matches it, the form arm priors are built from) and marginal ROI,
/// and the optimiser's spend figures for bidding and pacing. Written only for a fit that
/// converged: a prior from an untrustworthy posterior would mislead every decision.
public enum MixPriorsFile {
    public static let format = "arbiter-mmm-priors/1"

    public static func json(_ fit: MixFit, plan: BudgetPlan, kpi: String) throws(MixError) -> [UInt8] {
        guard fit.converged else { throw MixError("the fit has not converged (\(fit.problems.joined(separator: "; "))); no priors written") }
        return json(
            channels: fit.channels, roi: { c in fit.effects.map { $0[c].roi } }, units: fit.spendUnits, plan: plan, kpi: kpi, periods: fit.model.data.periods)
    }

    /// A hierarchical fit's priors: per channel over all geos, its spend figures summed
    /// over the geos.
    public static func json(_ fit: GeoMixFit, plan: BudgetPlan, kpi: String) throws(MixError) -> [UInt8] {
        guard fit.converged else { throw MixError("the fit has not converged (\(fit.problems.joined(separator: "; "))); no priors written") }
        return json(channels: fit.channels, roi: fit.roiDraws, units: fit.spendUnits, plan: plan, kpi: kpi, periods: fit.model.models[0].data.periods)
    }

    /// `roi(c)`: channel c's ROI per posterior draw. Spend figures sum the plan's units of
    /// each channel; the value of one more unit is their spend-weighted mean (at an
    /// interior optimum they are equal).
    static func json(channels: [ChannelSummary], roi: (Int) -> [Double], units: SpendUnits, plan: BudgetPlan, kpi: String, periods: [String]) -> [UInt8] {
        var w = JSONWriter(reservingCapacity: 4096)
        w.beginObject()
        w.key("format"); w.string(format)
        w.key("kpi"); w.string(kpi)
        w.key("periods"); w.int(Int64(periods.count))
        w.key("first_period"); w.string(periods.first ?? "")
        w.key("last_period"); w.string(periods.last ?? "")
        w.key("budget_per_period"); w.double(plan.optimal.total)
        w.key("channels"); w.beginObject()
        for (c, summary) in channels.enumerated() {
            let logs = roi(c).map { log(max($0, .leastNormalMagnitude)) }
            let logMean = logs.reduce(0, +) / Double(max(logs.count, 1))
            let logSD = (logs.reduce(0) { $0 + ($1 - logMean) * ($1 - logMean) } / Double(max(logs.count - 1, 1))).squareRoot()
            let mine = units.channel.indices.filter { units.channel[$0] == c }
            func total(_ a: Allocation) -> Double { mine.reduce(0) { $0 + a.spend[$1] } }
            let recommended = total(plan.optimal)
            let value = mine.reduce(0.0) { $0 + BudgetOptimiser.marginalValue(units, $1, at: plan.optimal.spend[$1]) * max(plan.optimal.spend[$1], 1e-12) }
                / mine.reduce(0.0) { $0 + max(plan.optimal.spend[$1], 1e-12) }
            w.key(summary.name); w.beginObject()
            w.interval("roi", summary.roi)
            w.key("roi_log_mean"); w.double(logMean)
            w.key("roi_log_sd"); w.double(logSD)
            w.interval("marginal_roi", summary.marginalROI)
            w.interval("share", summary.share)
            w.key("current_spend_per_period"); w.double(total(plan.current))
            w.key("recommended_spend_per_period"); w.double(recommended)
            w.key("next_ten_percent_spend"); w.double(total(plan.tenPercentMore) - recommended)
            w.key("value_per_unit_at_recommended"); w.double(value)
            w.endObject()
        }
        w.endObject()
        w.endObject()
        w.newline()
        return w.bytes
    }

    /// What the decision points take from a priors file, per channel: the posterior mean
    /// ROI (bandit arms' priors) and marginal ROI (the value of a campaign's clicks).
    public struct Channels: Sendable, Equatable {
        public var roi: [String: Double]
        public var marginalROI: [String: Double]
    }

    /// Each channel's posterior mean ROI and marginal ROI from a priors file's bytes;
    /// anything that is not this format is refused whole.
    public static func channels(_ bytes: [UInt8]) throws(MixError) -> Channels {
        let top: JSONValue
        do { top = try JSONValue.parse(bytes) } catch { throw MixError("the priors file is not JSON: \(error)") }
        guard top["format"] == .string(format) else { throw MixError("the priors file is not in the \(format) format") }
        guard case .object(let channels) = top["channels"] else { throw MixError("the priors file has no channels") }
        var out = Channels(roi: [:], marginalROI: [:])
        for member in channels {
            for (key, name) in [("roi", "ROI"), ("marginal_roi", "marginal ROI")] {
                guard case .number(let x) = member.value[key]?["mean"], x.isFinite, x >= 0 else {
                    throw MixError("the priors file has no usable \(name) for channel '\(member.key)'")
                }
                if key == "roi" { out.roi[member.key] = x } else { out.marginalROI[member.key] = x }
            }
        }
        return out
    }

    /// Each channel's posterior mean ROI from a priors file's bytes.
    public static func roi(_ bytes: [UInt8]) throws(MixError) -> [String: Double] { try channels(bytes).roi }
}
