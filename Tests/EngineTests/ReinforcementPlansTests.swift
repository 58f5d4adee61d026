import Bidding
import Common
import Events
import Testing

@testable import Engine

/// When a `strategy: rl` campaign has a plan, and the auctions left it plans for, alone
/// and as one process of a group.
@Suite struct ReinforcementPlansTests {
    static let noon = BiddingServiceTests.noon
    static let campaign = ServedCampaign(
        Campaign(
            id: "shop", creatives: [Creative(id: "c", format: .banner(width: 300, height: 250), advertiserDomain: "shop.example")], dailyBudget: Money(units: 10)!,
            currency: "USD", goal: .perClick(value: 1), bidCap: 10, strategy: .rl))

    /// The group's ledger after `bids` second-price bids this morning, every other one won.
    static func ledger(bids: Int) -> CampaignLedger? {
        var l = BiddingLearner()
        for n in 0..<bids {
            let at = noon - 3_600_000 + Int64(n)
            l.learn(Event(timestamp: at, body: .impression(Impression(decisionID: "b\(n)", user: "u", action: "shop", propensity: 1, surface: BiddingLearner.surface, price: Money(units: 2)))))
            l.learn(Event(timestamp: at, body: .bidOutcome(BidOutcome(auctionID: "b\(n)", won: n % 2 == 0, clearingPrice: n % 2 == 0 ? Money(units: 1 + Double(n % 7) / 7) : nil, user: "u", notice: n % 2 == 0 ? .win : .loss))))
        }
        return l.campaigns["shop"]
    }

    static func candidacies(_ plans: ReinforcementPlans, _ n: Int, logged: Int) {
        let day = Day(epochMillis: noon).daysSinceEpoch
        for k in 0..<n {
            plans.count(candidacies: [("shop", .init(shared: [UInt64(k % 5)], own: 9, cross: nil))], day: day)
            if k < logged { plans.count(logged: ["shop"], day: day) }
        }
    }

    static func auctionsLeft(_ plans: ReinforcementPlans, ledger: CampaignLedger?) async -> Int? {
        let model = BiddingLearner().clicks.prepared()
        let day = Day(epochMillis: noon).daysSinceEpoch
        _ = plans.bidder(for: campaign, ledger: ledger, model: model, examples: 0, budgetLeft: 0.05, now: noon, day: day)
        await plans.solved()
        return plans.bidder(for: campaign, ledger: ledger, model: model, examples: 0, budgetLeft: 0.05, now: noon, day: day)?.auctionsLeft
    }

    @Test func aProcessSeeingHalfTheGroupsAuctionsPlansForAllOfThem() async {
        let ledger = Self.ledger(bids: 200)
        let alone = ReinforcementPlans()
        Self.candidacies(alone, 400, logged: 200)
        let member = ReinforcementPlans()
        Self.candidacies(member, 200, logged: 100)
        // At noon half the day's traffic has gone by: as many auctions again are to come.
        #expect(await Self.auctionsLeft(alone, ledger: ledger) == 401)
        #expect(await Self.auctionsLeft(member, ledger: ledger) == 401)
    }

    @Test func aCampaignIsPacedUntilItsMarketAndCandidaciesAreKnown() async {
        let few = ReinforcementPlans()
        Self.candidacies(few, 99, logged: 50)
        #expect(await Self.auctionsLeft(few, ledger: Self.ledger(bids: 200)) == nil, "99 candidacies")
        let enough = ReinforcementPlans()
        Self.candidacies(enough, 400, logged: 200)
        #expect(await Self.auctionsLeft(enough, ledger: Self.ledger(bids: 49)) == nil, "49 market outcomes")
        #expect(await Self.auctionsLeft(enough, ledger: nil) == nil, "no ledger")
        #expect(await Self.auctionsLeft(enough, ledger: Self.ledger(bids: 50)) != nil)
    }
}
