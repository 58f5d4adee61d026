import Common
import Foundation
import Testing

@testable import Bidding

/// Budget pacing on simulated days of second-price auctions with known CTRs and
/// log-normal market prices (Cai et al.'s setting): the dual controller, which knows
/// nothing in advance, against a linear and a constant bidder tuned on the same day.
@Suite struct BudgetPacingTests {
    @Test(arguments: [1.0 / 32, 1.0 / 8, 1.0 / 2])
    func theDualControllerSpendsTheBudgetAndGetsTheClicksOfTheTunedLinearBidder(share: Double) {
        for seed: UInt64 in [1, 2, 3] {
            let day = AuctionDay.logNormal(auctions: 100_000, seed: seed)
            let budget = share * day.totalMarketCost
            let meanCTR = day.ctr.reduce(0, +) / Double(day.ctr.count)
            // A click worth 20 × the median price over the median CTR: unpaced, the
            // campaign would win most auctions and spend the budget within the first hours.
            var pacer = BudgetPacer(value: 20 * 1 / 0.002)
            let paced = day.run(&pacer, budget: budget)
            var linear = LinearBidder.tuned(on: day, budget: budget, meanCTR: meanCTR)
            let tuned = day.run(&linear, budget: budget)
            var constant = ConstantBidder(price: day.tuned(budget: budget) { ConstantBidder(price: $0) })
            let flat = day.run(&constant, budget: budget)
            #expect(paced.spend <= budget && paced.spend >= 0.98 * budget, "seed \(seed): spent \(paced.spend / budget) of the budget")
            #expect(paced.expectedClicks >= 0.97 * tuned.expectedClicks, "seed \(seed): \(paced.expectedClicks) clicks against the tuned linear bidder's \(tuned.expectedClicks)")
            #expect(paced.expectedClicks > flat.expectedClicks, "seed \(seed): \(paced.expectedClicks) against the tuned constant bidder's \(flat.expectedClicks)")
        }
    }

    @Test func clicksWorthLessThanTheBudgetAllowsAreNotOverpaid() {
        let day = AuctionDay.logNormal(auctions: 20_000, seed: 4)
        let budget = 0.5 * day.totalMarketCost
        // A click worth a tenth of the median price over the median CTR: the budget does
        // not bind, the shadow price stays 0 and every bid is the click's value × CTR.
        var pacer = BudgetPacer(value: 0.1 / 0.002)
        let out = day.run(&pacer, budget: budget)
        #expect(pacer.shadowPrice == 0 && out.spend < 0.2 * budget, "spent \(out.spend / budget) with μ \(pacer.shadowPrice)")
        #expect(pacer.bid(ctr: 0.01, budgetLeft: budget, auctionsLeft: 1) == 0.1 / 0.002 * 0.01)
    }

    @Test func correlatedPricesAndCTRsAreReproducibleDays() {
        let a = AuctionDay.logNormal(auctions: 1_000, correlation: 0.5, seed: 9)
        let b = AuctionDay.logNormal(auctions: 1_000, correlation: 0.5, seed: 9)
        #expect(a.ctr == b.ctr && a.marketPrice == b.marketPrice)
        // The logs are correlated as asked (sample correlation within ±0.1 of 0.5).
        let x = a.ctr.map { log($0) }, y = a.marketPrice.map { log($0) }
        let mx = x.reduce(0, +) / 1000, my = y.reduce(0, +) / 1000
        let cov = zip(x, y).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) }
        let r = cov / (x.reduce(0) { $0 + ($1 - mx) * ($1 - mx) } * y.reduce(0) { $0 + ($1 - my) * ($1 - my) }).squareRoot()
        #expect(abs(r - 0.5) < 0.1, "\(r)")
    }
}

/// The pacing `serve` bids with (`SpendPacer`: μ from spend against the plan, no state of
/// its own) on the same days.
@Suite struct SpendPacerTests {
    @Test(arguments: [1.0 / 32, 1.0 / 8, 1.0 / 2])
    func pacingFromSpendAgainstPlanSpendsTheBudgetAndGetsTheClicksOfTheTunedLinearBidder(share: Double) {
        for seed: UInt64 in [1, 2, 3] {
            let day = AuctionDay.logNormal(auctions: 100_000, seed: seed)
            let budget = share * day.totalMarketCost
            let meanCTR = day.ctr.reduce(0, +) / Double(day.ctr.count)
            var pacer = SpendPacedBidder(value: 20 * 1 / 0.002, budget: budget, auctions: 100_000)
            let paced = day.run(&pacer, budget: budget)
            var linear = LinearBidder.tuned(on: day, budget: budget, meanCTR: meanCTR)
            let tuned = day.run(&linear, budget: budget)
            var constant = ConstantBidder(price: day.tuned(budget: budget) { ConstantBidder(price: $0) })
            let flat = day.run(&constant, budget: budget)
            #expect(paced.spend <= budget && paced.spend >= 0.98 * budget, "seed \(seed): spent \(paced.spend / budget) of the budget")
            #expect(paced.expectedClicks >= 0.97 * tuned.expectedClicks, "seed \(seed): \(paced.expectedClicks) clicks against the tuned linear bidder's \(tuned.expectedClicks)")
            #expect(paced.expectedClicks > flat.expectedClicks, "seed \(seed): \(paced.expectedClicks) against the tuned constant bidder's \(flat.expectedClicks)")
        }
    }

    @Test func theShadowPriceRisesOnlyWhenSpendRunsAheadOfThePlan() {
        let p = SpendPacer(gain: 400)
        #expect(p.logShadow(spent: 10, budget: 100, planned: 20) == 0)
        #expect(abs(p.logShadow(spent: 21, budget: 100, planned: 20) - 4) < 1e-12)
        #expect(p.logShadow(spent: 0, budget: 0, planned: 0) == .infinity)
    }
}
