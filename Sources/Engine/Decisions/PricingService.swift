import Common
import Events
import Logging
import Metrics
import Pricing
import Stream
import Synchronization

/// A price request, validated by the caller's parser for syntax and here for meaning.
public struct PriceRequest: Sendable {
    public var surface: String
    public var user: String
    /// The products to price, at most `PricingService.maximumProducts`.
    public var products: [String]
    /// Context feature values by name (logit demand with features).
    public var context: [String: Double]
    /// A client-chosen id (idempotency key); nil: one is made.
    public var decisionID: String?

    public init(surface: String, user: String, products: [String], context: [String: Double] = [:], decisionID: String? = nil) {
        self.surface = surface
        self.user = user
        self.products = products
        self.context = context
        self.decisionID = decisionID
    }
}

/// One product's price: what `/v1/price` answers and, unless withheld, what the log records.
public struct PriceQuote: Sendable, Equatable {
    public var product: String
    /// The id its outcome is joined by (a `reward` may name it).
    public var decisionID: String
    /// nil: withheld (no stock left, or the selling horizon is over).
    public var price: Money?
    public var currency: String
    public var propensity: Double
    public var propensityDraws: Int?
    public var conversion: Estimate?
    /// Expected revenue or margin of this customer at the price.
    public var value: Estimate?
    /// Logit demand's price elasticity at the price.
    public var elasticity: Double?
    public var boundBy: [Guardrail]
    /// Outcomes the product's demand model had learnt.
    public var modelUpdates: Int64
    /// Units left when the product has a stock plan.
    public var unitsLeft: Int64?
}

/// The answer to a price request.
public struct PriceAnswer: Sendable, Equatable {
    public var decisionID: String
    public var surface: String
    public var user: String
    public var policy: String
    public var policyVersion: Int64
    public var objective: PricingObjective
    public var quotes: [PriceQuote]
    public var timestamp: Int64
}

/// Prices, on HTTP threads: made against the newest published view (demand, units sold
/// and last period's prices of the whole group), each quote logged to the events topic in
/// the partition of its user — where its purchase is joined and teaches the demand model —
/// and answered once the log has it.
///
/// The same-user guardrail needs the user's open quotes, which only the owner of the
/// user's partition holds: the service reads them there (`PriceError.notHeld` when this
/// process does not hold it, so the HTTP layer can forward the request to the owner).
public final class PricingService: Sendable {
    public static let maximumProducts = 100

    public let routing: UserRouting
    public let views: ViewBuilder
    private let configs: [String: (config: PricingConfiguration, policy: PricingPolicy)]
    public let names: [String]
    private let log: any DecisionLog
    private let partitions: (any PartitionReader)?
    private let seed: UInt64
    private let idPrefix: String
    private let waitForLog: Bool
    private let clock: @Sendable () -> Int64
    private let sequence = Atomic<UInt64>(0)
    private let prepared: Mutex<Prepared?> = Mutex(nil)
    private let recent = Mutex(RecentDecisions<PriceAnswer>(capacity: 100_000))
    /// Quotes this process made on surfaces that keep a user's price, until their
    /// partition has them: every request for such a user is answered here (other
    /// processes forward it to the owner), so a second request that arrives before the
    /// first quote is learnt keeps it too.
    private let unlearnt: Mutex<[QuoteKey: (point: Int, decidedAt: Int64, id: String)]> = Mutex([:])

    /// Users whose same-user request is being answered: a second request for the same
    /// user waits for the first, so that it reads the quote the first made.
    private let turns = UserTurns()

    /// The dynamic program's draws per slot, kept while the slot's demand and stock are
    /// unchanged: a view that changed elsewhere reuses them instead of solving again.
    private let programs: Mutex<[Int: (demand: ProductDemand, units: Int, customers: Int, draws: StockValueDraws)]> = Mutex([:])

    struct QuoteKey: Hashable {
        var user: String
        var slot: Int
    }
    private let quotes: [String: Counter]

    /// Why a price request was refused, or could not be answered here.
    public enum PriceError: Error, Sendable, Equatable {
        case refused(DecisionError)
        /// The user's partition is held by another process: ask its owner.
        case notHeld(partition: Int32)
    }

    /// - Parameters:
    ///   - partitions: where the state of the user's partition is read (same-user prices);
    ///     nil when no surface keeps a user's price.
    ///   - idPrefix: prefix of generated decision ids, unique per process and start.
    public init(
        configurations: [PricingConfiguration], views: ViewBuilder, log: any DecisionLog, partitions: (any PartitionReader)?, routing: UserRouting,
        seed: UInt64, idPrefix: String, waitForLog: Bool = true, clock: @escaping @Sendable () -> Int64 = { WallClock.millis }
    ) throws(PricingError) {
        var c: [String: (PricingConfiguration, PricingPolicy)] = [:]
        for config in configurations { c[config.name] = (config, try config.policy()) }
        configs = c
        names = configurations.map(\.name)
        self.views = views
        self.log = log
        self.partitions = partitions
        self.routing = routing
        self.seed = seed
        self.idPrefix = idPrefix
        self.waitForLog = waitForLog
        self.clock = clock
        var q: [String: Counter] = [:]
        for name in names { q[name] = Counter(label: "arbiter_price_quotes_total", dimensions: [("surface", name)]) }
        quotes = q
        // Prepared off the request path, on the thread that builds each view.
        views.onNewView { [weak self] view in
            guard let self else { return }
            self.solvePrograms(self.preparation(of: view))
        }
    }

    /// A view's pricing state ready to decide: demand with its intervals computed, and the
    /// propensity tables of context-free demand, made once per allowed set and shared by
    /// every decision on this view.
    final class Prepared: Sendable {
        let view: EngineView
        let learner: PricingLearner
        let tables = Mutex<[TableKey: AnswerTable]>([:])
        /// The allowed points and binding guardrails of a slot, by the previous period's price.
        let allowed = Mutex<[AllowedKey: (points: [Int], boundBy: [Guardrail])]>([:])
        init(view: EngineView, learner: PricingLearner) {
            self.view = view
            self.learner = learner
        }
    }

    struct AllowedKey: Hashable {
        var slot: Int
        var previous: Money?
    }

    struct TableKey: Hashable {
        var slot: Int
        var allowed: [Int]
        /// The stock the table was made for (units left, customers left, initial rate).
        var stock: [Double]
    }

    private func preparation(of view: EngineView) -> Prepared {
        // A heartbeat makes a new view of the same state (fresher marks only): the same
        // preparation serves it.
        if let p = prepared.withLock({ $0 }), p.view === view || (p.view.fingerprint == view.fingerprint && p.view.builtAtMillis == view.builtAtMillis) {
            return p
        }
        let learner = view.merged.learner(PricingLearner.self) ?? PricingLearner(surfaces: [])
        let levels = learner.slots.map { configs[learner.surfaces[$0.surface].name]?.config.interval ?? 0.9 }
        let p = Prepared(view: view, learner: learner.prepared { levels[$0] })
        prepared.withLock { current in
            if current == nil || current!.view.builtAtMillis <= view.builtAtMillis { current = p }
        }
        return p
    }

    /// Prices `request`'s products for its user on the current view, logs each quote in
    /// the user's partition and, when so configured, waits until the log has them.
    public func price(_ request: PriceRequest) async throws(PriceError) -> PriceAnswer {
        func refuse(_ kind: DecisionError.Kind, _ message: String) -> PriceError { .refused(DecisionError(kind, message)) }
        guard let (config, policy) = configs[request.surface] else {
            throw refuse(.notFound, "no pricing surface '\(clipped(request.surface))'; pricing surfaces: \(names.isEmpty ? "none" : names.joined(separator: ", "))")
        }
        guard !request.user.isEmpty, request.user.utf8.count <= EventDecoder.maximumIDBytes else {
            throw refuse(.invalid, "'user' must be 1–\(EventDecoder.maximumIDBytes) bytes")
        }
        guard !request.products.isEmpty, request.products.count <= Self.maximumProducts else {
            throw refuse(.invalid, "'products' must name 1–\(Self.maximumProducts) products")
        }
        if let given = request.decisionID {
            guard !given.isEmpty, given.utf8.count <= EventDecoder.maximumIDBytes - 8 else {
                throw refuse(.invalid, "'decision_id' must be 1–\(EventDecoder.maximumIDBytes - 8) bytes")
            }
            if let earlier = recent.withLock({ $0[given] }) {
                guard earlier.surface == request.surface, earlier.user == request.user, earlier.quotes.map(\.product) == request.products else {
                    throw refuse(.conflict, "decision '\(clipped(given))' was made for another surface, user or products")
                }
                return earlier
            }
        }
        let surface = config.learning
        var context = [Double](repeating: 0, count: surface.features.count)
        for (name, value) in request.context {
            guard let k = surface.features.firstIndex(of: name) else {
                let known = surface.features.isEmpty ? "none" : surface.features.joined(separator: ", ")
                throw refuse(.invalid, "unknown context feature '\(clipped(name))'; pricing surface '\(surface.name)' uses: \(known)")
            }
            guard value.isFinite, abs(value) <= 1e12 else { throw refuse(.invalid, "context feature '\(name)' must be a finite number within ±1e12") }
            context[k] = value
        }
        var products: [Int] = []
        for id in request.products {
            guard let p = surface.products.firstIndex(where: { $0.id == id }) else {
                throw refuse(.invalid, "unknown product '\(clipped(id))' on pricing surface '\(surface.name)'")
            }
            guard !products.contains(p) else { throw refuse(.invalid, "product '\(clipped(id))' appears twice in 'products'") }
            products.append(p)
        }

        let now = clock()
        let state = preparation(of: views.view)
        let learner = state.learner
        let slots = products.map { learner.slot(surface: surface.name, product: surface.products[$0].id)! }
        let partition = routing.partition(of: request.user)
        let keepsPrices = products.contains { config.guardrails[$0].sameUserSeconds != nil }
        if keepsPrices {
            // Short: the first request's turn ends once its quotes are remembered and logged.
            await turns.take(request.user)
        }
        defer { if keepsPrices { turns.give(request.user) } }
        let held = try await openQuotes(user: request.user, slots: slots, products: products, config: config, partition: partition, now: now)

        let base: String
        if let given = request.decisionID {
            base = given
        } else {
            base = idPrefix + String(sequence.wrappingAdd(1, ordering: .relaxed).newValue, radix: 36)
        }
        var answer = PriceAnswer(
            decisionID: request.decisionID ?? base + "@\(partition)", surface: surface.name, user: request.user, policy: config.policyName,
            policyVersion: 1, objective: config.objective, quotes: [], timestamp: now)
        var records: [[UInt8]] = []
        var remembered: [(slot: Int, quote: (point: Int, id: String))] = []
        for (i, p) in products.enumerated() {
            let k = slots[i]
            let product = surface.products[p]
            let ladder = product.ladder
            let rails = config.guardrails[p]
            let previous = learner.previousPrice(slot: k, now: now)
            let key = AllowedKey(slot: k, previous: previous)
            let (allowed, boundBy) = state.allowed.withLock { $0[key] } ?? {
                let a = rails.allowed(ladder, previous: previous)
                state.allowed.withLock { $0[key] = a }
                return a
            }()
            let inventory = config.stock[p].map { stock(learner, slot: k, plan: $0, now: now) }
            // The quote's own id: a reward may name it; Arbiter's ids end with the partition. A
            // price kept for the user is the open quote itself, whose outcome is still to come.
            let id = held[i]?.id ?? request.decisionID.map { "\($0).\(i)" } ?? "\(base).\(i)@\(partition)"
            var random = SeededRandom(decisionID: id, salt: seed)
            let samples = inventory.flatMap { programDraws(learner, policy: policy, slot: k, ladder: ladder, inventory: $0) }
            let table =
                held[i] == nil && samples == nil
                ? self.table(state, config: config, policy: policy, slot: k, ladder: ladder, allowed: allowed, inventory: inventory) : nil
            let d: PriceDecision
            switch learner.demand[k] {
            case .perPoint(let m):
                d = policy.decide(
                    ladder: ladder, demand: m, context: [], allowed: allowed, boundBy: boundBy, inventory: inventory, quoted: held[i]?.point, table: table,
                    samples: samples, random: &random)
            case .logit(let m):
                d = policy.decide(
                    ladder: ladder, demand: m, context: context, allowed: allowed, boundBy: boundBy, inventory: inventory, quoted: held[i]?.point, table: table,
                    samples: samples, random: &random)
            }
            var elasticity: Double?
            if case .logit(let m) = learner.demand[k], let point = d.point { elasticity = m.elasticity(point, context: context) }
            let quote = PriceQuote(
                product: product.id, decisionID: id, price: d.point.map { ladder.prices[$0] }, currency: ladder.currency, propensity: d.propensity,
                propensityDraws: d.propensityDraws, conversion: d.conversion, value: d.value, elasticity: elasticity, boundBy: d.boundBy,
                modelUpdates: learner.demand[k].outcomes, unitsLeft: config.stock[p].map { max(0, $0.units - learner.sold[k]) })
            answer.quotes.append(quote)
            if let price = quote.price, !quote.boundBy.contains(.sameUser) {
                records.append(Self.record(quote, of: answer, context: request.context))
                if rails.sameUserSeconds != nil { remembered.append((k, (ladder.point(of: price)!, quote.decisionID))) }
            }
        }

        // Logged before it is answered: a quote that cannot be logged is refused, so every
        // price acted upon is in the log.
        var tickets: [DecisionLogTicket] = []
        do {
            for r in records { tickets.append(try log.append(partition: partition, key: Array(request.user.utf8), record: r)) }
        } catch {
            throw refuse(.unavailable, "the decision log is not accepting records: \(error)")
        }
        // Remembered while the log acknowledges, so that the user's next request, even one
        // arriving meanwhile, keeps the price; forgotten if the log refuses it.
        if !remembered.isEmpty {
            unlearnt.withLock { u in
                // Bounded: an entry is needed only until its partition learns the quote.
                if u.count >= 100_000 { u.removeAll(keepingCapacity: true) }
                for (k, q) in remembered { u[QuoteKey(user: request.user, slot: k)] = (q.point, now, q.id) }
            }
        }
        if waitForLog {
            for t in tickets {
                guard await t.durable() else {
                    unlearnt.withLock { u in
                        for (k, q) in remembered where u[QuoteKey(user: request.user, slot: k)]?.id == q.id { u[QuoteKey(user: request.user, slot: k)] = nil }
                    }
                    throw refuse(.unavailable, "the decision log did not acknowledge the quote; no price was given")
                }
            }
        }
        if let given = request.decisionID {
            recent.withLock { $0.remember(answer, id: given) }
        }
        quotes[surface.name]?.increment(by: records.count)
        return answer
    }

    /// The quotes made to the user within the same-user time, per requested product (nil
    /// where there is none, or the guardrail is off), read at the owner of the user's
    /// partition. The time runs from the quote: keeping a price does not log it again, so
    /// the user's purchase settles the one quote they were shown.
    private func openQuotes(user: String, slots: [Int], products: [Int], config: PricingConfiguration, partition: Int32, now: Int64) async throws(PriceError)
        -> [(point: Int, id: String)?]
    {
        let limits = products.map { config.guardrails[$0].sameUserSeconds }
        guard limits.contains(where: { $0 != nil }), let partitions else { return Array(repeating: nil, count: slots.count) }
        let mine = unlearnt.withLock { u in slots.map { u[QuoteKey(user: user, slot: $0)] } }
        let read = await partitions.read(partition: partition) { state in
            let learner = state.learner(PricingLearner.self)
            return zip(slots, mine).map { k, m in
                // A remembered quote the partition has learnt is superseded by what it holds
                // (open, or settled: a sale ends the kept price).
                (learner?.openQuote(user: user, slot: k), m.map { learner?.knows(quote: $0.id) ?? false } ?? false)
            }
        }
        guard case .answer(let found) = read else { throw .notHeld(partition: partition) }
        return zip(zip(found, mine), limits).map { f, limit in
            let ((open, learnt), remembered) = f
            // The newer of the partition's open quote and the one this process remembers.
            let candidates = [open, learnt ? nil : remembered].compactMap { $0 }
            guard let limit, let quote = candidates.max(by: { $0.decidedAt < $1.decidedAt }), now - quote.decidedAt <= limit * 1000 else { return nil }
            return (quote.point, quote.id)
        }
    }

    /// The stock a product has at `now`: units left, and the customers still expected
    /// before the horizon ends at the rate its quotes arrived in the current and previous
    /// period (on the minute, so the answer to an id does not depend on the millisecond it
    /// was asked). Before any
    /// traffic, one customer is expected, so the plan does not bind until it knows the
    /// rate; after the horizon nothing is left to sell.
    private func stock(_ learner: PricingLearner, slot k: Int, plan: StockPlan, now: Int64) -> Inventory {
        let left = now >= plan.end ? 0 : Double(max(0, plan.units - learner.sold[k]))
        // Planned on the minute: processes answering the same id within it plan alike.
        let t = now - now % 60_000
        // The arrival rate of the kept periods' quotes (the current and the previous one).
        let recent = learner.recentQuotes(slot: k, now: t)
        let rate = recent.map { Double($0.count) / Double(max(1, t - $0.since)) } ?? 0
        let customersLeft = rate * Double(max(0, plan.end - max(t, plan.start)))
        let customersTotal = rate * Double(plan.end - plan.start)
        return Inventory(remaining: left, periodsLeft: customersLeft, initialRate: Double(plan.units) / max(1, customersTotal))
    }

    /// Solves, on the thread that builds views, the dynamic program of every product whose
    /// demand or stock changed, so that requests find the draws ready.
    private func solvePrograms(_ state: Prepared) {
        let now = clock()
        for name in names {
            guard let (config, policy) = configs[name], case .dynamicProgram = policy.strategy else { continue }
            for (p, product) in config.learning.products.enumerated() {
                guard let plan = config.stock[p], let k = state.learner.slot(surface: name, product: product.id) else { continue }
                _ = programDraws(state.learner, policy: policy, slot: k, ladder: product.ladder, inventory: stock(state.learner, slot: k, plan: plan, now: now))
            }
        }
    }

    /// The dynamic program's draws for slot `k` at `inventory` (nil for other policies or
    /// without stock), solved once per demand state and stock and seeded by both, so every
    /// process holding the same state prices from the same draws.
    private func programDraws(_ learner: PricingLearner, policy: PricingPolicy, slot k: Int, ladder: PriceLadder, inventory: Inventory) -> StockValueDraws? {
        guard case .dynamicProgram = policy.strategy, inventory.remaining >= 1 else { return nil }
        let units = Int(inventory.remaining)
        // Customers beyond a billion change no plan: the scale grows with them.
        let customers = Int(min(1e9, inventory.periodsLeft.rounded()))
        let demand = learner.demand[k]
        if let kept = programs.withLock({ $0[k] }), kept.units == units, kept.customers == customers, kept.demand == demand { return kept.draws }
        var random = SeededRandom(decisionID: "dp/\(k)/\(demand.outcomes)/\(units)/\(customers)", salt: seed)
        let values = ladder.prices.indices.map { ladder.value(of: $0, objective: policy.objective) }
        let draws: StockValueDraws
        switch demand {
        case .perPoint(let m):
            draws = StockValueDraws.sample(
                values: values, demand: m, customers: customers, units: units, draws: policy.propensityDraws, budget: StockValueDraws.budget, random: &random)
        case .logit(let m):
            draws = StockValueDraws.sample(
                values: values, demand: m, customers: customers, units: units, draws: policy.propensityDraws, budget: StockValueDraws.budget, random: &random)
        }
        programs.withLock { $0[k] = (demand, units, customers, draws) }
        return draws
    }

    /// The propensity table of a decision that reads no context, made once per view,
    /// allowed set and stock; nil when the demand weighs context (each decision then draws
    /// its own) or the propensity is exact (ε-greedy).
    private func table(
        _ state: Prepared, config: PricingConfiguration, policy: PricingPolicy, slot k: Int, ladder: PriceLadder, allowed: [Int], inventory: Inventory?
    ) -> AnswerTable? {
        guard config.learning.features.isEmpty else { return nil }
        if case .epsilonGreedy = policy.strategy { return nil }
        let key = TableKey(slot: k, allowed: allowed, stock: inventory.map { [$0.remaining, $0.periodsLeft.rounded(), $0.initialRate] } ?? [])
        if let t = state.tables.withLock({ $0[key] }) { return t }
        // Seeded by the view, so processes with equally fresh views report the same.
        var random = SeededRandom(decisionID: state.view.fingerprint + "/\(k)/\(allowed)", salt: seed)
        // The stock rounded as in the key, so the table does not depend on which request made it.
        let stock = inventory.map { Inventory(remaining: $0.remaining, periodsLeft: $0.periodsLeft.rounded(), initialRate: $0.initialRate) }
        // The decision's own draw makes up the configured number.
        let draws = max(1, config.propensityDraws - 1)
        let t: AnswerTable
        switch state.learner.demand[k] {
        case .perPoint(let m): t = policy.answerTable(ladder: ladder, demand: m, allowed: allowed, inventory: stock, draws: draws, random: &random)
        case .logit(let m): t = policy.answerTable(ladder: ladder, demand: m, allowed: allowed, inventory: stock, draws: draws, random: &random)
        }
        state.tables.withLock { tables in
            if tables.count > 10_000 { tables.removeAll() }
            tables[key] = t
        }
        return t
    }

    /// The decision log's record of a quote: an `impression` whose `action` is the product
    /// and which carries the `price`, so the partition's pricing learner joins it with the
    /// user's purchase of the product.
    static func record(_ q: PriceQuote, of a: PriceAnswer, context: [String: Double]) -> [UInt8] {
        var w = JSONWriter(reservingCapacity: 256)
        w.beginObject()
        w.key("type"); w.string(EventKind.impression.wireName)
        w.key("v"); w.int(Int64(EventDecoder.schemaVersion))
        w.key("ts"); w.int(a.timestamp)
        w.key("user"); w.string(a.user)
        w.key("decision_id"); w.string(q.decisionID)
        w.key("surface"); w.string(a.surface)
        w.key("action"); w.string(q.product)
        w.key("price"); w.raw(q.price!.description)
        w.key("currency"); w.string(q.currency)
        w.key("propensity"); w.double(max(1e-12, q.propensity))
        w.key("policy"); w.string(a.policy)
        w.key("policy_version"); w.int(a.policyVersion)
        w.key("model_updates"); w.int(q.modelUpdates)
        w.key("request_id"); w.string(a.decisionID)
        w.key("context"); w.beginObject()
        for name in context.keys.sorted() {
            w.key(name); w.double(context[name]!)
        }
        w.endObject()
        w.endObject()
        return w.bytes
    }
}
