#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One self-contained HTML page (inline SVG, no scripts) of an evaluation: every
/// candidate's estimate and interval per estimator, the replay estimate as the log goes
/// on, and the histogram of the logged propensities.
public enum HTMLReport {
    public static func render(data: LoggedBandit, settings: EstimatorSettings, results: [PolicyEvaluation], source: String) -> String {
        let blockSize = settings.blockSize(rounds: data.count)
        let blocks = blockSize > 1 ? " of blocks of \(blockSize) consecutive rounds" : ""
        var html = """
            <!doctype html><html><head><meta charset="utf-8"><title>Arbiter offline evaluation</title>
            <style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1000px;color:#222}
            table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
            th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}.warn{color:#a40}</style></head><body>
            <h1>Offline evaluation</h1>
            <p>Log: <code>\(escape(source))</code> — \(data.count) rounds kept, \(data.actionCount) actions, \(data.positionCount) positions,
            observed mean reward \(format(data.observedMean)). Intervals: \(Int(settings.confidence * 100)) % percentile bootstrap,
            \(settings.bootstrapSamples) resamples\(blocks), seed \(settings.seed); switch-DR τ = \(format(settings.tau)).</p>

            """
        if !data.rejected.isEmpty || data.propensityIssues.any {
            html += "<p class=\"warn\">Rows rejected: "
            html += data.rejected.sorted { $0.key < $1.key }.map { "\(escape($0.key)) \($0.value)" }.joined(separator: ", ")
            let i = data.propensityIssues
            html += ". Propensities: missing \(i.missing), zero or negative \(i.zero), above 1 (clipped) \(i.aboveOne), raised to the floor \(i.clippedBelow).</p>\n"
        }
        html += "<h2>Estimates</h2>\n" + estimatesTable(results) + estimatesPlot(results, observed: data.observedMean)
        html += "<h2>Replay estimate as the log goes on</h2>\n" + replayPlot(results)
        html += "<h2>Logged propensities</h2>\n" + propensityHistogram(data.propensities)
        html += "</body></html>\n"
        return html
    }

    static func estimatesTable(_ results: [PolicyEvaluation]) -> String {
        var t = "<table><tr><th>policy</th>" + PolicyEvaluation.estimators.map { "<th>\($0)</th>" }.joined() + "<th>ESS</th><th>max weight</th></tr>\n"
        for r in results {
            t += "<tr><td>\(escape(r.policy))</td>"
            for name in PolicyEvaluation.estimators {
                if let e = r.estimates[name] {
                    t += "<td>\(format(e.value))<br><small>[\(format(e.lower)), \(format(e.upper))]</small></td>"
                } else {
                    t += "<td>–</td>"
                }
            }
            t += "<td>\(Int(r.effectiveSampleSize))</td><td>\(format(r.maximumWeight))</td></tr>\n"
        }
        return t + "</table>\n"
    }

    /// Points with interval bars, one row per (policy, estimator), and the observed mean
    /// of the log as a dashed line.
    static func estimatesPlot(_ results: [PolicyEvaluation], observed: Double) -> String {
        let rows = results.flatMap { r in PolicyEvaluation.estimators.compactMap { n in r.estimates[n].map { (r.policy + " · " + n, $0) } } }
        guard !rows.isEmpty else { return "" }
        let low = min(observed, rows.map(\.1.lower).min()!), high = max(observed, rows.map(\.1.upper).max()!)
        let width = 900.0, left = 220.0, right = 30.0, rowHeight = 18.0
        let height = Double(rows.count) * rowHeight + 40
        let x = { (v: Double) in left + (v - low) / max(high - low, 1e-12) * (width - left - right) }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-size=\"11\">\n"
        for (i, (label, e)) in rows.enumerated() {
            let y = 20 + Double(i) * rowHeight
            svg += "<text x=\"\(left - 6)\" y=\"\(y + 4)\" text-anchor=\"end\">\(escape(label))</text>"
            svg += "<line x1=\"\(x(e.lower))\" x2=\"\(x(e.upper))\" y1=\"\(y)\" y2=\"\(y)\" stroke=\"#369\" stroke-width=\"2\"/>"
            svg += "<circle cx=\"\(x(e.value))\" cy=\"\(y)\" r=\"3.5\" fill=\"#c30\"/>\n"
        }
        svg += "<line x1=\"\(x(observed))\" x2=\"\(x(observed))\" y1=\"8\" y2=\"\(height - 20)\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>"
        svg += "<text x=\"\(x(observed))\" y=\"\(height - 6)\" text-anchor=\"middle\">logged mean \(format(observed))</text>"
        svg += axis(low, high, x, y: height - 22)
        return svg + "</svg>\n"
    }

    static func replayPlot(_ results: [PolicyEvaluation]) -> String {
        let curves = results.filter { !$0.replayCurve.isEmpty }
        guard !curves.isEmpty else { return "<p>No candidate matched any logged action.</p>\n" }
        let values = curves.flatMap { $0.replayCurve.map(\.value) }
        let low = values.min()!, high = values.max()!
        let rounds = Double(curves.map { $0.rounds }.max()!)
        let width = 900.0, height = 260.0, left = 60.0, bottom = 30.0
        let x = { (t: Double) in left + t / max(rounds, 1) * (width - left - 20) }
        let y = { (v: Double) in (height - bottom) - (v - low) / max(high - low, 1e-12) * (height - bottom - 20) }
        let colours = ["#c30", "#369", "#393", "#939", "#996", "#366"]
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-size=\"11\">\n"
        for (k, r) in curves.enumerated() {
            let points = r.replayCurve.map { "\(x(Double($0.round))),\(y($0.value))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(colours[k % colours.count])\" stroke-width=\"1.5\" points=\"\(points)\"/>"
            svg += "<text x=\"\(left + 10)\" y=\"\(16 + 14 * Double(k))\" fill=\"\(colours[k % colours.count])\">\(escape(r.policy)) (\(r.replayMatches) matched rounds)</text>\n"
        }
        svg += "<text x=\"\(left)\" y=\"\(height - 6)\">round 0</text><text x=\"\(width - 20)\" y=\"\(height - 6)\" text-anchor=\"end\">\(Int(rounds))</text>"
        svg += "<text x=\"\(left - 6)\" y=\"\(y(high) + 4)\" text-anchor=\"end\">\(format(high))</text>"
        svg += "<text x=\"\(left - 6)\" y=\"\(y(low) + 4)\" text-anchor=\"end\">\(format(low))</text>"
        return svg + "</svg>\n"
    }

    /// Counts of log₁₀(propensity) in 30 bins.
    static func propensityHistogram(_ propensities: [Double]) -> String {
        guard let smallest = propensities.min(), smallest > 0 else { return "" }
        let low = log10(smallest), high = max(log10(propensities.max()!), low + 1e-9)
        let bins = 30
        var counts = [Int](repeating: 0, count: bins)
        for p in propensities { counts[min(bins - 1, Int((log10(p) - low) / (high - low) * Double(bins)))] += 1 }
        let width = 900.0, height = 200.0, left = 60.0, bottom = 30.0
        let top = Double(counts.max()!)
        let barWidth = (width - left - 20) / Double(bins)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-size=\"11\">\n"
        for (i, c) in counts.enumerated() {
            let h = Double(c) / top * (height - bottom - 20)
            svg += "<rect x=\"\(left + Double(i) * barWidth)\" y=\"\(height - bottom - h)\" width=\"\(barWidth - 1)\" height=\"\(h)\" fill=\"#369\"><title>\(c)</title></rect>"
        }
        svg += "<text x=\"\(left)\" y=\"\(height - 8)\">\(format(pow10(low)))</text>"
        svg += "<text x=\"\(width - 20)\" y=\"\(height - 8)\" text-anchor=\"end\">\(format(pow10(high)))</text>"
        svg += "<text x=\"\(width / 2)\" y=\"\(height - 8)\" text-anchor=\"middle\">propensity (log scale), \(propensities.count) rounds</text>"
        return svg + "</svg>\n"
    }

    static func axis(_ low: Double, _ high: Double, _ x: (Double) -> Double, y: Double) -> String {
        "<text x=\"\(x(low))\" y=\"\(y + 14)\">\(format(low))</text><text x=\"\(x(high))\" y=\"\(y + 14)\" text-anchor=\"end\">\(format(high))</text>"
    }

    static func format(_ v: Double) -> String {
        guard v.isFinite else { return "\(v)" }
        let magnitude = abs(v)
        if magnitude != 0, magnitude < 1e-3 || magnitude >= 1e6 { return formatted(v, exponent: true) }
        return formatted(v, exponent: false)
    }

    private static func formatted(_ v: Double, exponent: Bool) -> String {
        var buffer = [CChar](repeating: 0, count: 32)
        _ = withVaList([v]) { vsnprintf(&buffer, 32, exponent ? "%.3e" : "%.5f", $0) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func escape(_ s: String) -> String {
        s.replacingAll("&", "&amp;").replacingAll("<", "&lt;").replacingAll(">", "&gt;").replacingAll("\"", "&quot;")
    }

    private static func pow10(_ x: Double) -> Double { exp(x * log(10)) }
}

extension String {
    fileprivate func replacingAll(_ a: String, _ b: String) -> String { replacing(a, with: b) }
}
