import ArgumentParser
import Common
import Events
import Foundation
import Pricing

/// Pricing on simulated demand with a known truth (Ferreira, Simchi-Levi and Wang's
/// single-product instance): revenue as a share of the linear program's bound for the
/// inventory plans, the posterior-sampling dynamic program and inventory-blind Thompson
/// sampling, one JSON line per policy, stock and seed; then in-process decisions +
/// updates per second on one core for a ladder of 10, one product at a time and 100
/// products per request.
struct PricingBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pricing")
    @Option(help: "Customers per simulated run.") var periods = 10_000
    @Option(help: "Seeds per policy and stock.") var seeds = 10
    @Option(help: "Seconds per throughput measurement.") var seconds: Double = 1
    @Option(help: "Posterior draws per sampled propensity in the throughput measurement.") var propensityDraws = 1
    @Option(help: "Posterior draws of a propensity table made once per prepared state (0: each decision draws its own).") var tableDraws = 0
    @Flag(help: "Only the throughput measurement.") var throughputOnly = false

    func run() throws {
        if throughputOnly { return try throughput() }
        let ladder = try PriceLadder(prices: [29.9, 34.9, 39.9, 44.9].map { Money(units: $0)! }, currency: "USD")
        let truth = [0.8, 0.6, 0.3, 0.1]
        let market = BernoulliMarket(ladder: ladder, conversion: truth)
        // The last element: customers per published state when priced as `serve` prices.
        let policies: [(String, PricingPolicy, Int?)] = [
            ("ts-update", try PricingPolicy(strategy: .inventoryPlan(resolving: true), propensityDraws: 1), nil),
            ("ts-fixed", try PricingPolicy(strategy: .inventoryPlan(resolving: false), propensityDraws: 1), nil),
            ("dynamic program (posterior sampling)", try PricingPolicy(strategy: .dynamicProgram(episode: 0.1)), nil),
            ("dynamic program as served (16 draws per 100 customers)", try PricingPolicy(strategy: .dynamicProgram(episode: 1), propensityDraws: 16), 100),
            ("thompson (inventory-blind)", try PricingPolicy(strategy: .thompson, propensityDraws: 1), nil),
        ]
        for share in [0.25, 0.5] {
            let stock = Int(share * Double(periods))
            let bound = Double(periods) * PricingPolicy.bound(values: ladder.prices.map(\.units), conversion: truth, rate: share)
            for (name, policy, every) in policies {
                for seed in 1...UInt64(seeds) {
                    let start = MonotonicClock.nanos
                    let o = market.run(policy, demand: PriceDemand(points: ladder.count), periods: periods, stock: stock, seed: seed, samplesEvery: every)
                    let elapsed = Double(MonotonicClock.nanos - start) / 1e9
                    emit([("study", "revenue"), ("policy", name), ("stock_share", share), ("seed", Int(seed)), ("revenue", o.value), ("bound", bound), ("share", o.value / bound), ("seconds", elapsed), ("plans", o.plans)])
                }
            }
        }
        // One dynamic-program solve over the whole horizon, the costliest a run makes.
        for share in [0.25, 0.5] {
            let start = MonotonicClock.nanos
            let plan = StockValues.solve(values: ladder.prices.map(\.units), conversion: truth, customers: periods, units: Int(share * Double(periods)), episode: periods / 10)
            emit([("study", "dynamic_program_solve"), ("customers", periods), ("units", Int(share * Double(periods))), ("rows", plan.checkpoints.count),
                  ("seconds", Double(MonotonicClock.nanos - start) / 1e9)])
        }
        // What a published state costs the view builder per dynamic-program product: 16
        // draws, each within the budget, for a small and for a scaled-down problem.
        let ten = try PriceLadder.range(from: Money(units: 20)!, to: Money(units: 38)!, step: Money(units: 2)!, currency: "USD")
        var demand = PriceDemand(points: ten.count)
        var outcomes = SeededRandom(seed: 7)
        for t in 0..<20_000 { demand.learn(point: t % ten.count, purchased: outcomes.unit() < 0.3) }
        for (customers, units) in [(2_000, 500), (1_000_000, 5_000)] {
            var times: [Double] = []
            var scale = 1
            for r in 0..<5 {
                var random = SeededRandom(seed: UInt64(r))
                let start = MonotonicClock.nanos
                let d = StockValueDraws.sample(
                    values: ten.prices.map(\.units), demand: demand, customers: customers, units: units, draws: 16, budget: StockValueDraws.budget, random: &random)
                times.append(Double(MonotonicClock.nanos - start) / 1e9)
                scale = d.scale
            }
            emit([("study", "served_draws"), ("customers", customers), ("units", units), ("points", ten.count), ("draws", 16), ("scale", scale),
                  ("median_seconds", times.sorted()[2])])
        }
        try throughput()
    }

    /// A ladder of 10 with 2,000 customers' history on every point. As in the engine,
    /// decisions read a prepared state (a published view) and updates go to the
    /// partition's own state; decide + update per second is one of each, in turn.
    func throughput() throws {
        let ladder = try PriceLadder.range(from: Money(units: 20)!, to: Money(units: 38)!, step: Money(units: 2)!, unitCost: Money(units: 12)!, currency: "USD")
        try measure("thompson", .thompson, PriceDemand(points: ladder.count), ladder)
        try measure("ts-update", .inventoryPlan(resolving: true), PriceDemand(points: ladder.count), ladder)
        try measure("epsilon-greedy", .epsilonGreedy(epsilon: 0.1), PriceDemand(points: ladder.count), ladder)
        try measure("thompson, logit demand", .thompson, LogitDemand(prices: ladder.prices.map(\.units)), ladder)
    }

    func measure<D: DemandModel>(_ name: String, _ strategy: PricingStrategy, _ initial: D, _ ladder: PriceLadder) throws {
        let allowed = Array(ladder.prices.indices)
        var outcomes = SeededRandom(seed: 99)
        let policy = try PricingPolicy(strategy: strategy, objective: .margin, propensityDraws: propensityDraws)
        let budget = UInt64(seconds * 1e9)
        for products in [1, 100] {
            var demand = [D](repeating: initial, count: products)
            for p in 0..<products {
                for t in 0..<(2_000 * ladder.count) { demand[p].learn(point: t % ladder.count, context: [], purchased: outcomes.unit() < 0.3) }
            }
            let view = demand.map { $0.prepared(level: policy.level) }
            let inventory = Inventory(remaining: 500, periodsLeft: 2_000, initialRate: 0.25)
            var start = MonotonicClock.nanos
            var tableRandom = SeededRandom(seed: 5)
            let tables = tableDraws > 0
                ? view.map { policy.answerTable(ladder: ladder, demand: $0, allowed: allowed, inventory: inventory, draws: tableDraws, random: &tableRandom) } : nil
            let tableSeconds = Double(MonotonicClock.nanos - start) / 1e9 / Double(products)
            var decisions = 0, requests = 0, withheld = 0
            start = MonotonicClock.nanos
            repeat {
                var random = SeededRandom(decisionID: "price-\(requests)")
                requests += 1
                for p in 0..<products {
                    let d = policy.decide(ladder: ladder, demand: view[p], allowed: allowed, inventory: inventory, table: tables?[p], random: &random)
                    if d.point == nil { withheld += 1 }
                }
                decisions += products
            } while MonotonicClock.nanos - start < budget
            let decideSeconds = Double(MonotonicClock.nanos - start) / 1e9
            var updates = 0
            start = MonotonicClock.nanos
            repeat {
                for _ in 0..<1_000 {
                    demand[updates % products].learn(point: updates % ladder.count, context: [], purchased: outcomes.unit() < 0.3)
                    updates += 1
                }
            } while MonotonicClock.nanos - start < budget
            let updateSeconds = Double(MonotonicClock.nanos - start) / 1e9
            let perDecision = decideSeconds / Double(decisions), perUpdate = updateSeconds / Double(updates)
            emit([("study", "throughput"), ("policy", name), ("ladder", ladder.count), ("products_per_request", products), ("propensity_draws", tableDraws > 0 ? tableDraws : propensityDraws),
                  ("table", tableDraws > 0 ? "yes" : "no"), ("table_ms_per_product", tableSeconds * 1000), ("decisions_per_s", 1 / perDecision), ("requests_per_s", Double(requests) / decideSeconds), ("updates_per_s", 1 / perUpdate),
                  ("decide_update_per_s", 1 / (perDecision + perUpdate)), ("withheld", withheld)])
        }
    }
}
