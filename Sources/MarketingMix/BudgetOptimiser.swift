import Bandits
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
    /// default to 0 … the channel's largest spend in one period of the data, so the plan
    /// stays where the response curves were observed.
    public static func plan(_ fit: MixFit, budget: Double? = nil, bounds: [String: ClosedRange<Double>] = [:], steps: Int = 2000, seed: UInt64 = 1) throws(MixError) -> BudgetPlan {
        let data = fit.model.data, C = data.channels.count
        let (budget, limits) = try resolve(data, budget: budget, bounds: bounds)
        let floor = limits.reduce(0) { $0 + $1.lowerBound }
        let currentSpend = (0..<C).map { data.totalSpend($0) / Double(data.count) }
        let effects = fit.effects
        var random = SeededRandom(seed: seed)
        let noise = fit.chains.flatMap { c in (0..<c.count).map { fit.model.noiseScale(c.point($0)) * random.normal() } }
        func evaluate(_ spend: [Double]) -> (Allocation, [Double]) {
            let perDraw = effects.map { e in (0..<C).reduce(0.0) { $0 + e[$1].response(toSpend: spend[$1]) } }
            return (Allocation(spend: spend, expected: Interval(perDraw), predictive: Interval(zip(perDraw, noise).map { $0 + $1 })), perDraw)
        }
        let step = (budget - floor) / Double(steps)
        let optimalSpend = greedy(effects, from: limits.map(\.lowerBound), adding: budget - floor, step: step, limits: limits)
        let moreSpend = greedy(effects, from: optimalSpend, adding: 0.1 * budget, step: step, limits: limits)
        let (current, currentDraws) = evaluate(currentSpend)
        let (optimal, optimalDraws) = evaluate(optimalSpend)
        let (more, moreDraws) = evaluate(moreSpend)
        return BudgetPlan(
            channels: data.channels, bounds: limits, current: current, optimal: optimal, gain: Interval(zip(optimalDraws, currentDraws).map { $0 - $1 }),
            tenPercentMore: more, tenPercentGain: Interval(zip(moreDraws, optimalDraws).map { $0 - $1 }))
    }

    /// The budget and per-channel bounds a plan for `data` would use, or why they are
    /// impossible: callers check before sampling, not after.
    public static func resolve(_ data: MixData, budget: Double?, bounds: [String: ClosedRange<Double>]) throws(MixError) -> (Double, [ClosedRange<Double>]) {
        for name in bounds.keys.sorted() where !data.channels.contains(name) { throw MixError("budget bounds for '\(name)', which is not a channel of the data") }
        let limits = data.channels.enumerated().map { c, name in
            bounds[name] ?? 0...((0..<data.count).map { data.spend($0, c) }.max() ?? 0)
        }
        let budget = budget ?? (0..<data.channels.count).reduce(0) { $0 + data.totalSpend($1) } / Double(data.count)
        let floor = limits.reduce(0) { $0 + $1.lowerBound }, ceiling = limits.reduce(0) { $0 + $1.upperBound }
        guard budget.isFinite, budget > 0 else { throw MixError("the budget must be a positive number") }
        guard floor <= budget, budget <= ceiling else {
            throw MixError("a budget of \(budget) per period is outside what the bounds allow (\(floor) … \(ceiling))")
        }
        return (budget, limits)
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
