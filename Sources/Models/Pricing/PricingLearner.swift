import Bandits
import Common
import Events
import StateFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which demand model a pricing surface learns per product.
public enum DemandKind: String, Sendable, CaseIterable {
    /// Beta–Bernoulli conversion per price point (`PriceDemand`): exact merges.
    case perPoint = "per_point"
    /// Logit in price with context features (`LogitDemand`).
    case logit
}

/// One product a pricing surface prices, with its ladder.
public struct PricedProduct: Sendable, Equatable {
    public var id: String
    public var ladder: PriceLadder
    public init(id: String, ladder: PriceLadder) {
        self.id = id
        self.ladder = ladder
    }
}

/// What a partition needs of a pricing surface's configuration to learn for it.
public struct PricingSurface: Sendable, Equatable {
    public var name: String
    public var products: [PricedProduct]
    public var demand: DemandKind
    /// Context feature names a logit model weighs, in the order of its coefficients.
    public var features: [String]
    /// Evidence decay per customer of the product (1: none), for demand that moves.
    public var discount: Double
    /// How long after a quote a purchase of the product by the user counts as its sale.
    public var attributionWindowMillis: Int64
    /// The period the largest-change guardrail compares with (the previous one's price).
    public var periodMillis: Int64

    public init(
        name: String, products: [PricedProduct], demand: DemandKind = .perPoint, features: [String] = [], discount: Double = 1,
        attributionWindowMillis: Int64 = 30 * 60_000, periodMillis: Int64 = 86_400_000
    ) {
        self.name = name
        self.products = products
        self.demand = demand
        self.features = features
        self.discount = discount
        self.attributionWindowMillis = attributionWindowMillis
        self.periodMillis = periodMillis
    }

    /// Whether state learnt under `other` means the same here: same ladders, model and
    /// features (a changed window or period keeps what was learnt).
    func learnsLike(_ other: PricingSurface, product: Int, otherProduct: Int) -> Bool {
        products[product].ladder.prices == other.products[otherProduct].ladder.prices && demand == other.demand && features == other.features
            && discount == other.discount
    }
}

/// A product's demand state, in the model its surface chose.
public enum ProductDemand: Sendable, Equatable {
    case perPoint(PriceDemand)
    case logit(LogitDemand)

    init(_ surface: PricingSurface, _ product: PricedProduct) {
        switch surface.demand {
        case .perPoint: self = .perPoint(PriceDemand(points: product.ladder.count, discount: surface.discount))
        case .logit:
            self = .logit(LogitDemand(prices: product.ladder.prices.map(\.units), contextCount: surface.features.count, discount: surface.discount))
        }
    }

    mutating func learn(point k: Int, context: [Double], purchased: Bool) {
        switch self {
        case .perPoint(var d):
            d.learn(point: k, purchased: purchased)
            self = .perPoint(d)
        case .logit(var d):
            d.learn(point: k, context: context, purchased: purchased)
            self = .logit(d)
        }
    }

    /// False when `other` is the other model.
    mutating func merge(_ other: ProductDemand) -> Bool {
        switch (self, other) {
        case (.perPoint(var a), .perPoint(let b)):
            a.merge(b)
            self = .perPoint(a)
        case (.logit(var a), .logit(let b)):
            a.merge(b)
            self = .logit(a)
        default: return false
        }
        return true
    }

    /// Quotes whose outcome has been learnt.
    public var outcomes: Int64 {
        switch self {
        case .perPoint(let d): d.outcomes
        case .logit(let d): d.outcomes
        }
    }

    func prepared(level: Double) -> ProductDemand {
        switch self {
        case .perPoint(let d): .perPoint(d.prepared(level: level))
        case .logit(let d): .logit(d.prepared(level: level))
        }
    }
}

/// How often a product was quoted at each point in one period (of the surface's
/// `periodMillis`): the previous period's most quoted price is what the largest-change
/// guardrail measures from.
public struct PeriodQuotes: Sendable, Equatable {
    public var period: Int64
    public var counts: [Int64]
}

/// The pricing surfaces' learning in one partition of the event stream: the join of the
/// partition's users' quotes with their purchases, and each product's demand model,
/// units sold and recent quotes.
///
/// Price decisions reach it as `impression` events carrying `surface`, the product as
/// `action` and the `price` quoted. A quote settles once: as a sale when the user buys the
/// product within the attribution window (or a `reward` with a positive value names the
/// quote's decision id), as no sale when the window ends — in the partition's stream time,
/// so replays learn the same. Units sold count every purchase of a priced product, quoted
/// or not: they are what the stock has lost.
///
/// Merge law: counts merge exactly, as does per-point demand; logit demand merges its
/// Gaussian evidence (close to, not bit-equal with, one sequential run; see
/// `LogitDemand`). The join of open quotes is per user and stays in the partition.
public struct PricingLearner: Learner {
    public static let name = "pricing.quotes"
    public static let stateVersion: UInt16 = 1

    /// Where a product's state is: its surface and its index there.
    public struct Slot: Sendable, Equatable, Hashable {
        public var surface: Int
        public var product: Int
    }

    public private(set) var surfaces: [PricingSurface]
    /// Every product of every surface, in configuration order: the join's "surfaces".
    public private(set) var slots: [Slot] = []
    public private(set) var demand: [ProductDemand] = []
    public private(set) var sold: [Int64] = []
    /// Per slot: the latest two periods with quotes, oldest first.
    public private(set) var periods: [[PeriodQuotes]] = []
    public private(set) var join: RewardJoin
    public private(set) var clock: Int64 = 0
    /// Quotes naming a surface or product not configured here, or a price off the ladder.
    public private(set) var unlearnable: Int64 = 0
    private var slotIndex: [String: [String: Int]] = [:]
    private var itemSlots: [String: [Int]] = [:]

    /// - Parameters:
    ///   - partitions: the partition count of the stream: a discount γ per customer of
    ///     the whole stream becomes γ^partitions per customer of one partition, so that an
    ///     observation decays alike however the customers are spread.
    ///   - capacity: the join's bound (open and remembered quotes).
    public init(surfaces: [PricingSurface], partitions: Int = 1, capacity: Int = 1_000_000) {
        self.surfaces = surfaces.map { s in
            var s = s
            if partitions > 1 { s.discount = pow(s.discount, Double(partitions)) }
            return s
        }
        join = RewardJoin(surfaces: 0, capacity: capacity)
        for (s, surface) in self.surfaces.enumerated() {
            for (p, product) in surface.products.enumerated() {
                slots.append(Slot(surface: s, product: p))
                demand.append(ProductDemand(surface, product))
            }
        }
        sold = Array(repeating: 0, count: slots.count)
        periods = Array(repeating: [], count: slots.count)
        join = RewardJoin(surfaces: slots.count, capacity: capacity)
        reindex()
    }

    private mutating func reindex() {
        slotIndex = [:]
        itemSlots = [:]
        for (k, slot) in slots.enumerated() {
            let surface = surfaces[slot.surface]
            let id = surface.products[slot.product].id
            slotIndex[surface.name, default: [:]][id] = k
            itemSlots[id, default: []].append(k)
        }
    }

    /// The slot of `product` on surface `name`.
    public func slot(surface name: String, product: String) -> Int? { slotIndex[name]?[product] }

    public var reads: Set<EventKind> { surfaces.isEmpty ? [] : [.impression, .purchase, .reward] }

    public mutating func learn(_ event: Event) {
        let now = event.timestamp
        switch event.body {
        case .impression(let i):
            guard let name = i.surface, let price = i.price else { break }
            register(i, surface: name, price: price, at: now)
        case .purchase(let p):
            var bought: [Int] = []
            for line in p.items {
                guard let ks = itemSlots[line.item] else { continue }
                for k in ks {
                    sold[k] += line.quantity
                    if !bought.contains(k) { bought.append(k) }
                }
            }
            if !bought.isEmpty {
                learn(join.attribute(user: p.user, surfaces: bought, value: 1, order: p.orderID, settles: true, now: now))
            }
        case .reward(let r):
            // Only a quote's reward: others belong to the bandits' join.
            if join.surface(of: r.decisionID) != nil || join.rememberedSurface(of: r.decisionID) != nil,
                case .settled(let x) = join.reward(decision: r.decisionID, value: r.value > 0 ? 1 : 0, now: now)
            {
                learn([x])
            }
        default:
            break
        }
        if now > clock {
            clock = now
            learn(join.expire(now: clock))
        }
    }

    private mutating func register(_ i: Impression, surface name: String, price: Money, at ts: Int64) {
        // A priced impression of another surface is a bid (`BiddingLearner`), not a quote.
        guard let products = slotIndex[name] else { return }
        guard let k = products[i.action] else {
            unlearnable += 1
            return
        }
        let surface = surfaces[slots[k].surface]
        guard let point = surface.products[slots[k].product].ladder.point(of: price) else {
            unlearnable += 1
            return
        }
        guard join.isFree(i.decisionID) else {
            join.recordRepeat(surface: join.surface(of: i.decisionID) ?? join.rememberedSurface(of: i.decisionID) ?? k)
            return
        }
        let context = i.context
        let x = surface.demand == .logit ? surface.features.map { context[$0] ?? 0 } : []
        join.register(RewardJoin.Pending(
            id: i.decisionID, surface: k, user: i.user, arm: point, features: x, propensity: i.propensity ?? 1, decidedAt: ts,
            windowEnd: ts + surface.attributionWindowMillis))
        count(quote: point, slot: k, period: ts / max(1, surface.periodMillis))
    }

    private mutating func count(quote point: Int, slot k: Int, period: Int64) {
        if let i = periods[k].firstIndex(where: { $0.period == period }) {
            periods[k][i].counts[point] += 1
            return
        }
        var c = [Int64](repeating: 0, count: demand[k].points)
        c[point] = 1
        periods[k] = Self.latestTwo(periods[k] + [PeriodQuotes(period: period, counts: c)])
    }

    /// The two latest periods, oldest first: what a sequential run keeps, and what the
    /// union of two shards' latest two periods reduces to (a shard drops a period only
    /// after two later ones, which then outrank it in the union too).
    private static func latestTwo(_ list: [PeriodQuotes]) -> [PeriodQuotes] {
        Array(list.sorted { $0.period < $1.period }.suffix(2))
    }

    private mutating func learn(_ settled: [RewardJoin.Settlement]) {
        for x in settled { demand[x.surface].learn(point: x.arm, context: x.features, purchased: x.reward != 0) }
    }

    // MARK: Reading

    /// The price most quoted for slot `k` in the latest period with quotes before the one
    /// holding `now` (ties: the lower price), nil when none is kept: a period without
    /// traffic does not lift the largest-change bound.
    public func previousPrice(slot k: Int, now: Int64) -> Money? {
        let surface = surfaces[slots[k].surface]
        let current = now / max(1, surface.periodMillis)
        guard let q = periods[k].last(where: { $0.period < current }), let top = q.counts.max(), top > 0 else { return nil }
        return surface.products[slots[k].product].ladder.prices[q.counts.firstIndex(of: top)!]
    }

    /// Quotes of slot `k` in the kept periods up to `now`, and when the first of those
    /// periods began: the product's recent arrival rate, whatever came before.
    public func recentQuotes(slot k: Int, now: Int64) -> (count: Int64, since: Int64)? {
        let length = max(1, surfaces[slots[k].surface].periodMillis)
        let kept = periods[k].filter { $0.period <= now / length }
        guard let first = kept.first else { return nil }
        return (kept.reduce(0) { $0 + $1.counts.reduce(0, +) }, first.period * length)
    }

    /// Whether the partition has seen quote `id` (open or settled).
    public func knows(quote id: String) -> Bool { !join.isFree(id) }

    /// The user's open quote for slot `k`: its point and when it was made.
    public func openQuote(user: String, slot k: Int) -> (point: Int, decidedAt: Int64, id: String)? {
        join.latestOpen(user: user, surface: k).map { ($0.arm, $0.decidedAt, $0.id) }
    }

    /// Quotes of slot `k` logged so far (every partition's, in a merged view).
    public func quotes(slot k: Int) -> Int64 { join.counters[k].decisions }

    /// This state with each demand model's per-decision work done once, for intervals of
    /// probability `level(slot)`.
    public func prepared(level: (Int) -> Double) -> PricingLearner {
        var s = self
        s.demand = demand.indices.map { demand[$0].prepared(level: level($0)) }
        return s
    }

    // MARK: Merging

    public mutating func merge(_ other: PricingLearner) {
        var map: [Int?] = []
        for (j, slot) in other.slots.enumerated() {
            let surface = other.surfaces[slot.surface]
            guard let k = self.slot(surface: surface.name, product: surface.products[slot.product].id) else {
                map.append(nil)
                continue
            }
            map.append(k)
            sold[k] += other.sold[j]
            // Another configuration's demand (a ladder or model changed during a rolling
            // deploy) does not mean the same here: only its counts are added.
            guard surfaces[slots[k].surface].learnsLike(other.surfaces[slot.surface], product: slots[k].product, otherProduct: slot.product) else { continue }
            _ = demand[k].merge(other.demand[j])
            var union = periods[k]
            for q in other.periods[j] {
                if let i = union.firstIndex(where: { $0.period == q.period }), union[i].counts.count == q.counts.count {
                    for p in q.counts.indices { union[i].counts[p] += q.counts[p] }
                } else if !union.contains(where: { $0.period == q.period }) {
                    union.append(q)
                }
            }
            periods[k] = Self.latestTwo(union)
        }
        join.addCounters(of: other.join, map: map)
        clock = max(clock, other.clock)
        unlearnable += other.unlearnable
    }

    /// Demand, units sold, recent quotes and counters, without the per-user join.
    public var shared: PricingLearner? {
        var s = self
        s.join = join.countersOnly()
        return s
    }

    public mutating func adopt(configurationOf fresh: PricingLearner) -> [String] {
        var notes: [String] = []
        var next = fresh
        var map: [Int?] = []
        for (j, slot) in slots.enumerated() {
            let surface = surfaces[slot.surface]
            let id = surface.products[slot.product].id
            guard let k = fresh.slot(surface: surface.name, product: id) else {
                notes.append("pricing surface '\(surface.name)', product '\(id)' is no longer configured: its state is dropped")
                map.append(nil)
                continue
            }
            let f = fresh.slots[k]
            guard fresh.surfaces[f.surface].learnsLike(surface, product: f.product, otherProduct: slot.product) else {
                notes.append("pricing surface '\(surface.name)', product '\(id)': its prices, demand model or features changed: it starts fresh")
                map.append(nil)
                continue
            }
            next.demand[k] = demand[j]
            next.sold[k] = sold[j]
            next.periods[k] = periods[j]
            map.append(k)
        }
        next.join = join.remapped(surfaces: next.slots.count, map: map).resized(capacity: fresh.join.capacity)
        next.clock = clock
        next.unlearnable = unlearnable
        self = next
        return notes
    }
}

// MARK: State

extension PricingLearner {
    /// Surfaces and products in configuration order, which every process shares, so
    /// equal state encodes to equal bytes.
    public func encode(to w: inout StateWriter) {
        w.write(clock)
        w.write(unlearnable)
        w.writeVarint(UInt64(surfaces.count))
        for s in surfaces {
            w.write(s.name)
            w.write(s.demand.rawValue)
            w.writeVarint(UInt64(s.features.count))
            for f in s.features { w.write(f) }
            w.write(s.discount)
            w.write(s.attributionWindowMillis)
            w.write(s.periodMillis)
            w.writeVarint(UInt64(s.products.count))
            for p in s.products {
                w.write(p.id)
                w.write(p.ladder.currency)
                w.write(p.ladder.unitCost)
                w.writeVarint(UInt64(p.ladder.count))
                for m in p.ladder.prices { w.write(m) }
            }
        }
        for k in slots.indices {
            switch demand[k] {
            case .perPoint(let d): w.write(section: d)
            case .logit(let d): w.write(section: d)
            }
            w.write(sold[k])
            w.writeVarint(UInt64(periods[k].count))
            for q in periods[k] {
                w.write(q.period)
                for c in q.counts { w.write(c) }
            }
        }
        w.write(Int64(join.capacity))
        join.encode(to: &w)
    }

    public init(from r: inout StateReader, version: UInt16) throws(StateFormatError) {
        let clock = try r.readInt64()
        let unlearnable = try r.readInt64()
        var surfaces: [PricingSurface] = []
        for _ in 0..<(try r.readCount(elementSize: 8)) {
            let name = try r.readString()
            let kindName = try r.readString()
            guard let kind = DemandKind(rawValue: kindName) else { throw StateFormatError("unknown demand model '\(kindName)'") }
            var features: [String] = []
            for _ in 0..<(try r.readCount()) { features.append(try r.readString()) }
            let discount = try r.readDouble()
            let window = try r.readInt64()
            let period = try r.readInt64()
            var products: [PricedProduct] = []
            for _ in 0..<(try r.readCount()) {
                let id = try r.readString()
                let currency = try r.readString()
                let cost = try r.readMoney()
                var prices: [Money] = []
                for _ in 0..<(try r.readCount(elementSize: 8)) { prices.append(try r.readMoney()) }
                do throws(PricingError) {
                    products.append(PricedProduct(id: id, ladder: try PriceLadder(prices: prices, unitCost: cost, currency: currency)))
                } catch {
                    throw StateFormatError("product '\(id)': \(error.message)")
                }
            }
            surfaces.append(PricingSurface(
                name: name, products: products, demand: kind, features: features, discount: discount, attributionWindowMillis: window, periodMillis: period))
        }
        var s = PricingLearner(surfaces: surfaces, capacity: 1)
        for k in s.slots.indices {
            let points = s.surfaces[s.slots[k].surface].products[s.slots[k].product].ladder.count
            let d: ProductDemand
            switch s.surfaces[s.slots[k].surface].demand {
            case .perPoint: d = .perPoint(try r.read(section: PriceDemand.self))
            case .logit: d = .logit(try r.read(section: LogitDemand.self))
            }
            guard d.points == points else { throw StateFormatError("product with \(points) prices has a demand model of \(d.points)") }
            guard d.matches(s.surfaces[s.slots[k].surface], s.surfaces[s.slots[k].surface].products[s.slots[k].product]) else {
                throw StateFormatError("product '\(s.surfaces[s.slots[k].surface].products[s.slots[k].product].id)': its demand model's settings differ from its surface's")
            }
            s.demand[k] = d
            s.sold[k] = try r.readInt64()
            var list: [PeriodQuotes] = []
            for _ in 0..<(try r.readCount(elementSize: 8)) {
                let period = try r.readInt64()
                var counts: [Int64] = []
                for _ in 0..<points { counts.append(try r.readInt64()) }
                list.append(PeriodQuotes(period: period, counts: counts))
            }
            s.periods[k] = list
        }
        let capacity = try r.readInt64()
        guard capacity > 0, capacity <= 1 << 40 else { throw StateFormatError("join capacity \(capacity) out of range") }
        let join = try RewardJoin(from: &r, capacity: Int(capacity))
        guard join.counters.count == s.slots.count else { throw StateFormatError("join counts \(join.counters.count) products, the state \(s.slots.count)") }
        for q in join.open.values {
            let slot = s.slots[q.surface]
            let product = s.surfaces[slot.surface].products[slot.product]
            guard q.arm >= 0, q.arm < product.ladder.count else {
                throw StateFormatError("quote '\(q.id)' is at point \(q.arm) of product '\(product.id)', which has \(product.ladder.count) prices")
            }
            guard q.features.count == (s.surfaces[slot.surface].demand == .logit ? s.surfaces[slot.surface].features.count : 0) else {
                throw StateFormatError("quote '\(q.id)' has \(q.features.count) context values for product '\(product.id)'")
            }
        }
        s.join = join
        s.clock = clock
        s.unlearnable = unlearnable
        self = s
    }
}

extension ProductDemand {
    /// Whether this model is the one `surface` makes for `product` (same prices, discount,
    /// features): what a decoded state must hold before it is merged or learnt into.
    func matches(_ surface: PricingSurface, _ product: PricedProduct) -> Bool {
        switch self {
        case .perPoint(let d): surface.demand == .perPoint && d.discount == surface.discount
        case .logit(let d):
            surface.demand == .logit && d.discount == surface.discount && d.contextCount == surface.features.count
                && d.prices == product.ladder.prices.map(\.units)
        }
    }

    var points: Int {
        switch self {
        case .perPoint(let d): d.points
        case .logit(let d): d.points
        }
    }
}

extension PricingLearner {
    public var gauges: [LearnerGauge] {
        slots.indices.flatMap { k -> [LearnerGauge] in
            let labels = ["surface": surfaces[slots[k].surface].name, "product": surfaces[slots[k].surface].products[slots[k].product].id]
            return [
                LearnerGauge("price_quotes", Double(join.counters[k].decisions), labels: labels),
                LearnerGauge("price_outcomes_learnt", Double(demand[k].outcomes), labels: labels),
                LearnerGauge("price_units_sold", Double(sold[k]), labels: labels),
            ]
        }
    }

    public func summarize(into w: inout JSONWriter, top: Int) {
        w.beginObject()
        w.key("unlearnable_quotes"); w.int(unlearnable)
        w.key("open_quotes"); w.int(Int64(join.pendingCount))
        w.key("products"); w.beginArray()
        for k in slots.indices.prefix(top) {
            let s = surfaces[slots[k].surface]
            let c = join.counters[k]
            w.beginObject()
            w.key("surface"); w.string(s.name)
            w.key("product"); w.string(s.products[slots[k].product].id)
            w.key("demand"); w.string(s.demand.rawValue)
            w.key("outcomes_learnt"); w.int(demand[k].outcomes)
            w.key("units_sold"); w.int(sold[k])
            w.key("quotes"); w.int(c.decisions)
            w.key("sales_joined"); w.int(c.joined)
            w.key("expired"); w.int(c.expired)
            w.endObject()
        }
        w.endArray()
        w.endObject()
    }
}
