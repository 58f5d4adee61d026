import Events
import StateFormat
import Testing

@testable import Scoring

@Suite struct CustomerLedgerTests {
    let day: Int64 = 86_400_000

    func purchase(_ user: String, at ts: Int64, revenue: Int128) -> Event {
        Event(timestamp: ts, body: .purchase(Purchase(user: user, orderID: "o\(ts)", items: [.init(item: "x", price: Money(micros: revenue), quantity: 1)], revenue: Money(micros: revenue), currency: "USD")))
    }

    @Test func keepsRecencyFrequencyAndMonetaryValue() {
        var ledger = CustomerLedger()
        ledger.learn(purchase("c", at: 10 * day, revenue: 5_000_000))
        ledger.learn(purchase("c", at: 10 * day + 3_600_000, revenue: 1_000_000))  // same day
        ledger.learn(Event(timestamp: 20 * day, body: .view(ItemInteraction(user: "c", item: "i"))))
        ledger.learn(purchase("c", at: 30 * day, revenue: 2_000_000))
        ledger.learn(purchase("c", at: 25 * day, revenue: 1))  // late, older day: not a new purchase day
        ledger.learn(Event(timestamp: 1, body: .spend(Spend(channel: "tv", amount: .zero, day: Day(daysSinceEpoch: 0)))))
        let c = ledger.customers["c"]!
        #expect(c.purchases == 4)
        #expect(c.purchaseDays == 2)
        #expect(c.revenue == Money(micros: 8_000_001))
        #expect(c.firstPurchase == 10 * day)
        #expect(c.lastPurchase == 30 * day)
        #expect(c.lastSeen == 30 * day)
        #expect(c.events == 5)
        #expect(ledger.customers.count == 1)
    }

    @Test func disjointShardsMergeToTheSequentialStateAndRoundTrip() throws {
        var sequential = CustomerLedger()
        var shards = [CustomerLedger(), CustomerLedger()]
        for i in 0..<500 {
            let user = "c\(i % 37)"
            let e = purchase(user, at: Int64(i) * day / 3, revenue: Int128(i) * 10_000)
            sequential.learn(e)
            shards[(i % 37) % 2].learn(e)  // users partitioned as Kafka keys them
        }
        var merged = CustomerLedger()
        merged.merge(shards[1])
        merged.merge(shards[0])
        #expect(merged == sequential)
        var w = StateWriter()
        sequential.encode(to: &w)
        var r = StateReader(w.bytes)
        #expect(try CustomerLedger(from: &r, version: 1) == sequential)
    }
}
