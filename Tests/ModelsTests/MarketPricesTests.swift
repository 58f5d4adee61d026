import Common
import Foundation
import Testing

@testable import Bidding

/// The second-price market-price distribution, learnt from wins (the price seen) and
/// losses (only that the price was above the bid), and how the partitions' bidding
/// learner feeds it.
@Suite struct MarketPricesTests {
    /// The log-normal market's CDF: median 1, log-sd 0.6.
    static func truth(_ x: Double) -> Double { 0.5 * erfc(-log(x) / 0.6 / 2.0.squareRoot()) }

    @Test func theProductLimitRecoversTheMarketFromCensoredOutcomesWhereWinsAloneThinkItCheap() {
        var random = SeededRandom(seed: 4)
        var market = MarketPrices()
        var winsOnly = MarketPrices()
        for _ in 0..<50_000 {
            let price = exp(0.6 * random.normal())
            let bid = 0.3 * exp(1.2 * random.unit())  // bids from 0.3 to 1.0: half the market is never won
            if price <= bid {
                market.learn(clearingPrice: price)
                winsOnly.learn(clearingPrice: price)
            } else {
                market.learn(lostAt: bid)
            }
        }
        // m(δ) over units of 0.05 CPM, summed to the CDF at the units' edges.
        let m = market.distribution(unit: 0.05, units: 40), w = winsOnly.distribution(unit: 0.05, units: 40)
        for d in [8, 10, 12, 14, 16] {
            let x = (Double(d) + 0.5) * 0.05
            let learnt = m.prefix(d + 1).reduce(0, +), naive = w.prefix(d + 1).reduce(0, +)
            #expect(abs(learnt - Self.truth(x)) < 0.03, "P(price ≤ \(x)): \(learnt) against \(Self.truth(x))")
            #expect(naive > Self.truth(x) + 0.1, "wins alone: \(naive) against \(Self.truth(x))")
        }
        // Above every bid nothing is known: that mass is at the last unit, the dearest.
        #expect(abs(m.reduce(0, +) - 1) < 1e-9 && m[40] > 1 - Self.truth(1.2) - 0.03)
        // The prices won reach the highest bid (1.0), and their 99th percentile is below it.
        #expect(market.wonQuantile(1).map { $0 >= 0.99 && $0 < 1.2 } == true)
        #expect(market.wonQuantile(0.99)! <= market.wonQuantile(1)! && market.wonQuantile(0.5)! < 0.8)
    }

    @Test func secondPriceOutcomesTeachTheMarketAndFirstPriceOnesTheWinCurve() {
        let t0 = BiddingLearnerTests.t0
        var l = BiddingLearner()
        l.learn(BiddingLearnerTests.bid("a", user: "u", cpm: 3, at: t0, capped: false))
        l.learn(BiddingLearnerTests.notice("a", .win, user: "u", cpm: 1.5, at: t0 + 1))
        l.learn(BiddingLearnerTests.bid("b", user: "u", cpm: 2, at: t0 + 2, capped: false))
        l.learn(BiddingLearnerTests.notice("b", .loss, user: "u", at: t0 + 3))
        l.learn(BiddingLearnerTests.bid("c", user: "u", cpm: 2, at: t0 + 4, firstPrice: true, capped: false))
        l.learn(BiddingLearnerTests.notice("c", .loss, user: "u", at: t0 + 5))
        // A second-price bid without a notice settles as lost once its minute is out.
        l.learn(BiddingLearnerTests.bid("d", user: "u", cpm: 0.5, at: t0 + 6, capped: false))
        l.learn(BiddingLearnerTests.notice("z", .loss, user: "u", at: t0 + 6 + BiddingLearner.pendingMillis))
        let c = l.campaigns["c"]!
        #expect(c.market.wins == 1 && c.market.won[c.market.cell(of: 1.5)] == 1)
        #expect(c.market.observations == 3 && c.market.lost[c.market.cell(of: 2)] == 1 && c.market.lost[c.market.cell(of: 0.5)] == 1)
        #expect(c.curve.bids.reduce(0, +) == 1 && c.curve.wins.reduce(0, +) == 0)
    }
}
