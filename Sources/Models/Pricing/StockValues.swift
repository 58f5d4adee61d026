import Common

/// What a unit of stock is worth, under a known demand, by dynamic programming over (units
/// left, customers left): with V_t(s) the best expected value of t customers and s units,
/// V_t(s) = V_{t−1}(s) + max(0, max_k θ_k·(v_k − Δ_{t−1}(s))), Δ_t(s) = V_t(s) − V_t(s−1),
/// V_0 = V_t(0) = 0. The best answer for the next customer with s units and t customers
/// left is the point maximising θ_k·(v_k − Δ_{t−1}(s)), or none when every point's is negative:
/// a sale must earn at least what the unit it uses is worth to the customers after.
///
/// Solved for one sampled demand, this is the posterior-sampling policy
/// (`PricingStrategy.dynamicProgram`). The recursion costs O(customers × units × points);
/// rows of Δ are kept at `checkpoints` below the customers left when it was solved, so the
/// plan serves the customers of an episode (until the last checkpoint) without solving
/// again, each reading the nearest row at or above its own time (a row for slightly more
/// customers: a slightly higher value of stock, never a lower one).
public struct StockValues: Sendable, Equatable {
    /// The demand the plan was solved for, one conversion per ladder point.
    public let conversion: [Double]
    public let values: [Double]
    /// Customers left after the current one, descending, one per row.
    public let checkpoints: [Int]
    /// rows[i][s] = Δ_{checkpoints[i]}(s) for s in 0...units (row[0] unused).
    let rows: [[Double]]

    /// Solves for `customers` customers and `units` units, keeping `rows` rows spread
    /// evenly over the last `episode` customers of the solve (at least one).
    public static func solve(values: [Double], conversion: [Double], customers: Int, units: Int, episode: Int, rows count: Int = 16) -> StockValues {
        precondition(values.count == conversion.count && customers >= 1 && units >= 0 && episode >= 1 && count >= 1)
        let top = customers - 1
        let bottom = max(0, top - episode)
        let step = max(1, (top - bottom) / count)
        var wanted = Set(stride(from: top, through: bottom, by: -step))
        wanted.insert(top)
        var v = [Double](repeating: 0, count: units + 1)
        var rows: [Int: [Double]] = [:]
        func save(_ t: Int) {
            var delta = [Double](repeating: 0, count: units + 1)
            for s in stride(from: 1, through: units, by: 1) { delta[s] = v[s] - v[s - 1] }
            rows[t] = delta
        }
        if wanted.contains(0) { save(0) }
        var t = 0
        while t < top {
            t += 1
            // In place from the top: V_t(s) reads V_{t−1}(s) and V_{t−1}(s − 1). Units beyond
            // t can never all sell: V_t(s) = V_t(t) there.
            let reach = min(units, t)
            var s = reach
            while s >= 1 {
                let delta = v[s] - v[s - 1]
                var best = 0.0
                for k in values.indices {
                    let gain = conversion[k] * (values[k] - delta)
                    if gain > best { best = gain }
                }
                v[s] += best
                s -= 1
            }
            if reach < units { for s in (reach + 1)...units { v[s] = v[reach] } }
            if wanted.contains(t) { save(t) }
        }
        let kept = rows.keys.sorted(by: >)
        return StockValues(conversion: conversion, values: values, checkpoints: kept, rows: kept.map { rows[$0]! })
    }

    /// The lowest time this plan serves: below it, solve again.
    public var lastCheckpoint: Int { checkpoints.last ?? 0 }

    /// Whether the next customer needs a new plan: none yet, the plan's rows end above
    /// their time, or the customers served have doubled since the plan was solved (the
    /// posterior has changed enough to sample again).
    public static func isDue(_ plan: StockValues?, customersLeft: Int, served: Int, servedAtSolve: Int) -> Bool {
        guard let plan else { return true }
        return customersLeft - 1 < plan.lastCheckpoint || served >= 2 * max(1, servedAtSolve)
    }

    /// Δ_{t}(s) for the next customer with `units` left and `customersLeft` customers left
    /// (this one included), from the nearest row at or above t = customersLeft − 1.
    public func opportunityCost(units: Int, customersLeft: Int) -> Double {
        guard units >= 1 else { return .infinity }
        let t = customersLeft - 1
        var row = 0
        for (i, c) in checkpoints.enumerated() where c >= t { row = i }
        let r = rows[row]
        return units < r.count ? r[units] : 0
    }

    /// The best point among `allowed` (positions into it) for that customer, or nil to
    /// withhold.
    public func answer(allowed: [Int], units: Int, customersLeft: Int) -> Int? {
        Self.best(allowed: allowed, values: values, conversion: conversion, cost: Self.clamped(opportunityCost(units: units, customersLeft: customersLeft), values))
    }

    /// A unit is worth at most the top price; rounding in the recursion can put it a hair
    /// above, which would turn every customer away.
    static func clamped(_ cost: Double, _ values: [Double]) -> Double {
        cost.isFinite ? min(cost, values.max() ?? cost) : cost
    }

    /// The point of `allowed` (a position into it) whose sale gains most over keeping the
    /// unit, worth `cost`; nil when every sale loses. A sale that gains nothing is made:
    /// over a horizon long enough the unit's value rounds to the top price exactly, and
    /// selling at it then is as good as waiting, not a reason to turn the customer away.
    static func best(allowed: [Int], values: [Double], conversion: [Double], cost: Double) -> Int? {
        var best = 0.0
        var at: Int?
        for (i, k) in allowed.enumerated() {
            let gain = conversion[k] * (values[k] - cost)
            if gain > best || (at == nil && gain >= 0) {
                best = gain
                at = i
            }
        }
        return at
    }
}

/// Posterior draws of the dynamic program at one state (units left, customers left), for
/// a server that prices many customers from one published state: each draw is a sampled
/// demand and the value of a unit under it, Δ_{t−1}(s). A decision follows one draw
/// chosen uniformly by its own generator, so its propensity is exact: the share of draws
/// that give its answer.
///
/// A solve costs customers × units × points; beyond `budget` the problem is solved scaled
/// down by an integer k (customers / k and units / k, the same stock per customer). The
/// value of a unit depends mostly on that ratio — as the problem grows the program's value
/// per customer tends to the linear program's (the fluid limit) — so the scaled Δ stands
/// for the original's, at a coarser grain of stock and time.
public struct StockValueDraws: Sendable, Equatable {
    /// Sampled conversion per ladder point, one row per draw.
    public let conversions: [[Double]]
    /// The value of the next unit under each draw.
    public let costs: [Double]
    /// How much the solved problem was scaled down (1: solved as it is).
    public let scale: Int
    public let values: [Double]

    /// The cell-points a server's solve may cost: 0.1–0.16 ms per draw measured on a
    /// ladder of ten (release).
    public static let budget = 250_000

    /// `draws` samples of `demand` (context-free), each solved for `customers` customers
    /// (this one included) and `units` units within `budget` cell-points.
    public static func sample<D: DemandModel>(
        values: [Double], demand: D, customers: Int, units: Int, draws: Int, budget: Int, random: inout SeededRandom
    ) -> StockValueDraws {
        precondition(draws >= 1 && budget >= 1 && customers >= 1 && units >= 1 && values.count == demand.points)
        let k = scale(customers: customers, units: units, points: values.count, budget: budget)
        let (t, s) = scaled(customers: customers, units: units, by: k)
        var conversions: [[Double]] = []
        var costs: [Double] = []
        let points = Array(0..<demand.points)
        for _ in 0..<draws {
            let theta = demand.draw(points, context: [], random: &random)
            let plan = StockValues.solve(values: values, conversion: theta, customers: t, units: s, episode: 1, rows: 1)
            conversions.append(theta)
            costs.append(StockValues.clamped(plan.opportunityCost(units: s, customersLeft: t), values))
        }
        return StockValueDraws(conversions: conversions, costs: costs, scale: k, values: values)
    }

    /// The smallest k whose scaled problem costs at most `budget` cell-points.
    static func scale(customers: Int, units: Int, points: Int, budget: Int) -> Int {
        func cost(_ k: Int) -> Double {
            let (t, s) = scaled(customers: customers, units: units, by: k)
            return Double(t - 1) * Double(min(s, t)) * Double(points)
        }
        let whole = cost(1)
        guard whole > Double(budget) else { return 1 }
        // The cost falls as k grows: double past the budget, then bisect.
        var (low, high) = (1, 2)
        while cost(high) > Double(budget) { (low, high) = (high, high * 2) }
        while high - low > 1 {
            let mid = low + (high - low) / 2
            if cost(mid) > Double(budget) { low = mid } else { high = mid }
        }
        return high
    }

    static func scaled(customers: Int, units: Int, by k: Int) -> (customers: Int, units: Int) {
        (max(1, (customers + k - 1) / k), max(1, Int((Double(units) / Double(k)).rounded())))
    }

    /// Draw `j`'s answer among `allowed` (points of the ladder, in order): a position into
    /// `allowed`, or nil to withhold (no sale is worth the unit it uses).
    public func answer(draw j: Int, allowed: [Int]) -> Int? {
        StockValues.best(allowed: allowed, values: values, conversion: conversions[j], cost: costs[j])
    }
}
