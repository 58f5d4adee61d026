import ArgumentParser
import Bidding
import Common
import Engine

/// Strategies as served (`ServedAuctionDays`: the whole bid path, the click model and the
/// market learnt from the bids' own notices): reinforcement learning (`strategy: rl`)
/// against pacing on the same auctions, and both against a linear bidder tuned in
/// hindsight on each day's prices with the true click rates; one JSON line per strategy,
/// budget share and day.
struct ServedBiddingBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bidding-served")
    @Option(help: "Auctions per simulated day.") var auctions = 20_000
    @Option(help: "Days per strategy and budget share (the first starts knowing nothing).") var days = 3

    func run() throws {
        let simulation = ServedAuctionDays(auctions: auctions)
        let days = days, auctions = auctions
        let done = Mailbox<String?>()
        Task {
            do {
                for share in [1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4] {
                    let linear = (0..<days).map { simulation.hindsightLinear(day: $0, share: share) }
                    for strategy in [BidStrategy.rl, .paced] {
                        let start = MonotonicClock.nanos
                        let served = try await simulation.serve(strategy: strategy, share: share, days: days)
                        let seconds = Double(MonotonicClock.nanos - start) / 1e9
                        for (d, day) in served.enumerated() {
                            emit([
                                ("study", "served"), ("strategy", strategy.rawValue), ("budget_share", share), ("day", d + 1), ("auctions", auctions),
                                ("expected_clicks", day.expectedClicks), ("hindsight_linear_clicks", linear[d]), ("spend_share", day.spend / day.budget),
                                ("bids", day.bids), ("planned", day.planned), ("seconds", seconds),
                            ])
                        }
                    }
                }
                done.put(nil)
            } catch {
                done.put("\(error)")
            }
        }
        guard let outcome = done.take(timeoutMillis: 3_600_000) else { throw ValidationError("timed out") }
        if let failure = outcome { throw ValidationError("served bidding failed: \(failure)") }
    }
}
