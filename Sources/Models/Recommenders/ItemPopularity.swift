import Common
import Events
import StateFormat

/// Per-item interaction counts (views, add-to-carts, units purchased): the popularity
/// prior that incremental recommenders fall back on for new users.
public struct ItemPopularity: Learner, Equatable {
    public static let name = "models.item-popularity"
    public static let stateVersion: UInt16 = 1

    public struct Counts: Sendable, Equatable {
        public var views: Int64 = 0
        public var addsToCart: Int64 = 0
        public var purchases: Int64 = 0
        public var units: Int64 = 0
        public var revenue = Money.zero

        mutating func add(_ o: Counts) {
            views += o.views
            addsToCart += o.addsToCart
            purchases += o.purchases
            units += o.units
            revenue += o.revenue
        }
    }

    public private(set) var items: [String: Counts] = [:]

    public init() {}

    public var reads: Set<EventKind> { [.view, .addToCart, .purchase] }

    public mutating func learn(_ event: Event) {
        switch event.body {
        case .view(let e):
            items[e.item, default: Counts()].views += 1
        case .addToCart(let e):
            items[e.item, default: Counts()].addsToCart += 1
        case .purchase(let p):
            for line in p.items {
                var counts = items.removeValue(forKey: line.item) ?? Counts()
                counts.purchases += 1
                counts.units += line.quantity
                counts.revenue += line.price.times(line.quantity)
                items[line.item] = counts
            }
        default:
            break
        }
    }

    public mutating func merge(_ other: ItemPopularity) {
        for (item, counts) in other.items { items[item, default: Counts()].add(counts) }
    }

    public func encode(to w: inout StateWriter) {
        w.writeVarint(UInt64(items.count))
        for item in items.keys.sorted() {
            let c = items[item]!
            w.write(item)
            w.write(c.views)
            w.write(c.addsToCart)
            w.write(c.purchases)
            w.write(c.units)
            w.write(c.revenue)
        }
    }

    public init(from r: inout StateReader, version: UInt16) throws(StateFormatError) {
        let n = try r.readCount(elementSize: 49)
        for _ in 0..<n {
            let item = try r.readString()
            var c = Counts()
            c.views = try r.readInt64()
            c.addsToCart = try r.readInt64()
            c.purchases = try r.readInt64()
            c.units = try r.readInt64()
            c.revenue = try r.readMoney()
            items[item] = c
        }
    }
}

extension ItemPopularity {
    public var gauges: [LearnerGauge] { [LearnerGauge("items_seen", Double(items.count))] }

    public func summarize(into w: inout JSONWriter, top: Int) {
        w.beginObject()
        w.key("count"); w.int(Int64(items.count))
        w.key("most_bought"); w.beginArray()
        for (item, c) in items.sorted(by: { ($0.value.units, $1.key) > ($1.value.units, $0.key) }).prefix(top) {
            w.beginObject()
            w.key("item"); w.string(item)
            w.key("views"); w.int(c.views)
            w.key("adds_to_cart"); w.int(c.addsToCart)
            w.key("units"); w.int(c.units)
            w.key("revenue"); w.raw(c.revenue.description)
            w.endObject()
        }
        w.endArray()
        w.endObject()
    }
}
