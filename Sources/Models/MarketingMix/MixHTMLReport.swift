import Foundation

/// One self-contained HTML page (inline CSS and SVG, no scripts, nothing fetched) of a
/// marketing-mix fit: whether it converged, each channel's estimates with their 90 %
/// intervals, the fit against the actual KPI, contributions over time, response curves
/// and ROI intervals.
public enum MixHTMLReport {
    /// Renders the page.
    /// - Parameters:
    ///   - figures: what to draw, computed from the fit.
    ///   - problems: why the fit has not converged; empty when it has. When not empty the
    ///     page opens with a warning that the estimates must not be used.
    ///   - source: where the data came from, shown escaped.
    ///   - allocation: pre-rendered HTML (a table) of a budget allocation, included
    ///     verbatim under its own heading; nil leaves the section out.
    public static func render(_ figures: MixFigures, problems: [String], source: String, allocation: String? = nil) -> String {
        var html = """
            <!doctype html><html><head><meta charset="utf-8"><title>Marketing-mix fit</title>
            <style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1000px;color:#222}
            table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
            th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}svg{max-width:100%;height:auto}
            .ok{color:#363}.warn{border:2px solid #a40;background:#fff3e8;color:#a40;padding:0.5em 1em;margin:1em 0}
            .grid{stroke:#e6e6e6}.axis{stroke:#888}.key span{display:inline-block;width:12px;height:12px;margin:0 4px 0 14px;vertical-align:middle}</style>
            </head><body>
            <h1>Marketing-mix fit</h1>
            <p>Data: <code>\(escape(source))</code> — \(figures.periods.count) periods, \(figures.channels.count) channels.
            Intervals: central 90 % of the posterior.</p>

            """
        if problems.isEmpty {
            html += "<p class=\"ok\">Converged: no problems with R-hat, effective sample size or divergent transitions.</p>\n"
        } else {
            html += "<div class=\"warn\"><strong>NOT CONVERGED</strong> — the sampler has not converged: the estimates below must not be used.<ul>"
            html += problems.map { "<li>\(escape($0))</li>" }.joined() + "</ul></div>\n"
        }
        html += "<h2>Channels</h2>\n" + channelTable(figures.channels)
        html += "<h2>Fit against actuals</h2>\n" + fitPlot(figures)
        html += "<h2>Contributions over time</h2>\n" + contributionPlot(figures)
        html += "<h2>Response curves</h2>\n" + responsePlot(figures.curves)
        html += "<h2>ROI</h2>\n" + roiPlot(figures.channels)
        if let allocation { html += "<h2>Budget allocation</h2>\n" + allocation + "\n" }
        return html + "</body></html>\n"
    }

    // Layout, in SVG pixels; the page scales the drawings down to fit narrower windows.
    private static let width = 900.0, height = 280.0
    private static let left = 70.0, right = 20.0, top = 16.0, bottom = 36.0
    private static let palette = ["#c30", "#369", "#393", "#939", "#996", "#366", "#c69", "#663"]
    private static let fittedColour = "#369", actualColour = "#222", baselineColour = "#bbb"

    private static func colour(_ k: Int) -> String { palette[k % palette.count] }

    // MARK: Sections

    private static func channelTable(_ channels: [ChannelSummary]) -> String {
        guard !channels.isEmpty else { return "<p>No channels.</p>\n" }
        var t = "<table><tr><th>channel</th><th>spend (total)</th><th>contribution</th><th>share</th><th>ROI</th>"
        t += "<th>marginal ROI</th><th>adstock</th><th>half-saturation spend</th></tr>\n"
        for channel in channels {
            t += "<tr><td>\(escape(channel.name))</td><td>\(format(channel.spend))</td>" + cell(channel.contribution)
            t += cell(channel.share, scale: 100, unit: " %") + cell(channel.roi) + cell(channel.marginalROI)
            t += cell(channel.adstock) + cell(channel.halfSaturation) + "</tr>\n"
        }
        return t + "</table>\n"
    }

    private static func cell(_ i: Interval, scale: Double = 1, unit: String = "") -> String {
        let f = { (v: Double) in v.isFinite ? format(v * scale) + unit : "–" }
        return "<td>\(f(i.mean))<br><small>[\(f(i.lower)), \(f(i.upper))]</small></td>"
    }

    /// Actual KPI as dots over the fitted mean and its band.
    private static func fitPlot(_ f: MixFigures) -> String {
        let n = f.periods.count
        guard n > 0 else { return "<p>No periods.</p>\n" }
        let band = f.fitted, m = min(n, band.mean.count)
        let ys = nice(f.actual + band.mean + band.lower + band.upper)
        let x = Scale(0, Double(n - 1), onto: left, width - right)
        let y = Scale(ys.low, ys.high, onto: height - bottom, top)
        var svg = open(width, height) + yAxis(ys.ticks, y, from: left, to: width - right) + periodAxis(f.periods, x, y: height - bottom)
        let banded = (0..<m).filter { band.lower[$0].isFinite && band.upper[$0].isFinite }
        let upper: [(Double, Double)] = banded.map { (x(Double($0)), y(band.upper[$0])) }
        let lower: [(Double, Double)] = banded.reversed().map { (x(Double($0)), y(band.lower[$0])) }
        let line: [(Double, Double)] = (0..<m).filter { band.mean[$0].isFinite }.map { (x(Double($0)), y(band.mean[$0])) }
        svg += polygon(upper + lower, fill: fittedColour, opacity: 0.25) + polyline(line, stroke: fittedColour)
        for (i, v) in f.actual.prefix(n).enumerated() where v.isFinite {
            svg += "<circle cx=\"\(coord(x(Double(i))))\" cy=\"\(coord(y(v)))\" r=\"2.2\" fill=\"\(actualColour)\"/>"
        }
        return svg + "\n</svg>\n" + key([(colour: actualColour, label: "actual"), (colour: fittedColour, label: "fitted mean and 90 % interval")])
    }

    /// Baseline at the bottom, each channel's mean contribution stacked on it. Missing
    /// values count as 0 so that one gap does not tear every layer above it.
    private static func contributionPlot(_ f: MixFigures) -> String {
        let n = f.periods.count
        guard n > 0 else { return "<p>No periods.</p>\n" }
        let value = { (series: [Double], t: Int) in t < series.count && series[t].isFinite ? series[t] : 0 }
        var stack = [(0..<n).map { value(f.baseline, $0) }]
        for series in f.contributions {
            let below = stack[stack.count - 1]
            stack.append((0..<n).map { below[$0] + value(series, $0) })
        }
        let ys = nice(stack.flatMap { $0 }, includingZero: true)
        let x = Scale(0, Double(n - 1), onto: left, width - right)
        let y = Scale(ys.low, ys.high, onto: height - bottom, top)
        var svg = open(width, height) + yAxis(ys.ticks, y, from: left, to: width - right) + periodAxis(f.periods, x, y: height - bottom)
        var beneath = [Double](repeating: 0, count: n)
        var entries: [(colour: String, label: String)] = []
        for (k, level) in stack.enumerated() {
            let fill = k == 0 ? baselineColour : colour(k - 1)
            let upper: [(Double, Double)] = (0..<n).map { (x(Double($0)), y(level[$0])) }
            let lower: [(Double, Double)] = (0..<n).reversed().map { (x(Double($0)), y(beneath[$0])) }
            svg += polygon(upper + lower, fill: fill, opacity: 0.85)
            entries.append((colour: fill, label: k == 0 ? "baseline" : channelName(f, k - 1)))
            beneath = level
        }
        return svg + "\n</svg>\n" + key(entries)
    }

    private static func channelName(_ f: MixFigures, _ k: Int) -> String {
        k < f.channels.count ? f.channels[k].name : "channel \(k + 1)"
    }

    /// One panel per channel, three to a row, each on its own scales: channels' spends
    /// differ by orders of magnitude, so a shared axis would flatten all but the largest.
    private static func responsePlot(_ curves: [ResponseCurve]) -> String {
        guard !curves.isEmpty else { return "<p>No response curves.</p>\n" }
        let panelWidth = width / 3, panelHeight = 230.0
        let inLeft = 58.0, inRight = 14.0, inTop = 26.0, inBottom = 40.0
        let columns = min(3, curves.count), rows = (curves.count + 2) / 3
        var svg = open(panelWidth * Double(columns), panelHeight * Double(rows))
        for (k, curve) in curves.enumerated() {
            let ox = Double(k % 3) * panelWidth, oy = Double(k / 3) * panelHeight
            let r = curve.response, m = min(curve.spend.count, r.mean.count)
            let spends: [Double] = curve.spend + [curve.currentSpend] + [curve.recommendedSpend].compactMap { $0 }
            let xs = nice(spends, includingZero: true, count: 3)
            let ys = nice(r.mean + r.lower + r.upper, includingZero: true, count: 4)
            let x = Scale(xs.low, xs.high, onto: ox + inLeft, ox + panelWidth - inRight)
            let y = Scale(ys.low, ys.high, onto: oy + panelHeight - inBottom, oy + inTop)
            svg += "<g class=\"panel\"><text x=\"\(coord(ox + inLeft))\" y=\"\(coord(oy + 14))\" font-weight=\"bold\">\(escape(curve.channel))</text>"
            svg += yAxis(ys.ticks, y, from: ox + inLeft, to: ox + panelWidth - inRight) + xAxis(xs.ticks, x, y: y.from)
            let banded = (0..<m).filter { curve.spend[$0].isFinite && r.lower[$0].isFinite && r.upper[$0].isFinite }
            let upper: [(Double, Double)] = banded.map { (x(curve.spend[$0]), y(r.upper[$0])) }
            let lower: [(Double, Double)] = banded.reversed().map { (x(curve.spend[$0]), y(r.lower[$0])) }
            let line: [(Double, Double)] = (0..<m).filter { curve.spend[$0].isFinite && r.mean[$0].isFinite }.map { (x(curve.spend[$0]), y(r.mean[$0])) }
            svg += polygon(upper + lower, fill: colour(k), opacity: 0.2) + polyline(line, stroke: colour(k))
            svg += marker(curve.currentSpend, x, y, label: "current", labelY: y.to + 10, dashed: false)
            if let recommended = curve.recommendedSpend {
                svg += marker(recommended, x, y, label: "recommended", labelY: y.to + 22, dashed: true)
            }
            let midX = (x.from + x.to) / 2, midY = (y.from + y.to) / 2
            svg += "<text x=\"\(coord(midX))\" y=\"\(coord(oy + panelHeight - 6))\" text-anchor=\"middle\">spend per period</text>"
            let labelX = coord(ox + 12), labelY = coord(midY)
            svg += "<text x=\"\(labelX)\" y=\"\(labelY)\" transform=\"rotate(-90 \(labelX) \(labelY))\" text-anchor=\"middle\">KPI per period</text></g>\n"
        }
        return svg + "</svg>\n"
    }

    private static func marker(_ spend: Double, _ x: Scale, _ y: Scale, label: String, labelY: Double, dashed: Bool) -> String {
        guard spend.isFinite else { return "" }
        let px = coord(x(spend)), dash = dashed ? " stroke-dasharray=\"4 3\"" : ""
        return "<line x1=\"\(px)\" x2=\"\(px)\" y1=\"\(coord(y.from))\" y2=\"\(coord(y.to))\" stroke=\"#333\"\(dash)/>"
            + "<text x=\"\(coord(x(spend) + 3))\" y=\"\(coord(labelY))\" font-size=\"10\">\(label) \(format(spend))</text>"
    }

    /// Interval bars with the mean as a point; ROI below 1 loses money.
    private static func roiPlot(_ channels: [ChannelSummary]) -> String {
        guard !channels.isEmpty else { return "<p>No channels.</p>\n" }
        let rowHeight = 24.0, nameWidth = 180.0, plotTop = 28.0
        let axisY = plotTop + Double(channels.count) * rowHeight + 4, totalHeight = axisY + 40
        let xs = nice(channels.flatMap { [$0.roi.mean, $0.roi.lower, $0.roi.upper] } + [1], includingZero: true)
        let x = Scale(xs.low, xs.high, onto: nameWidth, width - right)
        var svg = open(width, totalHeight) + xAxis(xs.ticks, x, y: axisY, gridTop: plotTop - 4)
        let even = coord(x(1))
        svg += "<line x1=\"\(even)\" x2=\"\(even)\" y1=\"\(coord(plotTop - 10))\" y2=\"\(coord(axisY))\" stroke=\"#a40\" stroke-dasharray=\"5 3\"/>"
        svg += "<text x=\"\(even)\" y=\"\(coord(plotTop - 14))\" text-anchor=\"middle\" fill=\"#a40\">break-even</text>\n"
        for (i, channel) in channels.enumerated() {
            let rowY = plotTop + (Double(i) + 0.5) * rowHeight, cy = coord(rowY), roi = channel.roi
            svg += "<text x=\"\(coord(nameWidth - 8))\" y=\"\(coord(rowY + 4))\" text-anchor=\"end\">\(escape(channel.name))</text>"
            if roi.lower.isFinite && roi.upper.isFinite {
                let x0 = coord(x(roi.lower)), x1 = coord(x(roi.upper))
                svg += "<line x1=\"\(x0)\" x2=\"\(x1)\" y1=\"\(cy)\" y2=\"\(cy)\" stroke=\"\(colour(i))\" stroke-width=\"3\"/>"
            }
            if roi.mean.isFinite {
                svg += "<circle cx=\"\(coord(x(roi.mean)))\" cy=\"\(cy)\" r=\"4\" fill=\"\(actualColour)\">"
                svg += "<title>ROI \(format(roi.mean)) [\(format(roi.lower)), \(format(roi.upper))]</title></circle>"
            }
            svg += "\n"
        }
        svg += "<text x=\"\(coord((x.from + x.to) / 2))\" y=\"\(coord(totalHeight - 4))\" text-anchor=\"middle\">ROI: KPI per unit of spend</text>"
        return svg + "</svg>\n"
    }

    // MARK: Drawing helpers

    /// A linear map from data to pixels. A degenerate domain is widened first, so that a
    /// constant series or a single period never divides by zero.
    private struct Scale {
        let low: Double, high: Double, from: Double, to: Double

        init(_ low: Double, _ high: Double, onto from: Double, _ to: Double) {
            let range = MixHTMLReport.widened(low, high)
            self.low = range.0
            self.high = range.1
            self.from = from
            self.to = to
        }

        func callAsFunction(_ v: Double) -> Double { from + (v - low) / (high - low) * (to - from) }
    }

    /// A range at least a millionth of its magnitude wide (and (0, 1) when there is none).
    static func widened(_ low: Double, _ high: Double) -> (Double, Double) {
        guard low.isFinite, high.isFinite, low <= high, (high - low).isFinite else { return (0, 1) }
        let magnitude = max(abs(low), abs(high))
        guard high - low <= 1e-6 * magnitude else { return (low, high) }
        let middle = (low + high) / 2, pad = middle == 0 ? 1 : abs(middle) * 0.1
        return (middle - pad, middle + pad)
    }

    /// A domain covering the finite values, rounded out to about `count` steps of 1, 2 or
    /// 5 times a power of ten, and its ticks.
    static func nice(_ values: [Double], includingZero: Bool = false, count: Int = 5) -> (low: Double, high: Double, ticks: [Double]) {
        let finite = values.filter(\.isFinite) + (includingZero ? [0] : [])
        let (low, high) = widened(finite.min() ?? 0, finite.max() ?? 1)
        let raw = (high - low) / Double(max(count, 1))
        let power = pow(10, log10(raw).rounded(.down))
        let step = ([1.0, 2, 5].first { $0 * power >= raw * 0.999 } ?? 10) * power
        let first = (low / step).rounded(.down), last = (high / step).rounded(.up)
        guard step > 0, step.isFinite, abs(first) < 1e12, abs(last) < 1e12, last - first <= 100 else { return (low, high, [low, high]) }
        return (first * step, last * step, (Int(first)...Int(last)).map { Double($0) * step })
    }

    private static func open(_ w: Double, _ h: Double) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" viewBox=\"0 0 \(Int(w)) \(Int(h))\" font-size=\"11\">\n"
    }

    /// Horizontal grid lines with their labels on the left.
    private static func yAxis(_ ticks: [Double], _ y: Scale, from x0: Double, to x1: Double) -> String {
        ticks.map { t in
            let py = coord(y(t))
            return "<line class=\"grid\" x1=\"\(coord(x0))\" x2=\"\(coord(x1))\" y1=\"\(py)\" y2=\"\(py)\"/>"
                + "<text x=\"\(coord(x0 - 5))\" y=\"\(coord(y(t) + 4))\" text-anchor=\"end\">\(format(t))</text>"
        }.joined() + "\n"
    }

    /// The axis line at `y`, tick marks and labels, and vertical grid lines when `gridTop` is given.
    private static func xAxis(_ ticks: [Double], _ x: Scale, y: Double, gridTop: Double? = nil) -> String {
        var s = "<line class=\"axis\" x1=\"\(coord(x.from))\" x2=\"\(coord(x.to))\" y1=\"\(coord(y))\" y2=\"\(coord(y))\"/>"
        for t in ticks {
            let px = coord(x(t))
            if let gridTop { s += "<line class=\"grid\" x1=\"\(px)\" x2=\"\(px)\" y1=\"\(coord(gridTop))\" y2=\"\(coord(y))\"/>" }
            s += "<line class=\"axis\" x1=\"\(px)\" x2=\"\(px)\" y1=\"\(coord(y))\" y2=\"\(coord(y + 4))\"/>"
            s += "<text x=\"\(px)\" y=\"\(coord(y + 15))\" text-anchor=\"middle\">\(format(t))</text>"
        }
        return s + "\n"
    }

    /// The axis line and about six period labels, evenly spaced, the outer ones kept inside the drawing.
    private static func periodAxis(_ periods: [String], _ x: Scale, y: Double) -> String {
        let n = periods.count, shown = min(n, 6)
        guard n > 0 else { return "" }
        let indices = shown == 1 ? [0] : (0..<shown).map { Int((Double($0) * Double(n - 1) / Double(shown - 1)).rounded()) }
        var s = "<line class=\"axis\" x1=\"\(coord(x.from))\" x2=\"\(coord(x.to))\" y1=\"\(coord(y))\" y2=\"\(coord(y))\"/>"
        for (j, i) in indices.enumerated() {
            let anchor = shown == 1 ? "middle" : j == 0 ? "start" : j == shown - 1 ? "end" : "middle"
            s += "<text x=\"\(coord(x(Double(i))))\" y=\"\(coord(y + 16))\" text-anchor=\"\(anchor)\">\(escape(periods[i]))</text>"
        }
        return s + "\n"
    }

    private static func polyline(_ points: [(Double, Double)], stroke: String) -> String {
        points.count < 2 ? "" : "<polyline fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"1.5\" points=\"\(pointList(points))\"/>\n"
    }

    private static func polygon(_ points: [(Double, Double)], fill: String, opacity: Double) -> String {
        points.count < 3 ? "" : "<polygon fill=\"\(fill)\" fill-opacity=\"\(opacity)\" stroke=\"none\" points=\"\(pointList(points))\"/>\n"
    }

    private static func pointList(_ points: [(Double, Double)]) -> String {
        points.map { "\(coord($0.0)),\(coord($0.1))" }.joined(separator: " ")
    }

    private static func key(_ entries: [(colour: String, label: String)]) -> String {
        "<p class=\"key\">" + entries.map { "<span style=\"background:\($0.colour)\"></span>\(escape($0.label))" }.joined() + "</p>\n"
    }

    // MARK: Text

    /// A pixel coordinate to a tenth; anything not finite becomes 0, so that no SVG
    /// attribute can read "nan".
    private static func coord(_ v: Double) -> String { v.isFinite ? String(format: "%.1f", v) : "0" }

    /// Three significant digits, thousands, millions and billions as k, M and B: the page
    /// is for reading, and more digits would only hide how wide the intervals are.
    static func format(_ v: Double) -> String {
        guard v.isFinite else { return "–" }
        // Rounded first, so that 999.7 becomes 1k rather than 1e+03.
        let rounded = Double(String(format: "%.3g", v)) ?? v
        let magnitude = abs(rounded)
        if magnitude == 0 { return "0" }
        if magnitude < 1e-3 || magnitude >= 1e12 { return String(format: "%.2e", rounded) }
        for (scale, suffix) in [(1e9, "B"), (1e6, "M"), (1e3, "k")] where magnitude >= scale {
            return String(format: "%.3g", rounded / scale) + suffix
        }
        return String(format: "%.3g", rounded)
    }

    /// Escapes text for element content and quoted attribute values.
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }
}
