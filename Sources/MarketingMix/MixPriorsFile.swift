import Foundation
import Stream

/// The file the engine reads after a refit: per channel, the posterior of its ROI (with
/// the log-normal that matches it, the form arm priors are built from) and marginal ROI,
/// and the optimiser's spend figures for bidding and pacing. Written only for a fit that
/// converged: a prior from an untrustworthy posterior would mislead every decision.
public enum MixPriorsFile {
    public static let format = "arbiter-mmm-priors/1"

    public static func json(_ fit: MixFit, plan: BudgetPlan, kpi: String) throws(MixError) -> [UInt8] {
        guard fit.converged else { throw MixError("the fit has not converged (\(fit.problems.joined(separator: "; "))); no priors written") }
        let data = fit.model.data
        var w = JSONWriter(reservingCapacity: 4096)
        w.beginObject()
        w.key("format"); w.string(format)
        w.key("kpi"); w.string(kpi)
        w.key("periods"); w.int(Int64(data.count))
        w.key("first_period"); w.string(data.periods.first ?? "")
        w.key("last_period"); w.string(data.periods.last ?? "")
        w.key("budget_per_period"); w.double(plan.optimal.total)
        w.key("channels"); w.beginObject()
        for (c, summary) in fit.channels.enumerated() {
            let logs = fit.effects.map { log(max($0[c].roi, .leastNormalMagnitude)) }
            let logMean = logs.reduce(0, +) / Double(max(logs.count, 1))
            let logSD = (logs.reduce(0) { $0 + ($1 - logMean) * ($1 - logMean) } / Double(max(logs.count - 1, 1))).squareRoot()
            w.key(summary.name); w.beginObject()
            w.interval("roi", summary.roi)
            w.key("roi_log_mean"); w.double(logMean)
            w.key("roi_log_sd"); w.double(logSD)
            w.interval("marginal_roi", summary.marginalROI)
            w.interval("share", summary.share)
            w.key("current_spend_per_period"); w.double(plan.current.spend[c])
            w.key("recommended_spend_per_period"); w.double(plan.optimal.spend[c])
            w.key("next_ten_percent_spend"); w.double(plan.tenPercentMore.spend[c] - plan.optimal.spend[c])
            w.key("value_per_unit_at_recommended"); w.double(marginalValue(fit, channel: c, at: plan.optimal.spend[c]))
            w.endObject()
        }
        w.endObject()
        w.endObject()
        w.newline()
        return w.bytes
    }

    /// Each channel's posterior mean ROI from a priors file's bytes; anything that is not
    /// this format is refused whole.
    public static func roi(_ bytes: [UInt8]) throws(MixError) -> [String: Double] {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: Data(bytes)) } catch { throw MixError("the priors file is not JSON: \(error.localizedDescription)") }
        guard let top = object as? [String: Any], top["format"] as? String == format else { throw MixError("the priors file is not in the \(format) format") }
        guard let channels = top["channels"] as? [String: Any] else { throw MixError("the priors file has no channels") }
        var out: [String: Double] = [:]
        for (name, value) in channels {
            guard let roi = ((value as? [String: Any])?["roi"] as? [String: Any])?["mean"] as? Double, roi.isFinite, roi >= 0 else {
                throw MixError("the priors file has no usable ROI for channel '\(name)'")
            }
            out[name] = roi
        }
        return out
    }

    /// Posterior-mean extra KPI per extra unit of spend per period at `spend`: what one
    /// more unit is worth to a bidder or pacer.
    static func marginalValue(_ fit: MixFit, channel c: Int, at spend: Double) -> Double {
        let h = max(spend * 1e-3, 1e-6)
        let up = fit.effects.reduce(0) { $0 + $1[c].response(toSpend: spend + h) }
        let down = fit.effects.reduce(0) { $0 + $1[c].response(toSpend: max(spend - h, 0)) }
        return (up - down) / ((spend + h - max(spend - h, 0)) * Double(max(fit.effects.count, 1)))
    }
}
