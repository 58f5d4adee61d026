/// What a unit of stock is worth, under a known demand, by dynamic programming over (units
/// left, customers left): with V_t(s) the best expected value of t customers and s units,
/// V_t(s) = V_{t−1}(s) + max(0, max_k θ_k·(v_k − Δ_{t−1}(s))), Δ_t(s) = V_t(s) − V_t(s−1),
/// V_0 = V_t(0) = 0. The best answer for the next customer with s units and t customers
/// left is the point maximising θ_k·(v_k − Δ_{t−1}(s)), or none when no point's is positive:
/// a sale must earn more than the unit it uses is worth to the customers after.
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
        let cost = opportunityCost(units: units, customersLeft: customersLeft)
        var best = 0.0
        var at: Int?
        for (i, k) in allowed.enumerated() {
            let gain = conversion[k] * (values[k] - cost)
            if gain > best {
                best = gain
                at = i
            }
        }
        return at
    }
}
