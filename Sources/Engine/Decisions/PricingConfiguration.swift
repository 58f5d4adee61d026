import Events
import Pricing
import Stream
import Yams

/// Stock a product must sell within a selling horizon: what the inventory-aware policies
/// plan with.
public struct StockPlan: Sendable, Equatable {
    public var units: Int64
    /// The horizon, epoch milliseconds.
    public var start: Int64
    public var end: Int64

    public init(units: Int64, start: Int64, end: Int64) {
        self.units = units
        self.start = start
        self.end = end
    }
}

/// A pricing surface: products with their price ladders, the guardrails every quote
/// keeps, the demand model learnt per product and the policy that prices from it.
public struct PricingConfiguration: Sendable, Equatable {
    /// What the partitions learn (name, products, demand model, features, windows).
    public var learning: PricingSurface
    public var strategy: PricingStrategy
    public var objective: PricingObjective
    /// Guardrails per product, in the order of `learning.products`.
    public var guardrails: [PriceGuardrails]
    /// Stock per product (nil: unlimited), in the same order.
    public var stock: [StockPlan?]
    /// Posterior draws a sampled propensity is estimated from.
    public var propensityDraws: Int
    /// Probability of the credible intervals answered.
    public var interval: Double

    public init(
        learning: PricingSurface, strategy: PricingStrategy = .thompson, objective: PricingObjective = .revenue, guardrails: [PriceGuardrails]? = nil,
        stock: [StockPlan?]? = nil, propensityDraws: Int = 1000, interval: Double = 0.9
    ) {
        self.learning = learning
        self.strategy = strategy
        self.objective = objective
        self.guardrails = guardrails ?? Array(repeating: .none, count: learning.products.count)
        self.stock = stock ?? Array(repeating: nil, count: learning.products.count)
        self.propensityDraws = propensityDraws
        self.interval = interval
    }

    public var name: String { learning.name }

    /// The policy the strategy and objective make.
    public func policy() throws(PricingError) -> PricingPolicy {
        try PricingPolicy(strategy: strategy, objective: objective, propensityDraws: propensityDraws, level: interval)
    }

    /// The policy's name, as answers and the decision log give it.
    public var policyName: String {
        switch strategy {
        case .thompson: "thompson"
        case .epsilonGreedy: "epsilon-greedy"
        case .inventoryPlan(let resolving): resolving ? "inventory" : "inventory-fixed"
        case .dynamicProgram: "dynamic-program"
        }
    }

    // MARK: YAML

    private static let keys: Set<String> = [
        "currency", "objective", "policy", "epsilon", "demand", "features", "discount", "attribution_window_ms", "period_ms", "propensity_draws",
        "interval", "guardrails", "products",
    ]
    private static let productKeys: Set<String> = ["prices", "range", "unit_cost", "guardrails", "inventory"]
    private static let guardrailKeys: Set<String> = ["minimum", "maximum", "max_change", "endings", "same_user_seconds"]
    static let policies = ["thompson", "epsilon-greedy", "inventory", "inventory-fixed", "dynamic-program"]

    /// Reads the `pricing` mapping: surface name → settings.
    static func parse(_ node: Node, source: String) throws(ConfigurationError) -> [PricingConfiguration] {
        guard case .mapping(let mapping) = node else { throw ConfigurationError("\(source): 'pricing' must map pricing surface names to their settings") }
        var out: [PricingConfiguration] = []
        for (k, v) in mapping {
            guard let name = k.string, SurfaceConfiguration.isName(name) else {
                throw ConfigurationError("\(source): pricing surface name '\(k.string ?? "?")' must be 1–128 bytes of letters, digits, '_', '-' or '.'")
            }
            out.append(try parseOne(name: name, v, at: "\(source): pricing.\(name)"))
        }
        return out
    }

    private static func parseOne(name: String, _ node: Node, at: String) throws(ConfigurationError) -> PricingConfiguration {
        let f = try YAMLFields.fields(node, keys, at)
        guard let currency = f["currency"]?.scalar?.string else { throw ConfigurationError("\(at).currency is required (an ISO 4217 code such as EUR)") }
        let objective = try f["objective"].map { (n) throws(ConfigurationError) -> PricingObjective in
            guard let o = n.scalar.flatMap({ PricingObjective(rawValue: $0.string) }) else { throw ConfigurationError("\(at).objective must be revenue or margin") }
            return o
        } ?? .revenue
        let policyName = f["policy"]?.scalar?.string ?? "thompson"
        let strategy: PricingStrategy
        switch policyName {
        case "thompson": strategy = .thompson
        case "epsilon-greedy": strategy = .epsilonGreedy(epsilon: try YAMLFields.number(f["epsilon"], "\(at).epsilon", default: 0.1, in: 0...1))
        case "inventory": strategy = .inventoryPlan(resolving: true)
        case "inventory-fixed": strategy = .inventoryPlan(resolving: false)
        // Served from draws made afresh for every published state (`StockValueDraws`): no episodes.
        case "dynamic-program": strategy = .dynamicProgram(episode: 1)
        default: throw ConfigurationError("\(at).policy '\(policyName)' is not one of \(policies.joined(separator: ", "))")
        }
        if f["epsilon"] != nil, policyName != "epsilon-greedy" { throw ConfigurationError("\(at).epsilon applies to policy epsilon-greedy only") }
        let demandName = f["demand"]?.scalar?.string ?? DemandKind.perPoint.rawValue
        guard let demand = DemandKind(rawValue: demandName) else {
            throw ConfigurationError("\(at).demand must be one of \(DemandKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var features: [String] = []
        if let list = f["features"] {
            guard case .sequence(let seq) = list else { throw ConfigurationError("\(at).features must be a list of names") }
            for item in seq {
                guard let s = item.scalar?.string, SurfaceConfiguration.isName(s) else { throw ConfigurationError("\(at).features must be a list of valid names") }
                guard !features.contains(s) else { throw ConfigurationError("\(at).features names '\(s)' twice") }
                features.append(s)
            }
            guard demand == .logit || features.isEmpty else { throw ConfigurationError("\(at).features need demand: logit (per-point demand ignores context)") }
            if case .dynamicProgram = strategy, !features.isEmpty {
                throw ConfigurationError("\(at).features: dynamic-program plans for customers alike and cannot weigh context; use inventory")
            }
        }
        let discount = try YAMLFields.number(f["discount"], "\(at).discount", default: 1, in: 0.5...1)
        let window = Int64(try YAMLFields.number(f["attribution_window_ms"], "\(at).attribution_window_ms", default: 30 * 60_000, in: 1...(30 * 86_400_000), integer: true))
        let period = Int64(try YAMLFields.number(f["period_ms"], "\(at).period_ms", default: 86_400_000, in: 60_000...(366 * 86_400_000), integer: true))
        // Without context a view's decisions share one table of draws; with it each draws its
        // own. The dynamic program's draws are solves, each up to `StockValueDraws.budget`.
        let draws: Int
        if case .dynamicProgram = strategy {
            draws = Int(try YAMLFields.number(f["propensity_draws"], "\(at).propensity_draws", default: 16, in: 1...256, integer: true))
        } else {
            draws = Int(try YAMLFields.number(f["propensity_draws"], "\(at).propensity_draws", default: features.isEmpty ? 1000 : 100, in: 1...100_000, integer: true))
        }
        let interval = try YAMLFields.number(f["interval"], "\(at).interval", default: 0.9, in: 0.5...0.999)
        let surfaceGuardrails = try f["guardrails"].map { (n) throws(ConfigurationError) in try guardrails(n, "\(at).guardrails", over: .none) } ?? .none

        guard case .mapping(let productNodes)? = f["products"], !productNodes.isEmpty else {
            throw ConfigurationError("\(at).products is required: product ids mapped to their prices")
        }
        var products: [PricedProduct] = []
        var rails: [PriceGuardrails] = []
        var stock: [StockPlan?] = []
        for (k, v) in productNodes {
            guard let id = k.string, !id.isEmpty, id.utf8.count <= EventDecoder.maximumIDBytes else {
                throw ConfigurationError("\(at).products: a product id is a string of 1–\(EventDecoder.maximumIDBytes) bytes")
            }
            let pat = "\(at).products.\(id)"
            guard !products.contains(where: { $0.id == id }) else { throw ConfigurationError("\(at).products lists '\(id)' twice") }
            let p = try YAMLFields.fields(v, productKeys, pat)
            let cost = try YAMLFields.money(p["unit_cost"], "\(pat).unit_cost") ?? .zero
            let ladder: PriceLadder
            do throws(PricingError) {
                switch (p["prices"], p["range"]) {
                case (let list?, nil):
                    guard case .sequence(let seq) = list else { throw PricingError("prices must be a list of amounts") }
                    var prices: [Money] = []
                    for item in seq {
                        guard let m = item.scalar.flatMap({ Double($0.string) }).flatMap({ Money(units: $0) }) else {
                            throw PricingError("prices must be amounts from 0 to 1e12")
                        }
                        prices.append(m)
                    }
                    ladder = try PriceLadder(prices: prices, unitCost: cost, currency: currency)
                case (nil, let r?):
                    let rf: [String: Node]
                    do throws(ConfigurationError) { rf = try YAMLFields.fields(r, ["from", "to", "step"], "range") } catch { throw PricingError(error.message) }
                    let parts = ["from", "to", "step"].map { rf[$0]?.scalar.flatMap { Double($0.string) }.flatMap { Money(units: $0) } }
                    guard let from = parts[0], let to = parts[1], let step = parts[2] else { throw PricingError("range needs from, to and step as amounts") }
                    ladder = try PriceLadder.range(from: from, to: to, step: step, unitCost: cost, currency: currency)
                default:
                    throw PricingError("give either prices (a list) or range (from, to, step)")
                }
            } catch {
                throw ConfigurationError("\(pat): \(error.message)")
            }
            // A product's guardrails replace the surface's key by key.
            let g = try p["guardrails"].map { (n) throws(ConfigurationError) in try guardrails(n, "\(pat).guardrails", over: surfaceGuardrails) } ?? surfaceGuardrails
            do throws(PricingError) { try g.validate(ladder) } catch { throw ConfigurationError("\(pat): \(error.message)") }
            if let s = g.sameUserSeconds, s * 1000 > window {
                throw ConfigurationError("\(pat): same_user_seconds (\(s)) must not exceed the attribution window (\(window) ms): a quote is kept while it is open")
            }
            products.append(PricedProduct(id: id, ladder: ladder))
            rails.append(g)
            stock.append(try p["inventory"].map { (n) throws(ConfigurationError) in try stockPlan(n, "\(pat).inventory") })
        }
        if strategy.plansStock, let missing = zip(products, stock).first(where: { $0.1 == nil }) {
            throw ConfigurationError("\(at): policy \(policyName) plans with stock: product '\(missing.0.id)' needs an inventory (units, start, end)")
        }
        let config = PricingConfiguration(
            learning: PricingSurface(
                name: name, products: products, demand: demand, features: features, discount: discount, attributionWindowMillis: window, periodMillis: period),
            strategy: strategy, objective: objective, guardrails: rails, stock: stock, propensityDraws: draws, interval: interval)
        do throws(PricingError) { _ = try config.policy() } catch { throw ConfigurationError("\(at): \(error.message)") }
        return config
    }

    private static func guardrails(_ node: Node, _ at: String, over base: PriceGuardrails) throws(ConfigurationError) -> PriceGuardrails {
        let f = try YAMLFields.fields(node, guardrailKeys, at)
        var g = base
        if f["minimum"] != nil { g.minimum = try YAMLFields.money(f["minimum"], "\(at).minimum") }
        if f["maximum"] != nil { g.maximum = try YAMLFields.money(f["maximum"], "\(at).maximum") }
        if f["max_change"] != nil { g.maximumChange = try YAMLFields.number(f["max_change"], "\(at).max_change", default: 0, in: 0.000001...10) }
        if let e = f["endings"] {
            guard case .sequence(let seq) = e else { throw ConfigurationError("\(at).endings must be a list such as [0.99, 0.49]") }
            g.endings = []
            for item in seq {
                guard let x = item.scalar.flatMap({ Double($0.string) }), x >= 0, x < 1 else {
                    throw ConfigurationError("\(at).endings holds fractions of one unit from 0 to below 1, such as 0.99")
                }
                g.endings.insert(Int64((x * 1_000_000).rounded()))
            }
        }
        if f["same_user_seconds"] != nil {
            g.sameUserSeconds = Int64(try YAMLFields.number(f["same_user_seconds"], "\(at).same_user_seconds", default: 0, in: 1...(30 * 86_400), integer: true))
        }
        return g
    }

    private static func stockPlan(_ node: Node, _ at: String) throws(ConfigurationError) -> StockPlan {
        let f = try YAMLFields.fields(node, ["units", "start", "end"], at)
        let units = Int64(try YAMLFields.number(f["units"], "\(at).units", default: -1, in: 0...1e12, integer: true))
        guard units >= 0 else { throw ConfigurationError("\(at).units is required") }
        guard let start = try YAMLFields.time(f["start"], "\(at).start"), let end = try YAMLFields.time(f["end"], "\(at).end") else {
            throw ConfigurationError("\(at): start and end are required (RFC 3339, e.g. 2026-12-01T00:00:00Z)")
        }
        guard end > start else { throw ConfigurationError("\(at): end must be after start") }
        return StockPlan(units: units, start: start, end: end)
    }
}
