import Common

/// A seeded market with a known truth, for tests, benchmarks and simulations: one customer
/// per period, who buys at point k with probability `conversion[k]`, unknown to the policy
/// that prices them. Demand may change abruptly once.
public struct BernoulliMarket: Sendable {
    public var ladder: PriceLadder
    public var conversion: [Double]
    /// From period `changeAt` on, `changedConversion` is the truth.
    public var changeAt: Int?
    public var changedConversion: [Double]

    public init(ladder: PriceLadder, conversion: [Double], changeAt: Int? = nil, changedConversion: [Double] = []) {
        precondition(conversion.count == ladder.count, "one conversion rate per price")
        precondition(changeAt == nil || changedConversion.count == ladder.count, "one changed rate per price")
        self.ladder = ladder
        self.conversion = conversion
        self.changeAt = changeAt
        self.changedConversion = changedConversion
    }

    /// What a run earned and how it chose.
    public struct Outcome: Sendable, Equatable {
        /// Revenue or margin earned (by the policy's objective).
        public var value: Double
        public var sales: Int
        /// Quotes per point.
        public var quotes: [Int]
        public var withheld: Int
        /// Σ over periods of the best expected value per customer minus the expected value
        /// of the point quoted (withholding earns nothing), both under the truth of the
        /// period: regret without the noise of the customers' coin flips. Meaningful
        /// without a stock limit.
        public var pseudoRegret: Double
        /// Expected value of the periods from `tailFrom` on, over the best possible there.
        public var tailShare: Double
        /// Dynamic-program plans solved, or sets of draws made (`PricingStrategy.dynamicProgram`).
        public var plans: Int
    }

    /// The truth at period t.
    public func truth(at t: Int) -> [Double] {
        if let c = changeAt, t >= c { return changedConversion }
        return conversion
    }

    /// Runs `policy` for `periods` customers, learning each outcome as it comes, quoting
    /// only among `allowed` (all points by default), with `stock` units to sell over the
    /// periods when given. `tailFrom` marks where `tailShare` starts.
    public func run(
        _ policy: PricingPolicy, periods: Int, stock: Int? = nil, allowed: [Int]? = nil,
        discount: Double = 1, seed: UInt64, tailFrom: Int? = nil
    ) -> Outcome {
        run(policy, demand: PriceDemand(points: ladder.count, discount: discount), periods: periods, stock: stock, allowed: allowed, seed: seed, tailFrom: tailFrom)
    }

    /// `run` learning with `demand` (which starts as given). With `samplesEvery`, the
    /// dynamic program is priced as a server prices it: `StockValueDraws` made afresh every
    /// that many customers (one published state each), `policy.propensityDraws` draws
    /// within `budget`, instead of episodes of one plan.
    public func run<D: DemandModel>(
        _ policy: PricingPolicy, demand: D, periods: Int, stock: Int? = nil, allowed: [Int]? = nil, seed: UInt64, tailFrom: Int? = nil,
        samplesEvery: Int? = nil, budget: Int = StockValueDraws.budget
    ) -> Outcome {
        let points = allowed ?? Array(ladder.prices.indices)
        var demand = demand
        var customers = SeededRandom(seed: seed)
        var decisions = SeededRandom(seed: seed ^ 0x5EED_DEC1_5105_0000)
        var left = stock
        var out = Outcome(value: 0, sales: 0, quotes: [Int](repeating: 0, count: ladder.count), withheld: 0, pseudoRegret: 0, tailShare: 0, plans: 0)
        let tail = tailFrom ?? periods
        var tailEarned = 0.0, tailBest = 0.0
        let values = ladder.prices.indices.map { ladder.value(of: $0, objective: policy.objective) }
        var plan: StockValues?
        var samples: StockValueDraws?
        var solvedAt = 0
        for t in 0..<periods {
            let truth = truth(at: t)
            let best = zip(values, truth).map { $0 * $1 }.max()!
            let inventory = left.map { Inventory(remaining: Double($0), periodsLeft: Double(periods - t), initialRate: Double(stock!) / Double(periods)) }
            if case .dynamicProgram = policy.strategy, let every = samplesEvery, let units = left, t % every == 0 {
                out.plans += 1
                samples = units < 1 ? nil : StockValueDraws.sample(
                    values: values, demand: demand, customers: periods - t, units: units, draws: policy.propensityDraws, budget: budget, random: &decisions)
            } else if case .dynamicProgram(let episode) = policy.strategy, samplesEvery == nil, let units = left,
                StockValues.isDue(plan, customersLeft: periods - t, served: t, servedAtSolve: solvedAt)
            {
                solvedAt = t
                out.plans += 1
                let customers = periods - t
                let theta = demand.draw(Array(ladder.prices.indices), context: [], random: &decisions)
                plan = StockValues.solve(values: values, conversion: theta, customers: customers, units: units, episode: max(1, Int(episode * Double(customers))))
            }
            let d = policy.decide(ladder: ladder, demand: demand, allowed: points, inventory: inventory, plan: plan, samples: samples, random: &decisions)
            let expected = d.point.map { values[$0] * truth[$0] } ?? 0
            out.pseudoRegret += best - expected
            if t >= tail {
                tailEarned += expected
                tailBest += best
            }
            let coin = customers.unit()
            guard let k = d.point else {
                out.withheld += 1
                continue
            }
            out.quotes[k] += 1
            let bought = coin < truth[k]
            demand.learn(point: k, context: [], purchased: bought)
            if bought {
                out.sales += 1
                out.value += values[k]
                left? -= 1
            }
        }
        out.tailShare = tailBest > 0 ? tailEarned / tailBest : 0
        return out
    }
}
