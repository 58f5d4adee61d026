import Common
import Foundation

extension ChannelEffect {
    /// KPI per period from spending `spend` every period: with spend steady, normalised
    /// adstock equals the spend, so only saturation shapes the response.
    public func response(toSpend spend: Double) -> Double {
        guard spend > 0 else { return 0 }
        let ratio = halfSaturation / spend
        return effect / (1 + (slope == 1 ? ratio : pow(ratio, slope)))
    }
}

/// What the optimiser allocates among: a fit's channels, or a hierarchical fit's geo ×
/// channel pairs, with their posterior responses.
public struct SpendUnits: Sendable {
    public var names: [String]
    /// Mean spend per period in the data, and the largest in one period.
    public var current: [Double]
    public var peak: [Double]
    /// [draw][unit]: each draw's effects, whose steady-state responses are summed.
    public var effects: [[ChannelEffect]]
    /// Per draw, the standard deviation of one period's observation noise (KPI units).
    public var noise: [Double]
    /// Each unit's channel (index into the fit's channels).
    public var channel: [Int]
}

extension MixFit {
    public var spendUnits: SpendUnits {
        let data = model.data
        return SpendUnits(
            names: data.channels, current: data.channels.indices.map(data.meanSpend), peak: data.channels.indices.map(data.peakSpend), effects: effects,
            noise: chains.flatMap { c in (0..<c.count).map { model.noiseScale(c.point($0)) } }, channel: Array(data.channels.indices))
    }
}

/// Spend per period across channels, and the KPI per period it is expected to add.
public struct Allocation: Sendable {
    /// Per channel, in the data's currency per period.
    public var spend: [Double]
    /// The expected KPI the channels add per period: posterior mean and 90 % interval.
    public var expected: Interval
    /// What one period would show: the expected value's uncertainty plus the model's
    /// observation noise.
    public var predictive: Interval
    public var total: Double { spend.reduce(0, +) }
}

/// The optimiser's answer: the current mix, the best mix for the same budget, and where
/// the next 10 % of budget should go and what it buys.
public struct BudgetPlan: Sendable {
    public var channels: [String]
    /// Per channel, the spend per period the optimiser may choose from.
    public var bounds: [ClosedRange<Double>]
    /// The data's mean spend per period per channel.
    public var current: Allocation
    public var optimal: Allocation
    /// Optimal minus current, paired by posterior draw.
    public var gain: Interval
    /// The best allocation of 110 % of the budget, reached from `optimal` by adding spend
    /// where it buys most; less when the bounds do not leave room.
    public var tenPercentMore: Allocation
    /// What the extra spend adds, paired by posterior draw.
    public var tenPercentGain: Interval
}

/// The allocation of a per-period budget that maximises the expected KPI under the
/// posterior (the mean over draws of each channel's steady-state response), within
/// per-channel bounds. Spend is added in small steps, each to the channel whose expected
/// response grows most per unit: exact up to the step size when every response is
/// concave (Hill slope at most 1, the default), a greedy approximation otherwise.
public enum BudgetOptimiser {
    /// `budget` is per period (default: the data's mean total spend per period); bounds
    /// default to 0 … the unit's largest spend in one period of the data, so the plan
    /// stays where the response curves were observed.
    public static func plan(_ units: SpendUnits, budget: Double? = nil, bounds: [String: ClosedRange<Double>] = [:], steps: Int = 2000, seed: UInt64 = 1) throws(MixError) -> BudgetPlan {
        let (budget, limits) = try resolve(names: units.names, current: units.current, peak: units.peak, budget: budget, bounds: bounds)
        let floor = limits.reduce(0) { $0 + $1.lowerBound }
        let effects = units.effects, count = units.names.count
        var random = SeededRandom(seed: seed)
        let noise = units.noise.map { $0 * random.normal() }
        func evaluate(_ spend: [Double]) -> (Allocation, [Double]) {
            let perDraw = effects.map { e in (0..<count).reduce(0.0) { $0 + e[$1].response(toSpend: spend[$1]) } }
            return (Allocation(spend: spend, expected: Interval(perDraw), predictive: Interval(zip(perDraw, noise).map { $0 + $1 })), perDraw)
        }
        let step = (budget - floor) / Double(steps)
        let optimalSpend = greedy(effects, from: limits.map(\.lowerBound), adding: budget - floor, step: step, limits: limits)
        let moreSpend = greedy(effects, from: optimalSpend, adding: 0.1 * budget, step: step, limits: limits)
        let (current, currentDraws) = evaluate(units.current)
        let (optimal, optimalDraws) = evaluate(optimalSpend)
        let (more, moreDraws) = evaluate(moreSpend)
        return BudgetPlan(
            channels: units.names, bounds: limits, current: current, optimal: optimal, gain: Interval(zip(optimalDraws, currentDraws).map { $0 - $1 }),
            tenPercentMore: more, tenPercentGain: Interval(zip(moreDraws, optimalDraws).map { $0 - $1 }))
    }

    /// A single-series fit's plan: the units are its channels.
    public static func plan(_ fit: MixFit, budget: Double? = nil, bounds: [String: ClosedRange<Double>] = [:], steps: Int = 2000, seed: UInt64 = 1) throws(MixError) -> BudgetPlan {
        try plan(fit.spendUnits, budget: budget, bounds: bounds, steps: steps, seed: seed)
    }

    /// The budget and per-unit bounds a plan would use, or why they are impossible:
    /// callers check before sampling, not after.
    public static func resolve(names: [String], current: [Double], peak: [Double], budget: Double?, bounds: [String: ClosedRange<Double>]) throws(MixError) -> (Double, [ClosedRange<Double>]) {
        for name in bounds.keys.sorted() where !names.contains(name) {
            throw MixError("budget bounds for '\(name)', which is not one of \(names.prefix(12).joined(separator: ", "))")
        }
        let limits = names.enumerated().map { i, name in bounds[name] ?? 0...peak[i] }
        let budget = budget ?? current.reduce(0, +)
        let floor = limits.reduce(0) { $0 + $1.lowerBound }, ceiling = limits.reduce(0) { $0 + $1.upperBound }
        guard budget.isFinite, budget > 0 else { throw MixError("the budget must be a positive number") }
        guard floor <= budget, budget <= ceiling else {
            throw MixError("a budget of \(budget) per period is outside what the bounds allow (\(floor) … \(ceiling))")
        }
        return (budget, limits)
    }

    /// As above, for the channels of `data`.
    public static func resolve(_ data: MixData, budget: Double?, bounds: [String: ClosedRange<Double>]) throws(MixError) -> (Double, [ClosedRange<Double>]) {
        try resolve(names: data.channels, current: data.channels.indices.map(data.meanSpend), peak: data.channels.indices.map(data.peakSpend), budget: budget, bounds: bounds)
    }

    /// Posterior-mean extra KPI per extra unit of spend per period at `spend` for unit
    /// `i`: what one more unit is worth to a bidder or pacer.
    static func marginalValue(_ units: SpendUnits, _ i: Int, at spend: Double) -> Double {
        let h = max(spend * 1e-3, 1e-6)
        let low = max(spend - h, 0)
        let up = units.effects.reduce(0) { $0 + $1[i].response(toSpend: spend + h) }
        let down = units.effects.reduce(0) { $0 + $1[i].response(toSpend: low) }
        return (up - down) / ((spend + h - low) * Double(max(units.effects.count, 1)))
    }

    /// Adds `amount` to `start` in steps of at most `step`, each to the channel whose
    /// posterior-mean response grows most per unit spent, never past a channel's bound.
    static func greedy(_ effects: [[ChannelEffect]], from start: [Double], adding amount: Double, step: Double, limits: [ClosedRange<Double>]) -> [Double] {
        var spend = start
        let draws = Double(max(effects.count, 1))
        func meanResponse(_ c: Int, _ s: Double) -> Double { effects.reduce(0) { $0 + $1[c].response(toSpend: s) } / draws }
        var level = spend.indices.map { meanResponse($0, spend[$0]) }
        // Each channel's response one step on; only the chosen channel's moves.
        var ahead: [(room: Double, level: Double)] = spend.indices.map { _ in (-1, 0) }
        var left = amount
        while left > step * 1e-9 {
            var best = -1, bestRate = -Double.infinity, bestStep = 0.0, bestLevel = 0.0
            for c in spend.indices {
                let room = min(step, left, limits[c].upperBound - spend[c])
                guard room > 0 else { continue }
                if ahead[c].room != room { ahead[c] = (room, meanResponse(c, spend[c] + room)) }
                let next = ahead[c].level
                let rate = (next - level[c]) / room
                if rate > bestRate { (best, bestRate, bestStep, bestLevel) = (c, rate, room, next) }
            }
            guard best >= 0 else { break }
            spend[best] += bestStep
            level[best] = bestLevel
            ahead[best].room = -1
            left -= bestStep
        }
        return spend
    }
}
