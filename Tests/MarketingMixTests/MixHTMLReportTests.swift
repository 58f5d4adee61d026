import Foundation
import Testing

@testable import MarketingMix

/// The HTML report: one page with its four drawings in order, names escaped, the warning
/// when the fit has not converged, and no "nan" or "inf" in any coordinate whatever the
/// input (missing values, constant series, one period, no channels).
@Suite struct MixHTMLReportTests {
    static let awkward = "<tv&\"radio\">"

    /// 12 weeks, two channels, the second with a name full of HTML's special characters.
    static func figures(periods: Int = 12) -> MixFigures {
        let labels = (0..<periods).map { "2024-W\($0 + 1)" }
        let actual = (0..<periods).map { 100 + 10 * sin(Double($0)) }
        let mean = (0..<periods).map { 100 + 9 * sin(Double($0)) }
        let fitted = Band(mean: mean, lower: mean.map { $0 - 5 }, upper: mean.map { $0 + 5 })
        let baseline = [Double](repeating: 70, count: periods)
        let rising: [Double] = (0..<periods).map { 20 + Double($0) }
        let falling: [Double] = (0..<periods).map { 10 - 0.5 * Double($0) }
        let contributions = [rising, falling]
        func interval(_ m: Double) -> Interval { Interval(mean: m, lower: 0.8 * m, upper: 1.2 * m) }
        let channels = ["tv", awkward].enumerated().map { k, name in
            ChannelSummary(
                name: name, spend: 12_500 * Double(k + 1), contribution: interval(300), share: interval(0.5), roi: interval(k == 0 ? 1.4 : 0.7),
                marginalROI: interval(0.6), adstock: interval(0.4), halfSaturation: interval(1_000), slope: interval(1))
        }
        let spend = (0...20).map { 100 * Double($0) }
        let response = spend.map { 50 * $0 / ($0 + 800) }
        let curves = channels.enumerated().map { k, c in
            ResponseCurve(
                channel: c.name, spend: spend, response: Band(mean: response, lower: response.map { 0.8 * $0 }, upper: response.map { 1.2 * $0 }),
                currentSpend: 900, recommendedSpend: k == 0 ? 1_300 : nil)
        }
        return MixFigures(
            periods: labels, actual: actual, fitted: fitted, baseline: baseline, contributions: contributions, channels: channels, curves: curves)
    }

    static func count(_ needle: String, in html: String) -> Int { html.components(separatedBy: needle).count - 1 }

    /// Swift prints non-finite doubles as "nan", "inf" and "-inf"; none of the page's own
    /// words contain those letters.
    static func expectFinite(_ html: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!html.lowercased().contains("nan"), sourceLocation: sourceLocation)
        #expect(!html.lowercased().contains("inf"), sourceLocation: sourceLocation)
    }

    @Test func aConvergedFitIsOnePageWithFourDrawingsInOrder() {
        let html = MixHTMLReport.render(Self.figures(), problems: [], source: "data/mmm.csv")
        #expect(html.hasPrefix("<!doctype html>"))
        #expect(Self.count("<html", in: html) == 1 && Self.count("</html>", in: html) == 1)
        #expect(Self.count("<svg", in: html) == 4)
        #expect(Self.count("</svg>", in: html) == 4)
        #expect(Self.count("<g class=\"panel\">", in: html) == 2)
        #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("href="))
        #expect(html.contains("<title>Marketing-mix fit</title>") && html.contains("data/mmm.csv"))
        #expect(!html.contains("NOT CONVERGED"))
        #expect(!html.contains("Budget allocation"))
        #expect(html.contains("break-even") && html.contains("recommended"))
        let headings = ["<h1>Marketing-mix fit", "<table>", "Fit against actuals", "Contributions over time", "Response curves", "<h2>ROI</h2>"]
        let positions = headings.map { html.range(of: $0)?.lowerBound }
        #expect(positions.allSatisfy { $0 != nil })
        let found = positions.compactMap { $0 }
        #expect(found == found.sorted())
        Self.expectFinite(html)
    }

    @Test func namesAndTheSourceAreEscaped() {
        let html = MixHTMLReport.render(Self.figures(), problems: ["R-hat <1.01> & more"], source: "a<b>.csv")
        let escaped = "&lt;tv&amp;&quot;radio&quot;&gt;"
        #expect(!html.contains("<tv&"))
        // Table, legend, response panel and ROI row.
        #expect(Self.count(escaped, in: html) == 4)
        #expect(html.contains(">tv<"))
        #expect(html.contains("a&lt;b&gt;.csv") && !html.contains("a<b>"))
        #expect(html.contains("R-hat &lt;1.01&gt; &amp; more"))
        #expect(MixHTMLReport.escape("'&'") == "&#39;&amp;&#39;")
    }

    @Test func aFitThatHasNotConvergedSaysSoAndListsWhy() {
        let html = MixHTMLReport.render(Self.figures(), problems: ["3 divergent transitions", "R-hat 1.08 for intercept"], source: "x.csv")
        #expect(Self.count("NOT CONVERGED", in: html) == 1)
        #expect(html.contains("must not be used"))
        #expect(html.contains("<li>3 divergent transitions</li>") && html.contains("<li>R-hat 1.08 for intercept</li>"))
        #expect(html.range(of: "NOT CONVERGED")!.lowerBound < html.range(of: "<table>")!.lowerBound)
    }

    @Test func anAllocationIsIncludedVerbatimAfterTheDrawings() {
        let allocation = "<table class=\"allocation\"><tr><td>tv</td><td>+12 %</td></tr></table>"
        let html = MixHTMLReport.render(Self.figures(), problems: [], source: "x.csv", allocation: allocation)
        #expect(html.contains("<h2>Budget allocation</h2>\n" + allocation))
        #expect(html.range(of: "<h2>ROI</h2>")!.lowerBound < html.range(of: allocation)!.lowerBound)
    }

    @Test func missingValuesAndConstantSeriesNeverReachTheDrawings() {
        var f = Self.figures()
        f.actual[3] = .nan
        f.fitted.mean[4] = .nan
        f.fitted.lower[5] = .nan
        f.fitted.upper[6] = .infinity
        f.baseline[2] = .nan
        f.contributions[0][7] = -Double.infinity
        f.channels[1].roi = Interval(mean: .nan, lower: 0.2, upper: .infinity)
        f.channels[0].share = Interval(mean: .nan, lower: .nan, upper: .nan)
        f.curves[0].response.mean[3] = .nan
        f.curves[1].currentSpend = .nan
        f.curves[1].recommendedSpend = Double.infinity
        let html = MixHTMLReport.render(f, problems: [], source: "x.csv")
        #expect(Self.count("<svg", in: html) == 4)
        Self.expectFinite(html)

        var constant = Self.figures()
        let flat = [Double](repeating: 42, count: 12)
        constant.actual = flat
        constant.fitted = Band(mean: flat, lower: flat, upper: flat)
        constant.baseline = [Double](repeating: 0, count: 12)
        constant.contributions = [[Double](repeating: 0, count: 12), [Double](repeating: 0, count: 12)]
        for k in constant.curves.indices {
            let zero = [Double](repeating: 0, count: constant.curves[k].spend.count)
            constant.curves[k].response = Band(mean: zero, lower: zero, upper: zero)
            constant.curves[k].spend = zero
            constant.curves[k].currentSpend = 0
        }
        for k in constant.channels.indices { constant.channels[k].roi = Interval(mean: 1, lower: 1, upper: 1) }
        let flatHTML = MixHTMLReport.render(constant, problems: [], source: "x.csv")
        #expect(Self.count("<svg", in: flatHTML) == 4)
        Self.expectFinite(flatHTML)
    }

    @Test func oneOrNoPeriodsAndNoChannelsStillRender() {
        let one = MixFigures(
            periods: ["2024-01-01"], actual: [5], fitted: Band(mean: [5], lower: [4], upper: [6]), baseline: [5], contributions: [], channels: [],
            curves: [])
        let html = MixHTMLReport.render(one, problems: [], source: "one.csv")
        #expect(html.hasSuffix("</html>\n"))
        #expect(html.contains("2024-01-01"))
        #expect(Self.count("<svg", in: html) == 2)
        Self.expectFinite(html)

        let none = MixFigures(periods: [], actual: [], fitted: Band(mean: [], lower: [], upper: []), baseline: [], contributions: [], channels: [], curves: [])
        let empty = MixHTMLReport.render(none, problems: ["no data"], source: "")
        #expect(empty.hasSuffix("</html>\n") && empty.contains("NOT CONVERGED"))
        #expect(Self.count("<svg", in: empty) == 0)
        Self.expectFinite(empty)

        let single = MixHTMLReport.render(Self.figures(periods: 1), problems: [], source: "x.csv")
        #expect(Self.count("<svg", in: single) == 4)
        Self.expectFinite(single)
    }

    @Test func numbersAreCompactAndTicksRound() {
        #expect(MixHTMLReport.format(1_234) == "1.23k")
        #expect(MixHTMLReport.format(999.7) == "1k")
        #expect(MixHTMLReport.format(2_500_000) == "2.5M")
        #expect(MixHTMLReport.format(0.12345) == "0.123")
        #expect(MixHTMLReport.format(-0.0) == "0")
        #expect(MixHTMLReport.format(.nan) == "–")
        #expect(MixHTMLReport.nice([0.3, 9.7]).ticks == [0, 2, 4, 6, 8, 10])
        let flat = MixHTMLReport.nice([3, 3, .nan])
        #expect(flat.low < 3 && flat.high > 3 && flat.ticks.count >= 2)
        let empty = MixHTMLReport.nice([]).ticks
        #expect(empty.allSatisfy { $0.isFinite })
    }
}
