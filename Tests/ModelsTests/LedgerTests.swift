import Events
import StateFormat
import Testing

@testable import Bidding
@testable import MarketingMix
@testable import Recommenders

@Suite struct LedgerTests {
    func roundTrip<L: Learner>(_ l: L) throws -> L {
        var w = StateWriter()
        l.encode(to: &w)
        var r = StateReader(w.bytes)
        return try L(from: &r, version: L.stateVersion)
    }

    @Test func mediaLedgerAggregatesSpendAndOutcomesPerDay() throws {
        var m = MediaLedger()
        let d = Day(year: 2018, month: 7, day: 1)!
        m.learn(Event(timestamp: 0, body: .spend(Spend(channel: "tv", amount: Money(micros: 5), day: d))))
        m.learn(Event(timestamp: 0, body: .spend(Spend(channel: "tv", amount: Money(micros: 7), day: d))))
        m.learn(Event(timestamp: 0, body: .spend(Spend(channel: "radio", amount: Money(micros: 1), day: d))))
        let noon = Int64(d.daysSinceEpoch) * 86_400_000 + 43_200_000
        m.learn(Event(timestamp: noon, body: .purchase(Purchase(user: "u", orderID: "o", items: [.init(item: "i", price: Money(micros: 3), quantity: 1)], revenue: Money(micros: 3), currency: "USD"))))
        #expect(m.spend[.init(channel: "tv", day: d)] == Money(micros: 12))
        #expect(m.spend[.init(channel: "radio", day: d)] == Money(micros: 1))
        #expect(m.outcomes[d] == MediaLedger.Outcome(revenue: Money(micros: 3), conversions: 1))
        #expect(try roundTrip(m) == m)
        var doubled = m
        doubled.merge(m)
        #expect(doubled.spend[.init(channel: "tv", day: d)] == Money(micros: 24))
        #expect(doubled.outcomes[d]?.conversions == 2)
    }

    @Test func itemPopularityCountsEveryInteraction() throws {
        var p = ItemPopularity()
        p.learn(Event(timestamp: 0, body: .view(ItemInteraction(user: "u", item: "a"))))
        p.learn(Event(timestamp: 0, body: .addToCart(ItemInteraction(user: "u", item: "a"))))
        p.learn(Event(timestamp: 0, body: .purchase(Purchase(user: "u", orderID: "o", items: [.init(item: "a", price: Money(micros: 2_000_000), quantity: 3), .init(item: "b", price: .zero, quantity: 1)], revenue: Money(micros: 6_000_000), currency: "USD"))))
        #expect(p.items["a"] == ItemPopularity.Counts(views: 1, addsToCart: 1, purchases: 1, units: 3, revenue: Money(micros: 6_000_000)))
        #expect(p.items["b"]?.units == 1)
        #expect(try roundTrip(p) == p)
    }

    @Test func auctionLedgerCountsWinsAndCost() throws {
        var a = AuctionLedger()
        a.learn(Event(timestamp: 0, body: .bidOutcome(BidOutcome(auctionID: "1", won: true, clearingPrice: Money(micros: 420_000), click: true, conversion: true))))
        a.learn(Event(timestamp: 0, body: .bidOutcome(BidOutcome(auctionID: "2", won: false, clearingPrice: nil))))
        #expect(a.auctions == 2 && a.wins == 1 && a.clicks == 1 && a.conversions == 1)
        #expect(a.cost == Money(micros: 420_000))
        #expect(try roundTrip(a) == a)
        var b = AuctionLedger()
        b.merge(a)
        b.merge(a)
        #expect(b.auctions == 4 && b.cost == Money(micros: 840_000))
    }
}
