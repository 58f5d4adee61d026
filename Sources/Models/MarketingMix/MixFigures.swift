/// Posterior summaries of a series: per point, the mean and a central 90 % interval.
public struct Band: Sendable, Equatable {
    public var mean: [Double]
    public var lower: [Double]
    public var upper: [Double]

    public init(mean: [Double], lower: [Double], upper: [Double]) {
        precondition(mean.count == lower.count && mean.count == upper.count)
        self.mean = mean
        self.lower = lower
        self.upper = upper
    }

    /// From draws of a series ([draw][point]), per point.
    public init(draws: [[Double]], mass: Double = 0.9) {
        let points = draws.first?.count ?? 0
        var mean: [Double] = [], lower: [Double] = [], upper: [Double] = []
        for i in 0..<points {
            let summary = Interval(draws.map { $0[i] }, mass: mass)
            mean.append(summary.mean)
            lower.append(summary.lower)
            upper.append(summary.upper)
        }
        self.init(mean: mean, lower: lower, upper: upper)
    }
}

/// A channel's response curve: expected KPI per period when the channel spends a steady
/// amount every period (adstock in its steady state), over a grid of spend levels.
public struct ResponseCurve: Sendable, Equatable {
    public var channel: String
    /// Spend per period, in the data's currency, from 0 upwards.
    public var spend: [Double]
    /// KPI per period the channel adds at each spend level.
    public var response: Band
    /// The channel's mean spend per period in the data.
    public var currentSpend: Double
    /// Spend per period the budget optimiser recommends, when it ran.
    public var recommendedSpend: Double?

    public init(channel: String, spend: [Double], response: Band, currentSpend: Double, recommendedSpend: Double? = nil) {
        self.channel = channel
        self.spend = spend
        self.response = response
        self.currentSpend = currentSpend
        self.recommendedSpend = recommendedSpend
    }
}

/// What the HTML report draws, computed from a fit: the fitted KPI against the actual,
/// each channel's contribution per period, response curves and ROI intervals.
public struct MixFigures: Sendable {
    /// Period labels (dates when the data had them), in time order.
    public var periods: [String]
    public var actual: [Double]
    /// The model's expected KPI per period.
    public var fitted: Band
    /// Expected KPI per period without any channel: intercept, trend, seasonality, controls.
    public var baseline: [Double]
    /// Per channel (in `channels` order), its mean contribution per period.
    public var contributions: [[Double]]
    public var channels: [ChannelSummary]
    public var curves: [ResponseCurve]

    public init(periods: [String], actual: [Double], fitted: Band, baseline: [Double], contributions: [[Double]], channels: [ChannelSummary], curves: [ResponseCurve]) {
        self.periods = periods
        self.actual = actual
        self.fitted = fitted
        self.baseline = baseline
        self.contributions = contributions
        self.channels = channels
        self.curves = curves
    }
}

extension [ChainDraws] {
    /// Every k-th draw over the chains in order, k chosen so that at most `limit` remain:
    /// bands over time need a few hundred draws, not thousands.
    func thinnedPoints(limit: Int) -> [[Double]] {
        let all = flatMap { c in (0..<c.count).map { (c, $0) } }
        let stride = Swift.max(1, all.count / Swift.max(limit, 1))
        return Swift.stride(from: 0, to: all.count, by: stride).map { all[$0].0.point(all[$0].1) }
    }
}

extension MixFit {
    /// Each channel's response curve on `points` spend levels from 0 to twice its
    /// largest spend in one period (or to its recommended spend, if higher).
    public func responseCurves(points: Int = 41, plan: BudgetPlan? = nil) -> [ResponseCurve] {
        let data = model.data
        return data.channels.enumerated().map { c, name in
            let peak = (0..<data.count).map { data.spend($0, c) }.max() ?? 0
            let recommended = plan?.optimal.spend[c]
            let top = max(2 * peak, recommended ?? 0)
            let grid = (0..<points).map { top * Double($0) / Double(max(points - 1, 1)) }
            let draws = effects.map { e in grid.map { e[c].response(toSpend: $0) } }
            return ResponseCurve(
                channel: name, spend: grid, response: Band(draws: draws), currentSpend: data.totalSpend(c) / Double(data.count),
                recommendedSpend: recommended)
        }
    }

    /// Everything the HTML report draws; bands over time use at most `draws` posterior draws.
    public func figures(plan: BudgetPlan? = nil, draws limit: Int = 500) -> MixFigures {
        let workspace = MixModel.Workspace(model)
        var fitted: [[Double]] = [], baselines: [[Double]] = [], contributions: [[[Double]]] = []
        for q in chains.thinnedPoints(limit: limit) {
            let (baseline, channels) = model.decomposition(q, workspace: workspace)
            baselines.append(baseline)
            contributions.append(channels)
            fitted.append(baseline.indices.map { t in channels.reduce(baseline[t]) { $0 + $1[t] } })
        }
        let n = Double(max(fitted.count, 1)), T = model.data.count
        func mean(_ series: [[Double]]) -> [Double] { (0..<T).map { t in series.reduce(0) { $0 + $1[t] } / n } }
        return MixFigures(
            periods: model.data.periods, actual: model.data.kpi, fitted: Band(draws: fitted), baseline: mean(baselines),
            contributions: (0..<model.channelCount).map { c in mean(contributions.map { $0[c] }) }, channels: channels,
            curves: responseCurves(plan: plan))
    }
}
