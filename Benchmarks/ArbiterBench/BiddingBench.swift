import ArgumentParser
import Bidding
import Common

/// Budget pacing on simulated days of second-price auctions (Cai et al.'s setting: known
/// CTRs, log-normal market prices, the budget a share of the day's market cost): clicks
/// and spend of the dual controller against a linear and a constant bidder tuned on the
/// same day, one JSON line per share, correlation and seed.
struct BiddingBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bidding")
    @Option(help: "Auctions per simulated day.") var auctions = 100_000
    @Option(help: "Seeds per budget share.") var seeds = 5

    func run() throws {
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
                    emit([("study", "pacing"), ("auctions", auctions), ("correlation", correlation), ("budget_share", share), ("seed", Int(seed)),
                          ("paced_clicks", paced.expectedClicks), ("paced_spend_share", paced.spend / budget),
                          ("linear_clicks", tuned.expectedClicks), ("linear_spend_share", tuned.spend / budget),
                          ("constant_clicks", flat.expectedClicks), ("constant_spend_share", flat.spend / budget),
                          ("paced_auctions_per_s", Double(auctions) / seconds)])
                }
            }
        }
    }
}
