import Bandits
import Common
import Events

/// How a pricing policy turns what it knows of demand into a price.
public enum PricingStrategy: Sendable, Equatable {
    /// Thompson sampling on value: the allowed point whose sampled conversion × value
    /// (revenue or margin) is highest. Blind to inventory: it sells at the myopic best
    /// price until the stock runs out.
    case thompson
    /// ε-greedy on value: the point with the best posterior mean value with probability
    /// 1 − ε, a uniformly random allowed point otherwise.
    case epsilonGreedy(epsilon: Double)
    /// Ferreira, Simchi-Levi and Wang (Operations Research 2018): sample every point's
    /// conversion from the posterior, solve the linear program "maximise value per
    /// customer subject to selling at most the stock's rate per customer", and quote
    /// point k with the probability x_k of its solution — or no price (the product is
    /// withheld, the paper's shut-off price) with 1 − Σx. `resolving` re-solves with the
    /// remaining stock over the remaining customers (TS-update); otherwise the rate stays
    /// the initial stock over the horizon (TS-fixed).
    case inventoryPlan(resolving: Bool)
    /// Posterior sampling over (units left, customers left): sample the conversions, solve
    /// the dynamic program of `StockValues` for the stock and the customers left, and
    /// follow it for an episode — until the customers served have doubled since it was
    /// solved (short episodes while little is known), or for `episode` × the customers
    /// left, whichever comes first — before sampling again.
    /// Given its plan the answer is deterministic (propensity 1). A server instead samples
    /// the program afresh for every published state (`StockValueDraws`), each decision
    /// following one of the draws. Without a plan or draws (or without inventory) it
    /// answers as the re-solving inventory plan.
    case dynamicProgram(episode: Double)
}

extension PricingStrategy {
    /// Whether the strategy plans with the stock and the horizon (and so needs them).
    public var plansStock: Bool {
        switch self {
        case .inventoryPlan, .dynamicProgram: true
        case .thompson, .epsilonGreedy: false
        }
    }
}

/// Stock that must last until the end of a selling horizon.
public struct Inventory: Sendable, Equatable {
    /// Units left.
    public var remaining: Double
    /// Customers still expected before the horizon ends (at least one).
    public var periodsLeft: Double
    /// Initial stock over the whole horizon's customers: TS-fixed's rate.
    public var initialRate: Double

    public init(remaining: Double, periodsLeft: Double, initialRate: Double) {
        self.remaining = remaining
        self.periodsLeft = max(1, periodsLeft)
        self.initialRate = initialRate
    }

    /// What the re-solving plan may sell per customer from here on.
    public var currentRate: Double { max(0, remaining) / periodsLeft }
}

/// A price answer: the point quoted (nil: withheld), the probability the policy had of
/// giving this answer, what the policy expects of it and the guardrails that bound it.
public struct PriceDecision: Sendable, Equatable {
    public var point: Int?
    public var propensity: Double
    /// nil when `propensity` is exact; otherwise the number of posterior draws it was
    /// estimated from.
    public var propensityDraws: Int?
    /// The quoted point's conversion (nil when withheld).
    public var conversion: Estimate?
    /// Expected revenue or margin of this customer at the quoted point.
    public var value: Estimate?
    public var boundBy: [Guardrail]
}

/// How often each answer comes out of a policy on one prepared state (`answerTable`): a
/// probability per allowed point, in order, then that of withholding.
public struct AnswerTable: Sendable, Equatable {
    public var probabilities: [Double]
    /// The posterior draws they were estimated from.
    public var draws: Int
}

/// A pricing policy: a demand model (`PriceDemand`, Beta–Bernoulli per price point, or
/// `LogitDemand`, shared across prices) combined with a strategy, maximising revenue or
/// margin. Randomness comes from the caller's generator
/// (seeded from the decision id), so the same state and request give the same price.
public struct PricingPolicy: Sendable, Equatable {
    public let strategy: PricingStrategy
    public let objective: PricingObjective
    /// Posterior draws a sampled propensity is estimated from (the decision's own
    /// counting as one).
    public let propensityDraws: Int
    /// Probability of the credible intervals reported.
    public let level: Double

    public init(strategy: PricingStrategy, objective: PricingObjective = .revenue, propensityDraws: Int = 100, level: Double = 0.9) throws(PricingError) {
        if case .epsilonGreedy(let e) = strategy, !(0...1).contains(e) {
            throw PricingError("epsilon must be in 0...1, found \(e)")
        }
        if case .dynamicProgram(let e) = strategy, !(e > 0 && e <= 1) {
            throw PricingError("the episode must be a share of the customers left in (0, 1], found \(e)")
        }
        guard propensityDraws >= 1 else { throw PricingError("propensity_draws must be at least 1, found \(propensityDraws)") }
        guard level > 0, level < 1 else { throw PricingError("the interval level must be in (0, 1), found \(level)") }
        self.strategy = strategy
        self.objective = objective
        self.propensityDraws = propensityDraws
        self.level = level
    }

    /// Prices one customer (with `context`, for demand models that weigh it) among
    /// `allowed` (ascending points of `ladder`, not empty: what
    /// `PriceGuardrails.allowed` leaves). `quoted` is the point this user was quoted
    /// within the same-user time, which is kept while the guardrails still allow it; with
    /// `inventory`, no unit left means no price. `table` (`answerTable` for the same state,
    /// allowed points, context and stock) replaces the decision's own propensity draws;
    /// `plan` is the dynamic program's current solution (`StockValues`), or `samples` its
    /// draws at the current stock (`StockValueDraws`).
    public func decide<D: DemandModel>(
        ladder: PriceLadder, demand: D, context: [Double] = [], allowed: [Int], boundBy: [Guardrail] = [],
        inventory: Inventory? = nil, quoted: Int? = nil, table: AnswerTable? = nil, plan: StockValues? = nil, samples: StockValueDraws? = nil,
        random: inout SeededRandom
    ) -> PriceDecision {
        precondition(!allowed.isEmpty, "no allowed price")
        if let inventory, inventory.remaining < 1 {
            return PriceDecision(point: nil, propensity: 1, conversion: nil, value: nil, boundBy: boundBy)
        }
        if let quoted, allowed.contains(quoted) {
            return answer(quoted, propensity: 1, draws: nil, ladder, demand, context, boundBy + [.sameUser])
        }
        // The propensity of a sampled answer: the decision's own draw counting as one, the
        // rest from the table, or from further draws of the decision's own generator.
        func further(_ random: inout SeededRandom) -> AnswerTable? {
            table ?? (propensityDraws > 1
                ? answerTable(ladder: ladder, demand: demand, context: context, allowed: allowed, inventory: inventory, draws: propensityDraws - 1, random: &random) : nil)
        }
        switch strategy {
        case .epsilonGreedy:
            let p = answerTable(ladder: ladder, demand: demand, context: context, allowed: allowed, inventory: inventory, draws: 1, random: &random).probabilities
            let k = sample(p.prefix(allowed.count), random.unit()) ?? allowed.count - 1
            return answer(allowed[k], propensity: p[k], draws: nil, ladder, demand, context, boundBy)
        case .thompson:
            let values = allowed.map { ladder.value(of: $0, objective: objective) }
            let pick = thompsonWinner(allowed, values, demand, context, &random)
            let rest = further(&random)
            let n = Double(rest?.draws ?? 0)
            let propensity = ((rest?.probabilities[pick] ?? 0) * n + 1) / (n + 1)
            return answer(allowed[pick], propensity: propensity, draws: Int(n) + 1, ladder, demand, context, boundBy)
        case .dynamicProgram where samples != nil && inventory != nil:
            let samples = samples!
            let n = samples.costs.count
            let mine = samples.answer(draw: min(n - 1, Int(random.unit() * Double(n))), allowed: allowed)
            // Exact: the draws are the distribution the answer was chosen from.
            let propensity = Double((0..<n).count { samples.answer(draw: $0, allowed: allowed) == mine }) / Double(n)
            guard let i = mine else { return PriceDecision(point: nil, propensity: propensity, conversion: nil, value: nil, boundBy: boundBy) }
            return answer(allowed[i], propensity: propensity, draws: nil, ladder, demand, context, boundBy)
        case .dynamicProgram where plan != nil && inventory != nil:
            let (plan, inventory) = (plan!, inventory!)
            guard let i = plan.answer(allowed: allowed, units: Int(inventory.remaining), customersLeft: Int(inventory.periodsLeft.rounded())) else {
                return PriceDecision(point: nil, propensity: 1, conversion: nil, value: nil, boundBy: boundBy)
            }
            return answer(allowed[i], propensity: 1, draws: nil, ladder, demand, context, boundBy)
        case .inventoryPlan, .dynamicProgram:
            let values = allowed.map { ladder.value(of: $0, objective: objective) }
            var own = Self.plan(values: values, conversion: demand.draw(allowed, context: context, random: &random), rate: rate(inventory))
            let k = sample(own, random.unit())
            own.append(max(0, 1 - own.reduce(0, +)))
            // Rao–Blackwellised: the average of the plans' probabilities over the draws.
            let rest = further(&random)
            let n = Double(rest?.draws ?? 0)
            let propensity = { (i: Int) in (own[i] + (rest?.probabilities[i] ?? 0) * n) / (n + 1) }
            guard let k else {
                return PriceDecision(point: nil, propensity: propensity(allowed.count), propensityDraws: Int(n) + 1, conversion: nil, value: nil, boundBy: boundBy)
            }
            return answer(allowed[k], propensity: propensity(k), draws: Int(n) + 1, ladder, demand, context, boundBy)
        }
    }

    /// How often each answer — each point of `allowed`, in order, then withholding — comes
    /// out of this policy on `demand`, estimated from `draws` posterior draws of `random`.
    /// Every decision that reads the same prepared state with the same allowed points,
    /// context and stock has these probabilities, so a view computes them once and its
    /// decisions report their propensity from them (`decide(table:)`) instead of drawing
    /// their own: one draw per decision instead of hundreds, and a closer estimate.
    public func answerTable<D: DemandModel>(
        ladder: PriceLadder, demand: D, context: [Double] = [], allowed: [Int], inventory: Inventory? = nil, draws: Int, random: inout SeededRandom
    ) -> AnswerTable {
        precondition(!allowed.isEmpty && draws >= 1)
        var p = [Double](repeating: 0, count: allowed.count + 1)
        if let inventory, inventory.remaining < 1 {
            p[allowed.count] = 1
            return AnswerTable(probabilities: p, draws: draws)
        }
        let values = allowed.map { ladder.value(of: $0, objective: objective) }
        switch strategy {
        case .epsilonGreedy(let epsilon):
            let best = argmaxes(zip(demand.means(allowed, context: context), values).map { $0 * $1 }).at
            for i in allowed.indices { p[i] = epsilon / Double(allowed.count) }
            for i in best { p[i] += (1 - epsilon) / Double(best.count) }
        case .thompson:
            for _ in 0..<draws { p[thompsonWinner(allowed, values, demand, context, &random)] += 1 }
            for i in p.indices { p[i] /= Double(draws) }
        case .inventoryPlan, .dynamicProgram:
            let rate = self.rate(inventory)
            for _ in 0..<draws {
                let x = Self.plan(values: values, conversion: demand.draw(allowed, context: context, random: &random), rate: rate)
                for (i, xi) in x.enumerated() { p[i] += xi }
                p[allowed.count] += max(0, 1 - x.reduce(0, +))
            }
            for i in p.indices { p[i] /= Double(draws) }
        }
        return AnswerTable(probabilities: p, draws: draws)
    }

    private func rate(_ inventory: Inventory?) -> Double? {
        switch strategy {
        case .inventoryPlan(let resolving): inventory.map { resolving ? $0.currentRate : $0.initialRate }
        case .dynamicProgram: inventory.map(\.currentRate)
        default: nil
        }
    }

    /// The selling plan for one customer: the probability of quoting each point, maximising
    /// Σ value·conversion·x subject to Σ conversion·x ≤ rate (nil: no stock limit) and
    /// Σ x ≤ 1. The rest of the probability withholds the product.
    public static func plan(values: [Double], conversion: [Double], rate: Double?) -> [Double] {
        let objective = zip(values, conversion).map { $0 * $1 }
        var constraints = [[Double](repeating: 1, count: values.count)]
        var bounds = [1.0]
        if let rate {
            constraints.append(conversion)
            bounds.append(max(0, rate))
        }
        return LinearProgram(objective: objective, constraints: constraints, bounds: bounds).solve().x
    }

    /// The best value per customer a known demand allows at a stock rate: the linear
    /// program's optimum, which bounds every policy's expected revenue per customer
    /// (Ferreira et al.'s benchmark).
    public static func bound(values: [Double], conversion: [Double], rate: Double?) -> Double {
        let x = plan(values: values, conversion: conversion, rate: rate)
        return zip(x, zip(values, conversion)).reduce(0) { $0 + $1.0 * $1.1.0 * $1.1.1 }
    }

    private func thompsonWinner<D: DemandModel>(_ allowed: [Int], _ values: [Double], _ demand: D, _ context: [Double], _ random: inout SeededRandom) -> Int {
        var best = -Double.infinity
        var at = 0
        for (i, theta) in demand.draw(allowed, context: context, random: &random).enumerated() where values[i] * theta > best {
            best = values[i] * theta
            at = i
        }
        return at
    }

    /// The position `u` falls on in the distribution `p` (nil past its total).
    private func sample<P: Collection<Double>>(_ p: P, _ u: Double) -> Int? {
        var u = u
        for (k, pk) in p.enumerated() {
            if u < pk { return k }
            u -= pk
        }
        return nil
    }

    private func answer<D: DemandModel>(_ k: Int, propensity: Double, draws: Int?, _ ladder: PriceLadder, _ demand: D, _ context: [Double], _ boundBy: [Guardrail]) -> PriceDecision {
        let conversion = demand.conversion(k, context: context, level: level)
        return PriceDecision(
            point: k, propensity: propensity, propensityDraws: draws, conversion: conversion,
            value: conversion.scaled(ladder.value(of: k, objective: objective)), boundBy: boundBy)
    }
}
