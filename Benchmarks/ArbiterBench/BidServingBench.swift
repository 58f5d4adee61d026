import ArgumentParser
import Bidding
import Common
import Engine
import Events

/// In-process bids on one core: `BiddingService.bid` for a request of three impressions
/// (two banner sizes and a video) against 20 campaigns, on a view whose click model has
/// learnt from 20,000 won bids, each bid logged to memory (drained between timed
/// segments). One JSON line: requests/s, bids/s (impressions answered) and campaign
/// prices/s (campaign × impression evaluations).
struct BidServingBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bid-serving")
    @Option(help: "Seconds of timed bidding.") var seconds: Double = 3
    @Option(help: "Campaigns.") var campaigns = 20

    static func campaigns(_ n: Int) -> [Campaign] {
        let sizes: [Creative.Format] = [.banner(width: 300, height: 250), .banner(width: 728, height: 90), .banner(width: 320, height: 50), .video]
        var out: [Campaign] = []
        for k in 0..<n {
            let domain = "adv\(k).example"
            let creatives = [Creative(id: "c\(k)-a", format: sizes[k % 4], advertiserDomain: domain), Creative(id: "c\(k)-b", format: sizes[(k + 1) % 4], advertiserDomain: domain)]
            let targeting: Targeting = k % 5 == 4 ? Targeting(deviceTypes: [1, 4, 5]) : .everything
            let goal: CampaignGoal = k % 3 == 2 ? .perAction(value: 20) : .perClick(value: 0.5 + Double(k) * 0.05)
            out.append(Campaign(id: "campaign-\(k)", creatives: creatives, targeting: targeting, dailyBudget: Money(units: 1e6)!, currency: "USD", goal: goal, bidCap: 10))
        }
        return out
    }

    static func request(_ n: Int) -> [UInt8] {
        Array(#"{"id":"r\#(n)","at":2,"tmax":120,"cur":["USD"],"imp":[{"id":"1","bidfloor":0.05,"banner":{"format":[{"w":300,"h":250}]}},{"id":"2","bidfloor":0.05,"banner":{"w":728,"h":90}},{"id":"3","video":{"mimes":["video/mp4"],"minduration":5,"maxduration":30}}],"site":{"id":"s\#(n % 50)","domain":"site\#(n % 50).example","cat":["IAB\#(n % 20)"],"publisher":{"id":"p\#(n % 10)"}},"device":{"devicetype":2,"os":"Linux","geo":{"country":"USA"}},"user":{"id":"u\#(n % 10000)"}}"#.utf8)
    }

    func run() throws {
        let engine = try InProcessEngine(surfaces: [], bidding: BiddingConfiguration(campaigns: Self.campaigns(campaigns)), partitions: 4, seed: 1, instance: "bench")
        let requests = try (0..<1000).map { try BidRequest.parse(Self.request($0)) }
        let done = Mailbox<String?>()
        let seconds = seconds, campaigns = campaigns
        Task {
            do {
                // A click model that has learnt: 20,000 bids won, 2 % clicked.
                var random = SeededRandom(seed: 5)
                for n in 0..<20_000 {
                    guard case .bids(_, _, let user, let bids) = try await engine.bids.bid(requests[n % requests.count]) else { continue }
                    let now = WallClock.millis
                    var notices: [Event] = []
                    for b in bids {
                        notices.append(Event(timestamp: now, body: .bidOutcome(BidOutcome(auctionID: b.id, won: true, clearingPrice: b.price, user: user, notice: .win))))
                        if random.unit() < 0.02 { notices.append(Event(timestamp: now, body: .bidOutcome(BidOutcome(auctionID: b.id, won: true, clearingPrice: nil, click: true, user: user, notice: .click)))) }
                    }
                    engine.apply(notices)
                }
                // Settles the window: the model learns every won bid.
                engine.apply([Event(timestamp: WallClock.millis + 3_600_000, body: .bidOutcome(BidOutcome(auctionID: "end", won: false, clearingPrice: nil, user: "u0")))])
                var timed = 0.0, count = 0, bids = 0
                while timed < seconds {
                    let start = MonotonicClock.nanos
                    for n in 0..<20_000 {
                        if case .bids(_, _, _, let b) = try await engine.bids.bid(requests[n % requests.count]) { bids += b.count }
                    }
                    timed += Double(MonotonicClock.nanos - start) / 1e9
                    count += 20_000
                    engine.apply()
                }
                emit([
                    ("study", "bid_serving"), ("campaigns", campaigns), ("impressions_per_request", 3), ("requests", count), ("requests_per_s", Double(count) / timed),
                    ("bids_per_s", Double(bids) / timed), ("campaign_prices_per_s", Double(count * 3 * campaigns) / timed),
                ])
                done.put(nil)
            } catch {
                done.put("\(error)")
            }
        }
        guard let outcome = done.take(timeoutMillis: 600_000) else { throw ValidationError("timed out") }
        if let failure = outcome { throw ValidationError("bidding failed: \(failure)") }
    }
}
