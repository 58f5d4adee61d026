import Common
import Testing

@testable import Bidding

/// Reinforcement-learning bidding (Cai et al.) on simulated days of 1,000 second-price
/// auctions (log-normal CTRs and market prices, independent), its distributions learnt
/// from a previous day of 100,000 auctions, against the linear bidder tuned offline on
/// that same previous day (Cai et al.'s protocol) and against one tuned in hindsight on
/// each day's own prices.
@Suite struct ReinforcementBiddingTests {
    @Test(arguments: [1.0 / 32, 1.0 / 16, 1.0 / 8])
    func valueBiddingBeatsTheOfflineTunedLinearBidderAndNearlyMatchesHindsight(share: Double) {
        let unit = 0.05
        let training = AuctionDay.logNormal(auctions: 100_000, seed: 999)
        let (prices, ctrs) = ValueBidder.distributions(of: training, unit: unit, maximumUnits: 200)
        let meanCTR = training.ctr.reduce(0, +) / Double(training.ctr.count)
        let days = (1...40).map { AuctionDay.logNormal(auctions: 1_000, seed: UInt64($0)) }
        let budgets = days.map { share * $0.totalMarketCost }
        let values = BiddingValues.solve(auctions: 1_000, budgetUnits: Int(budgets.max()! / unit) + 1, unit: unit, marketPrices: prices, ctrs: ctrs)
        let offline = LinearBidder.tuned(on: training, budget: share * training.totalMarketCost, meanCTR: meanCTR)
        var rl = 0.0, hindsight = 0.0, tuned = 0.0, spent = 0.0
        for (day, budget) in zip(days, budgets) {
            var bidder = ValueBidder(values: values)
            let r = day.run(&bidder, budget: budget)
            var lin = LinearBidder.tuned(on: day, budget: budget, meanCTR: meanCTR)
            var off = offline
            rl += r.expectedClicks
            hindsight += day.run(&lin, budget: budget).expectedClicks
            tuned += day.run(&off, budget: budget).expectedClicks
            spent += r.spend / budget
        }
        // Measured: +3.2 %, +2.4 %, +2.4 % over the offline-tuned bidder; 99.5–99.8 % of hindsight.
        #expect(rl >= (share < 0.05 ? 1.02 : 1.01) * tuned, "\(rl) expected clicks against \(tuned) for the offline-tuned linear bidder")
        #expect(rl >= 0.99 * hindsight, "\(rl) against \(hindsight) for a linear bidder tuned on each day's own prices")
        #expect(spent / 40 >= 0.98, "spent \(spent / 40) of the budget")
    }

    @Test func theValueOfTheDayGrowsWithBudgetAndAuctionsAndBidsStayWithinTheBudget() {
        let m: [Double] = [0, 0.2, 0.3, 0.3, 0.2]  // prices of 1–4 units
        let v = BiddingValues.solve(auctions: 50, budgetUnits: 20, unit: 1, marketPrices: m, ctrs: [(0.01, 0.5), (0.05, 0.5)])
        for t in 1...50 {
            for b in 1...20 {
                #expect(v.value(auctionsLeft: t, budgetUnits: b) >= v.value(auctionsLeft: t, budgetUnits: b - 1))
                #expect(v.value(auctionsLeft: t, budgetUnits: b) >= v.value(auctionsLeft: t - 1, budgetUnits: b))
            }
        }
        // With money for every auction, every auction worth anything is bid on at any price.
        #expect(v.bid(ctr: 0.01, auctionsLeft: 1, budgetLeft: 20) == 4.5)
        // With 2 units left, no bid reaches beyond them.
        #expect(v.bid(ctr: 0.05, auctionsLeft: 10, budgetLeft: 2.5) <= 2.5)
        #expect(v.bid(ctr: 0.05, auctionsLeft: 10, budgetLeft: 0.4) <= 0.4)
        // A budget beyond any count of units, over a day beyond the horizon, bids like the largest solved.
        #expect(v.bid(ctr: 0.05, auctionsLeft: 1_000_000, budgetLeft: 1e300) == v.bid(ctr: 0.05, auctionsLeft: 50, budgetLeft: 20))
        // One auction with a CTR of 0.05, all prices winnable: its value is the CTR.
        #expect(abs(BiddingValues.solve(auctions: 1, budgetUnits: 4, unit: 1, marketPrices: m, ctrs: [(0.05, 1)]).value(auctionsLeft: 1, budgetUnits: 4) - 0.05) < 1e-12)
    }
}
