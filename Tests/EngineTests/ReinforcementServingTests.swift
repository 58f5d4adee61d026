import Bidding
import Testing

@testable import Engine

/// Reinforcement-learning bidding as served (`ServedAuctionDays`): a campaign with
/// `strategy: rl` bids through the service over simulated days of second-price auctions,
/// learning the click model, the market and the day's auctions from its own bids and
/// notices alone, beside the same campaign paced on the same auctions.
@Suite struct ReinforcementServingTests {
    static let days = ServedAuctionDays(auctions: 6_000)

    /// Measured: day 1 1.209 (1/32) and 1.031 (1/8) of the pacer's expected clicks, day 2
    /// 1.210 and 1.062.
    @Test(arguments: [1.0 / 32, 1.0 / 8])
    func thePlanGetsMoreClicksThanThePacerFromTheFirstDayAndSpendsTheBudgetNeverOverIt(share: Double) async throws {
        let rl = try await Self.days.serve(strategy: .rl, share: share, days: 2)
        let paced = try await Self.days.serve(strategy: .paced, share: share, days: 2)
        for d in 0..<2 { print("budget \(share), day \(d + 1): rl \(rl[d]), paced \(paced[d]), ratio \(rl[d].expectedClicks / paced[d].expectedClicks)") }
        #expect(rl[0].expectedClicks >= paced[0].expectedClicks, "day 1, knowing nothing: \(rl[0].expectedClicks) against \(paced[0].expectedClicks) paced")
        // The hard stop leaves at most one bid at the cap (10 CPM) and a little unspent.
        for day in rl { #expect(day.spend <= day.budget && day.spend >= day.budget - 0.015, "spent \(day.spend) of \(day.budget)") }
        let day = rl[1]
        #expect(day.planned > day.bids * 9 / 10, "\(day.planned) of \(day.bids) bids by the plan")
        #expect(day.expectedClicks >= 1.03 * paced[1].expectedClicks, "day 2: \(day.expectedClicks) expected clicks against \(paced[1].expectedClicks) paced")
    }
}
