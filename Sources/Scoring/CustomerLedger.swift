import Common
import Events
import StateFormat

/// Per-user purchase history summarised as recency, frequency and monetary value: the
/// inputs of the churn and lifetime-value scores (BG/NBD, Gamma–Gamma), kept current
/// event by event.
public struct CustomerLedger: Learner, Equatable {
    public static let name = "scoring.customer-ledger"
    public static let stateVersion: UInt16 = 1

    public struct Customer: Sendable, Equatable {
        public var purchases: Int64 = 0
        public var revenue = Money.zero
        /// Distinct purchase days: BG/NBD counts repeat transactions per time unit.
        public var purchaseDays: Int64 = 0
        public var firstPurchase: Int64 = .max
        public var lastPurchase: Int64 = .min
        /// Latest event of any kind: the activity signal for churn.
        public var lastSeen: Int64 = .min
        public var events: Int64 = 0
    }

    public private(set) var customers: [String: Customer] = [:]

    public init() {}

    /// All of it is per user: read at the owner of the user's partition.
    public var shared: CustomerLedger? { nil }

    public var reads: Set<EventKind> { EventKind.everything }

    public mutating func learn(_ event: Event) {
        guard let user = event.user else { return }
        let ts = event.timestamp
        modify(user) { c in
            c.events += 1
            c.lastSeen = max(c.lastSeen, ts)
            guard case .purchase(let p) = event.body else { return }
            // A purchase later than, and on another day than, the latest one so far starts
            // a new purchase day (late-arriving older purchases do not).
            if c.purchases == 0 || (ts > c.lastPurchase && Day(epochMillis: ts) != Day(epochMillis: c.lastPurchase)) {
                c.purchaseDays += 1
            }
            c.purchases += 1
            c.revenue += p.revenue
            c.firstPurchase = min(c.firstPurchase, ts)
            c.lastPurchase = max(c.lastPurchase, ts)
        }
    }

    private mutating func modify(_ user: String, _ body: (inout Customer) -> Void) {
        if let index = customers.index(forKey: user) {
            body(&customers.values[index])
        } else {
            var c = Customer()
            body(&c)
            customers[user] = c
        }
    }

    /// Users are partitioned by key, so shards hold disjoint customers; a customer seen in
    /// both (a re-keyed stream) is combined field by field.
    public mutating func merge(_ other: CustomerLedger) {
        for (user, theirs) in other.customers {
            modify(user) { c in
                c.purchases += theirs.purchases
                c.revenue += theirs.revenue
                c.purchaseDays += theirs.purchaseDays
                c.firstPurchase = min(c.firstPurchase, theirs.firstPurchase)
                c.lastPurchase = max(c.lastPurchase, theirs.lastPurchase)
                c.lastSeen = max(c.lastSeen, theirs.lastSeen)
                c.events += theirs.events
            }
        }
    }

    public func encode(to w: inout StateWriter) {
        w.writeVarint(UInt64(customers.count))
        for user in customers.keys.sorted() {
            let c = customers[user]!
            w.write(user)
            w.write(c.purchases)
            w.write(c.revenue)
            w.write(c.purchaseDays)
            w.write(c.firstPurchase)
            w.write(c.lastPurchase)
            w.write(c.lastSeen)
            w.write(c.events)
        }
    }

    public init(from r: inout StateReader, version: UInt16) throws(StateFormatError) {
        let n = try r.readCount(elementSize: 65)
        customers.reserveCapacity(n)
        for _ in 0..<n {
            let user = try r.readString()
            var c = Customer()
            c.purchases = try r.readInt64()
            c.revenue = try r.readMoney()
            c.purchaseDays = try r.readInt64()
            c.firstPurchase = try r.readInt64()
            c.lastPurchase = try r.readInt64()
            c.lastSeen = try r.readInt64()
            c.events = try r.readInt64()
            customers[user] = c
        }
    }
}

extension CustomerLedger {
    public func summarize(into w: inout JSONWriter, top: Int) {
        let buyers = customers.values.filter { $0.purchases > 0 }
        w.beginObject()
        w.key("count"); w.int(Int64(customers.count))
        w.key("purchasers"); w.int(Int64(buyers.count))
        w.key("repeat_purchasers"); w.int(Int64(buyers.filter { $0.purchaseDays > 1 }.count))
        w.key("purchases"); w.int(buyers.reduce(0) { $0 + $1.purchases })
        w.key("revenue"); w.raw(buyers.reduce(Money.zero) { $0 + $1.revenue }.description)
        w.endObject()
    }
}
