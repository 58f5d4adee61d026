import Foundation

extension MixHTMLReport {
    /// The budget plan as an HTML table: per channel current, recommended and
    /// next-10 % spend, then what each allocation is expected to add.
    public static func allocationTable(_ plan: BudgetPlan) -> String {
        func number(_ v: Double) -> String { v.isFinite ? String(format: "%.4g", v) : "–" }
        func interval(_ i: Interval) -> String { "\(number(i.mean)) <small>[\(number(i.lower)), \(number(i.upper))]</small>" }
        func escape(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
                .replacingOccurrences(of: "\"", with: "&quot;")
        }
        var t = "<table><tr><th>channel</th><th>bounds per period</th><th>current</th><th>recommended</th><th>next 10 %</th></tr>\n"
        for (c, name) in plan.channels.enumerated() {
            t += "<tr><td>\(escape(name))</td><td>\(number(plan.bounds[c].lowerBound)) – \(number(plan.bounds[c].upperBound))</td>"
            t += "<td>\(number(plan.current.spend[c]))</td><td>\(number(plan.optimal.spend[c]))</td>"
            t += "<td>+\(number(plan.tenPercentMore.spend[c] - plan.optimal.spend[c]))</td></tr>\n"
        }
        t += "<tr><th>total</th><td></td><td>\(number(plan.current.total))</td><td>\(number(plan.optimal.total))</td>"
        t += "<td>+\(number(plan.tenPercentMore.total - plan.optimal.total))</td></tr>\n</table>\n"
        t += "<p>KPI per period from the channels (posterior mean [90 % interval]): current \(interval(plan.current.expected)), "
        t += "recommended \(interval(plan.optimal.expected)), a gain of \(interval(plan.gain)); the next 10 % of budget adds "
        t += "\(interval(plan.tenPercentGain)). One period's predictive interval at the recommended mix: "
        t += "[\(number(plan.optimal.predictive.lower)), \(number(plan.optimal.predictive.upper))].</p>\n"
        return t
    }
}
