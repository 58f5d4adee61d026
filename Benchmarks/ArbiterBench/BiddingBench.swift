import ArgumentParser
import Bidding
import Common

/// Bidding on simulated days of second-price auctions (Cai et al.'s setting: known CTRs,
/// log-normal market prices, the budget a share of the day's market cost): reinforcement-
/// learning bidding against linear bidders tuned offline and in hindsight, one JSON line
/// per correlation and share; then clicks and spend of the dual pacing controller against
/// a linear and a constant bidder tuned on the same day, one line per share, correlation
/// and seed.
struct BiddingBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bidding")
    @Option(help: "Auctions per simulated day.") var auctions = 100_000
    @Option(help: "Seeds per budget share.") var seeds = 5
    @Option(help: "Days of 1,000 auctions per budget share for reinforcement-learning bidding.") var days = 40

    func run() throws {
        try reinforcement()
        for correlation in [0.0, 0.5] {
            for share in [1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0 / 2] {
                for seed in 1...UInt64(seeds) {
                    let day = AuctionDay.logNormal(auctions: auctions, correlation: correlation, seed: seed)
                    let budget = share * day.totalMarketCost
                    let meanCTR = day.ctr.reduce(0, +) / Double(auctions)
                    let start = MonotonicClock.nanos
                    var pacer = BudgetPacer(value: 20 * 1 / 0.002)
                    let paced = day.run(&pacer, budget: budget)
                    let seconds = Double(MonotonicClock.nanos - start) / 1e9
                    var linear = LinearBidder.tuned(on: day, budget: budget, meanCTR: meanCTR)
                    let tuned = day.run(&linear, budget: budget)
                    var constant = ConstantBidder(price: day.tuned(budget: budget) { ConstantBidder(price: $0) })
                    let flat = day.run(&constant, budget: budget)
                    var spendPaced = SpendPacedBidder(value: 20 * 1 / 0.002, budget: budget, auctions: auctions)
                    let served = day.run(&spendPaced, budget: budget)
                    emit([("study", "pacing"), ("served_clicks", served.expectedClicks), ("served_spend_share", served.spend / budget), ("auctions", auctions), ("correlation", correlation), ("budget_share", share), ("seed", Int(seed)),
                          ("paced_clicks", paced.expectedClicks), ("paced_spend_share", paced.spend / budget),
                          ("linear_clicks", tuned.expectedClicks), ("linear_spend_share", tuned.spend / budget),
                          ("constant_clicks", flat.expectedClicks), ("constant_spend_share", flat.spend / budget),
                          ("paced_auctions_per_s", Double(auctions) / seconds)])
                }
            }
        }
    }

    /// Cai et al.'s setting: days of 1,000 auctions; the market-price and CTR
    /// distributions and the offline linear bidder's base learnt from a previous day of
    /// 100,000; also the linear bidder tuned in hindsight on each day's own prices.
    func reinforcement() throws {
        let unit = 0.05
        for correlation in [0.0, 0.5] {
            let training = AuctionDay.logNormal(auctions: 100_000, correlation: correlation, seed: 999)
            let (prices, ctrs) = ValueBidder.distributions(of: training, unit: unit, maximumUnits: 200)
            let meanCTR = training.ctr.reduce(0, +) / Double(training.ctr.count)
            let test = (1...days).map { AuctionDay.logNormal(auctions: 1_000, correlation: correlation, seed: UInt64($0)) }
            for share in [1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4] {
                let budgets = test.map { share * $0.totalMarketCost }
                let start = MonotonicClock.nanos
                let values = BiddingValues.solve(auctions: 1_000, budgetUnits: Int(budgets.max()! / unit) + 1, unit: unit, marketPrices: prices, ctrs: ctrs)
                let solve = Double(MonotonicClock.nanos - start) / 1e9
                let offline = LinearBidder.tuned(on: training, budget: share * training.totalMarketCost, meanCTR: meanCTR)
                var rl = 0.0, off = 0.0, hindsight = 0.0, rlSpend = 0.0, offSpend = 0.0
                for (day, budget) in zip(test, budgets) {
                    var v = ValueBidder(values: values)
                    let r = day.run(&v, budget: budget)
                    var o = offline
                    let l = day.run(&o, budget: budget)
                    var h = LinearBidder.tuned(on: day, budget: budget, meanCTR: meanCTR)
                    rl += r.expectedClicks
                    off += l.expectedClicks
                    hindsight += day.run(&h, budget: budget).expectedClicks
                    rlSpend += r.spend / budget
                    offSpend += l.spend / budget
                }
                let n = Double(days)
                emit([("study", "reinforcement"), ("correlation", correlation), ("budget_share", share), ("days", days), ("rl_clicks", rl / n), ("offline_linear_clicks", off / n),
                      ("hindsight_linear_clicks", hindsight / n), ("rl_spend_share", rlSpend / n), ("offline_linear_spend_share", offSpend / n), ("solve_seconds", solve)])
            }
        }
    }
}
