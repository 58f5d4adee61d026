import Events
import StateFormat

/// Per-item interaction counts (views, add-to-carts, units purchased): the popularity
/// prior that incremental recommenders fall back on for new users.
public struct ItemPopularity: Learner {
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

    public mutating func update(_ event: Event) {
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
