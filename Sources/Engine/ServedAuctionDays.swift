import Bidding
import Common
import Events
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Simulated days of second-price auctions bid on through the whole bid path (an
/// `InProcessEngine`: requests parsed, priced, logged, joined with their notices, the
/// click model, market prices and spend learnt from them): four placements with known
/// click rates, log-normal market prices (median 1 CPM, log-sd 0.6) independent of them,
/// one campaign (a click worth 1, capped at `bidCap` CPM) with a budget of a share of
/// what winning every auction of a day costs. Each auction's placement and click are
/// drawn from its own seed, so two strategies meet the same auctions. For tests and
/// benchmarks that compare strategies as served, which must learn what `AuctionDay`'s
/// bidders are told.
public struct ServedAuctionDays: Sendable {
    public static let placements = [("a.example", 0.005), ("b.example", 0.02), ("c.example", 0.06), ("d.example", 0.15)]
    public static let midnight = Int64(1_796_083_200_000)  // 2026-12-01T00:00:00Z
    public let auctions: Int
    /// Each auction's market price (CPM), the same every day.
    public let prices: [Double]

    public init(auctions: Int, seed: UInt64 = 11) {
        precondition(auctions >= 1)
        self.auctions = auctions
        var random = SeededRandom(seed: seed)
        prices = (0..<auctions).map { _ in exp(0.6 * random.normal()) }
    }

    /// What a strategy got from one day.
    public struct Day: Sendable, Equatable {
        /// Σ click rate over the auctions won.
        public var expectedClicks = 0.0
        public var spend = 0.0
        public var budget = 0.0
        public var bids = 0
        /// Bids priced by a reinforcement-learning plan.
        public var planned = 0
    }

    /// The daily budget (money) for a share of the day's market cost.
    public func budget(share: Double) -> Double { share * prices.reduce(0, +) / 1000 }

    /// Auction `n` of day `d`: its placement, click rate and the draw its click is decided by.
    private func auction(_ n: Int, day d: Int) -> (domain: String, ctr: Double, click: Double) {
        var draws = SeededRandom(seed: UInt64(n + d * auctions) &* 7 &+ 3)
        let (domain, ctr) = Self.placements[Int(draws.unit() * Double(Self.placements.count))]
        return (domain, ctr, draws.unit())
    }

    /// `days` days bid by a fresh engine with `strategy`: the first knowing nothing, each
    /// next starting with what the ones before taught it.
    public func serve(strategy: BidStrategy, share: Double, days: Int, bidCap: Double = 10) async throws -> [Day] {
        let budget = budget(share: share)
        let campaign = Campaign(
            id: "shop", creatives: [Creative(id: "c", format: .banner(width: 300, height: 250), advertiserDomain: "shop.example")],
            dailyBudget: Money(units: budget)!, currency: "USD", goal: .perClick(value: 1), bidCap: bidCap, strategy: strategy)
        let now = Mutex(Self.midnight)
        let e = try InProcessEngine(
            surfaces: [], bidding: BiddingConfiguration(campaigns: [campaign], learning: BiddingSettings(attributionWindowMillis: 60_000)), partitions: 3, seed: 7,
            instance: "sim", clock: { now.withLock { $0 } })
        let step = Int64(86_400_000 / auctions)
        var result: [Day] = []
        for d in 0..<days {
            var day = Day(budget: budget)
            for n in 0..<auctions {
                let (domain, ctr, click) = auction(n, day: d)
                let at = now.withLock { $0 }
                let r = try BidRequest.parse(
                    Array(#"{"id":"r\#(n)","imp":[{"id":"1","banner":{"w":300,"h":250}}],"site":{"id":"s","domain":"\#(domain)"},"user":{"id":"u\#(n % 700)"}}"#.utf8))
                var notices: [Event] = []
                if case .bids(_, _, let user, let bids) = try await e.bids.bid(r) {
                    let b = bids[0]
                    day.bids += 1
                    if b.planned { day.planned += 1 }
                    if b.price.units >= prices[n] {
                        day.spend += prices[n] / 1000
                        day.expectedClicks += ctr
                        notices.append(Event(timestamp: at, body: .bidOutcome(BidOutcome(auctionID: b.id, won: true, clearingPrice: Money(units: prices[n])!, user: user, notice: .win))))
                        if click < ctr {
                            notices.append(Event(timestamp: at, body: .bidOutcome(BidOutcome(auctionID: b.id, won: true, clearingPrice: nil, click: true, user: user, notice: .click))))
                        }
                    } else {
                        notices.append(Event(timestamp: at, body: .bidOutcome(BidOutcome(auctionID: b.id, won: false, clearingPrice: nil, user: user, notice: .loss))))
                    }
                }
                e.apply(notices)
                // Plans are solved in the background: waited for, so a run is the same each time.
                await e.bids.plansSolved()
                now.withLock { $0 += step }
            }
            result.append(day)
        }
        return result
    }

    /// The expected clicks of day `d` for a linear bidder (bid ∝ the true click rate) tuned
    /// in hindsight on that day's own prices: a reference that knows what a served bidder
    /// must learn.
    public func hindsightLinear(day d: Int, share: Double) -> Double {
        let ctrs = (0..<auctions).map { auction($0, day: d).ctr }
        let day = AuctionDay(ctr: ctrs, marketPrice: prices)
        let budget = share * day.totalMarketCost
        var bidder = LinearBidder.tuned(on: day, budget: budget, meanCTR: ctrs.reduce(0, +) / Double(auctions))
        return day.run(&bidder, budget: budget).expectedClicks
    }
}
