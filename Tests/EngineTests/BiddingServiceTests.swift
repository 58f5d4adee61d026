import Bidding
import Common
import Events
import Foundation
import Stream
import Synchronization
import Testing

@testable import Engine

/// Campaigns from YAML, OpenRTB requests bid on through the service, bids learnt in the
/// user's partition from the notices that follow.
@Suite struct BiddingServiceTests {
    static let yaml = """
        bidding:
          seat: arbiter
          notice_url: http://bidder.example
          attribution_window_ms: 60000
          campaigns:
            network:
              currency: USD
              daily_budget: 50
              goal: { cpc: 0.5 }
              bid_cap: 4
              creatives:
                - { id: net-mrec, size: 300x250, adomain: shoes.example, categories: [IAB18] }
                - { id: net-leader, size: 728x90, adomain: apple.com }
            mobile:
              currency: USD
              daily_budget: 20
              goal: { cpc: 0.8 }
              bid_cap: 6
              targeting: { device_types: [1, 4, 5] }
              frequency_cap: { impressions: 2, window_seconds: 3600 }
              creatives:
                - { id: mob-leader, size: 728x90, adomain: games.example }
            video:
              currency: USD
              daily_budget: 30
              goal: { cpa: 20 }
              bid_cap: 15
              targeting: { categories: [IAB2-1, IAB19] }
              creatives:
                - { id: vid-15s, format: video, adomain: cars.example }
            euro:
              currency: EUR
              daily_budget: 10
              goal: { cpc: 0.4 }
              bid_cap: 3
              targeting: { countries: [DEU, FRA] }
              traffic_profile: [0, 0, 0, 0, 0, 0, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 1, 0]
              creatives:
                - { id: eu-mrec, size: 300x250, adomain: bikes.example }
        """

    static func load(_ yaml: String) throws -> Configuration {
        let path = temporaryDirectory("bidding") + "/arbiter.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return try Configuration.load(path: path, environment: [:])
    }

    static let noon = Int64(1_796_126_400_000)  // 2026-12-01T12:00:00Z

    final class Clock: Sendable {
        let now = Mutex<Int64>(BiddingServiceTests.noon)
        func read() -> Int64 { now.withLock { $0 } }
        func advance(_ ms: Int64) { now.withLock { $0 += ms } }
    }

    static func engine(_ clock: Clock, yaml: String = yaml, partitions: Int32 = 3) throws -> InProcessEngine {
        let c = try load(yaml)
        return try InProcessEngine(surfaces: [], bidding: c.bidding, partitions: partitions, seed: 7, instance: "t", clock: clock.read)
    }

    static let examples: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path + "/../shared/data/openrtb"
    }()

    static func example(_ prefix: String) throws -> BidRequest {
        let names = try FileManager.default.contentsOfDirectory(atPath: examples).filter { $0.hasPrefix(prefix) && $0.contains("-request-") }
        let name = try #require(names.first, "no \(prefix)* in \(examples)")
        return try BidRequest.parse(Array(try Data(contentsOf: URL(fileURLWithPath: examples + "/" + name))))
    }

    func bid(_ e: InProcessEngine, _ r: BidRequest) async throws -> BidAnswer {
        do { return try await e.bids.bid(r) } catch {
            Issue.record("refused: \(error)")
            throw error
        }
    }

    @Test func theYAMLReadsIntoCampaigns() throws {
        let c = try Self.load(Self.yaml)
        #expect(c.bidding.campaigns.map(\.id) == ["network", "mobile", "video", "euro"])
        let mobile = c.bidding.campaigns[1]
        #expect(mobile.targeting.deviceTypes == [1, 4, 5] && mobile.frequencyCap == FrequencyCap(impressions: 2, windowMillis: 3_600_000))
        #expect(mobile.goal == .perClick(value: 0.8) && mobile.bidCap == 6 && mobile.dailyBudget == Money(units: 20))
        #expect(c.bidding.campaigns[0].creatives[0] == Creative(id: "net-mrec", format: .banner(width: 300, height: 250), advertiserDomain: "shoes.example", categories: ["IAB18"]))
        #expect(c.bidding.campaigns[2].creatives[0].format == .video && c.bidding.campaigns[2].goal == .perAction(value: 20))
        #expect(c.bidding.campaigns[3].hourlyProfile?.count == 24 && c.bidding.campaigns[3].hourlyProfile?[20] == 3)
        #expect(c.bidding.noticeURL == "http://bidder.example" && c.bidding.learning.attributionWindowMillis == 60_000)
        #expect(c.learnerContext(partitions: 2).bidding == c.bidding.learning)
    }

    @Test(arguments: [
        ("bidding:\n  campaigns: {}\n", "bidding.campaigns is required"),
        ("bidding:\n  colour: red\n  campaigns: { a: { currency: USD } }\n", "unknown key 'colour'"),
        ("bidding:\n  campaigns:\n    a: { daily_budget: 5, goal: { cpc: 1 }, bid_cap: 1, creatives: [{ id: c, size: 1x1, adomain: a.b }] }\n", "campaigns.a.currency is required"),
        ("bidding:\n  campaigns:\n    a: { currency: USD, goal: { cpc: 1 }, bid_cap: 1, creatives: [{ id: c, size: 1x1, adomain: a.b }] }\n", "daily_budget is required"),
        ("bidding:\n  campaigns:\n    a: { currency: USD, daily_budget: 5, goal: { cpc: 1, cpa: 2 }, bid_cap: 1, creatives: [{ id: c, size: 1x1, adomain: a.b }] }\n", "goal takes one of cpc or cpa"),
        ("bidding:\n  campaigns:\n    a: { currency: USD, daily_budget: 5, goal: { cpc: 1 }, creatives: [{ id: c, size: 1x1, adomain: a.b }] }\n", "bid_cap is required"),
        ("bidding:\n  campaigns:\n    a: { currency: USD, daily_budget: 5, goal: { cpc: 1 }, bid_cap: 1, creatives: [{ id: c, size: big, adomain: a.b }] }\n", "size must be WIDTHxHEIGHT"),
        ("bidding:\n  campaigns:\n    a: { currency: USD, daily_budget: 5, goal: { cpc: 1 }, bid_cap: 1, creatives: [{ id: c, size: 1x1 }] }\n", "adomain is required"),
        ("bidding:\n  campaigns:\n    a: { currency: USD, daily_budget: 5, goal: { cpc: 1 }, bid_cap: 1, targeting: { device_types: [9] }, creatives: [{ id: c, size: 1x1, adomain: a.b }] }\n", "device types 1–8"),
        ("bidding:\n  campaigns:\n    a: { currency: USD, daily_budget: 5, goal: { cpc: 1 }, bid_cap: 1, start: \"2026-12-02T00:00:00Z\", end: \"2026-12-01T00:00:00Z\", creatives: [{ id: c, size: 1x1, adomain: a.b }] }\n", "end must be after start"),
        ("surfaces:\n  bids:\n    policy: ucb1\n", "names the bidder's logged bids"),
        ("bidding:\n  campaigns:\n    a: { currency: USD, daily_budget: 5, goal: { cpc: 1 }, bid_cap: 1, traffic_profile: [1, 2], creatives: [{ id: c, size: 1x1, adomain: a.b }] }\n", "traffic_profile must be 24 weights"),
    ])
    func badBiddingConfigurationsAreRefusedWithAMessage(yaml: String, message: String) throws {
        do {
            _ = try Self.load(yaml)
            Issue.record("accepted \(yaml)")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
        }
    }

    /// The specification's examples: a banner on a site, an expandable banner, a mobile
    /// app's leaderboard, a video, a private auction with deals for other seats.
    @Test func theSpecificationsExampleRequestsGetSensibleAnswers() async throws {
        let e = try Self.engine(Clock())
        func bids(_ a: BidAnswer) -> [PlacedBid] {
            if case .bids(_, _, _, let b) = a { return b }
            return []
        }
        let banner = try Self.example("6.2.1")
        let b1 = bids(try await bid(e, banner))
        #expect(b1.map(\.campaign) == ["network"] && b1[0].creative.id == "net-mrec" && b1[0].impressionID == "1")
        #expect(b1[0].price.units >= 0.03 && b1[0].price.units <= 4, "\(b1[0].price)")
        #expect(bids(try await bid(e, try Self.example("6.2.2"))).map(\.creative.id) == ["net-mrec"])
        // A mobile app: apple.com is blocked, so the network's leaderboard may not show.
        let mobile = bids(try await bid(e, try Self.example("6.2.3")))
        #expect(mobile.map(\.creative.id) == ["mob-leader"] && mobile[0].price.units >= 0.5, "\(mobile)")
        let video = bids(try await bid(e, try Self.example("6.2.4")))
        #expect(video.map(\.campaign) == ["video"] && video[0].creative.format == .video)
        #expect(try await bid(e, try Self.example("6.2.5")) == .noBid(requestID: try Self.example("6.2.5").id, .privateAuction))
        #expect(e.pendingRecords == 4, "each bid is logged")
    }

    /// Random requests (sizes, categories, devices, countries, currencies, floors,
    /// blocks, deals, users from a small pool) against the campaigns: every answer keeps
    /// targeting, creative fit, floors, caps, currencies, blocks and frequency caps.
    @Test func targetingFloorsCapsAndFrequencyCapsHoldOnEveryAnswerOfARandomisedRun() async throws {
        let clock = Clock()
        let e = try Self.engine(clock)
        let campaigns = Dictionary(uniqueKeysWithValues: e.bids.currentCampaigns.map { ($0.id, $0) })
        var random = SeededRandom(seed: 12)
        func pick<T>(_ xs: [T]) -> T { xs[Int(random.unit() * Double(xs.count))] }
        var shown: [String: [Int64]] = [:]
        var answered = 0, noBids: [NoBidReason: Int] = [:]
        var pendingNotices: [Event] = []
        for n in 0..<3_000 {
            let imps = (0..<(1 + Int(random.unit() * 3))).map { i -> String in
                let media = pick([#""banner":{"w":300,"h":250}"#, #""banner":{"format":[{"w":728,"h":90},{"w":320,"h":50}]}"#, #""video":{"mimes":["video/mp4"]}"#])
                let floor = pick(["", #","bidfloor":0.2"#, #","bidfloor":1.5"#, #","bidfloor":0.5,"bidfloorcur":"EUR""#])
                return #"{"id":"\#(i)",\#(media)\#(floor)}"#
            }.joined(separator: ",")
            let cur = pick(["", #","cur":["USD"]"#, #","cur":["EUR"]"#, #","cur":["EUR","USD"]"#])
            let badv = pick(["", #","badv":["apple.com"]"#, #","bcat":["IAB18"]"#])
            let device = pick([#","device":{"devicetype":1,"geo":{"country":"DEU"}}"#, #","device":{"devicetype":2,"geo":{"country":"USA"}}"#, ""])
            let user = pick([#","user":{"id":"u1"}"#, #","user":{"id":"u2"}"#, #","user":{"buyeruid":"b3"}"#, ""])
            let site = pick([#""site":{"id":"s","domain":"news.example","cat":["IAB12"]}"#, #""site":{"id":"s","domain":"cars.example","cat":["IAB2-1"]}"#, #""app":{"id":"a","bundle":"com.game","cat":["IAB9"]}"#])
            let at = pick(["", #","at":1"#])
            let r = try BidRequest.parse(Array(#"{"id":"r\#(n)","imp":[\#(imps)],\#(site)\#(cur)\#(badv)\#(device)\#(user)\#(at)}"#.utf8))
            var notices: [Event] = []
            switch try await bid(e, r) {
            case .noBid(_, let reason): noBids[reason, default: 0] += 1
            case .bids(_, let currency, let key, let bids):
                answered += 1
                for b in bids {
                    let c = try #require(campaigns[b.campaign])
                    let imp = r.impressions.first { $0.id == b.impressionID }!
                    #expect(c.targeting.matches(r) && c.admits(r), "\(b.campaign) does not target \(r.id)")
                    #expect(b.creative.fits(imp) && !r.blockedAdvertisers.contains(b.creative.advertiserDomain))
                    #expect(!b.creative.categories.contains(where: r.blockedCategories.contains))
                    #expect(b.price.units <= c.bidCap && b.price.units >= imp.floor && b.price > .zero, "\(b.price) against floor \(imp.floor), cap \(c.bidCap)")
                    #expect(imp.floor == 0 || imp.floorCurrency == currency)
                    #expect(c.currency == currency && (r.currencies.isEmpty ? currency == "USD" : r.currencies.contains(currency)))
                    if let cap = c.frequencyCap {
                        let times = (shown[key + "|" + c.id] ?? []).filter { clock.read() - $0 <= cap.windowMillis }
                        #expect(times.count < cap.impressions, "\(key) saw \(c.id) \(times.count + 1) times within the cap's window")
                        shown[key + "|" + c.id] = times + [clock.read()]
                    }
                }
                #expect(Set(bids.map(\.impressionID)).count == bids.count, "one bid per impression")
                // Every bid wins: the impressions a cap counts.
                notices += bids.map { Event(timestamp: clock.read(), body: .bidOutcome(BidOutcome(auctionID: $0.id, won: true, clearingPrice: $0.price, user: key, notice: .win))) }
            }
            // Learnt in batches: until then, this process's own bids count against the caps.
            pendingNotices += notices
            if n % 10 == 0 {
                e.apply(pendingNotices)
                pendingNotices = []
            }
            clock.advance(2_000)
        }
        #expect(answered > 500 && (noBids[.dailyUserCap] ?? 0) > 0 && (noBids[.noCampaign] ?? 0) > 0, "\(answered) bids, no bids \(noBids)")
    }

    /// A day's auctions against a known truth: bids win when above a log-normal market
    /// price (second price: they pay it), are clicked at the CTR of their placement, and
    /// the notices come back: the click model learns which placement is clicked more, the
    /// budget is spent by the day's end and never passed by more than one winning price.
    @Test func noticesTeachTheClickModelAndTheBudgetHoldsWithinOneWinningPrice() async throws {
        // The last 100 minutes of a day: the plan has all but the whole budget spent by its end.
        let clock = Clock()
        clock.advance(12 * 3_600_000 - 6_120_000)
        let yaml = """
            bidding:
              attribution_window_ms: 60000
              campaigns:
                small:
                  currency: USD
                  daily_budget: 2
                  goal: { cpc: 1 }
                  bid_cap: 10
                  creatives: [{ id: c, size: 300x250, adomain: a.example }]
            """
        let e = try Self.engine(clock, yaml: yaml)
        var random = SeededRandom(seed: 3)
        let ctr = ["hot.example": 0.05, "cold.example": 0.002]
        var charged = 0.0, maxPrice = 0.0
        for n in 0..<6_000 {
            let domain = n % 2 == 0 ? "hot.example" : "cold.example"
            let r = try BidRequest.parse(Array(#"{"id":"r\#(n)","imp":[{"id":"1","banner":{"w":300,"h":250}}],"site":{"id":"s","domain":"\#(domain)"},"user":{"id":"u\#(n % 500)"}}"#.utf8))
            var notices: [Event] = []
            if case .bids(_, _, let user, let bids) = try await bid(e, r) {
                let b = bids[0]
                let market = 1.0 * exp(0.5 * random.normal())
                if b.price.units >= market {
                    charged += market / 1000
                    maxPrice = max(maxPrice, market / 1000)
                    let price = Money(units: market)!
                    notices.append(Event(timestamp: clock.read(), body: .bidOutcome(BidOutcome(auctionID: b.id, won: true, clearingPrice: price, user: user, notice: .win))))
                    if random.unit() < ctr[domain]! {
                        notices.append(Event(timestamp: clock.read(), body: .bidOutcome(BidOutcome(auctionID: b.id, won: true, clearingPrice: nil, click: true, user: user, notice: .click))))
                    }
                } else {
                    notices.append(Event(timestamp: clock.read(), body: .bidOutcome(BidOutcome(auctionID: b.id, won: false, clearingPrice: nil, user: user, notice: .loss))))
                }
            }
            e.apply(notices)
            clock.advance(1_000)
        }
        clock.advance(120_000)
        e.apply([Event(timestamp: clock.read(), body: .bidOutcome(BidOutcome(auctionID: "flush", won: false, clearingPrice: nil, user: "u0")))])
        let learner = try #require(e.views.view.merged.learner(BiddingLearner.self))
        let ledger = try #require(learner.campaigns["small"])
        #expect(abs(ledger.today.spend.units - charged) < 1e-3, "the view's spend \(ledger.today.spend) is what the notices charged, \(charged)")
        #expect(charged <= 2 + maxPrice, "spent \(charged) of a budget of 2")
        #expect(charged >= 1.9, "the budget is spent: \(charged)")
        let w = learner.clicks.prepared()
        func rate(_ domain: String) -> Double {
            let r = try! BidRequest.parse(Array(#"{"id":"x","imp":[{"id":"1","banner":{"w":300,"h":250}}],"site":{"id":"s","domain":"\#(domain)"}}"#.utf8))
            let features = r.featurePairs(of: r.impressions[0]).map { $0.name + $0.value } + ["campaign=small", "campaign×domain=small|" + domain]
            return w.probability(margin: w.margin(features.map(w.index)))
        }
        // From the base rate (0.002), the hot placement's rate rises toward its truth and
        // passes the cold one's.
        #expect(learner.clicks.examples > 500 && rate("hot.example") > 0.01 && rate("hot.example") > 2 * rate("cold.example"), "hot \(rate("hot.example")), cold \(rate("cold.example"))")
    }

    @Test func aRequestWithTooLittleTimeOrNoMatchingCampaignGetsItsReason() async throws {
        let e = try Self.engine(Clock())
        let short = try BidRequest.parse(Array(#"{"id":"r","tmax":2,"imp":[{"id":"1","banner":{"w":300,"h":250}}],"site":{"id":"s"}}"#.utf8))
        #expect(try await bid(e, short) == .noBid(requestID: "r", .insufficientTime))
        let odd = try BidRequest.parse(Array(#"{"id":"r","imp":[{"id":"1","banner":{"w":1,"h":1}}],"site":{"id":"s"}}"#.utf8))
        #expect(try await bid(e, odd) == .noBid(requestID: "r", .noCampaign))
        let floor = try BidRequest.parse(Array(#"{"id":"r","imp":[{"id":"1","bidfloor":100,"banner":{"w":300,"h":250}}],"site":{"id":"s"}}"#.utf8))
        #expect(try await bid(e, floor) == .noBid(requestID: "r", .belowFloor))
        #expect(e.pendingRecords == 0, "no bid, nothing logged")
    }

    /// A campaign mapped to a marketing-mix channel values its clicks at the goal × the
    /// channel's marginal ROI from the priors file; the others keep the goal's value.
    @Test func aChannelsMarginalROIScalesTheValueOfTheMappedCampaignsClicksOnly() async throws {
        let yaml = Self.yaml.replacingOccurrences(of: "goal: { cpc: 0.5 }\n", with: "goal: { cpc: 0.5 }\n      channel: display\n")
        let e = try Self.engine(Clock(), yaml: yaml)
        #expect(e.bids.definition("network")?.campaign.channel == "display")
        func value(_ a: BidAnswer) -> Double {
            if case .bids(_, _, _, let b) = a { return b[0].value }
            return .nan
        }
        let banner = try Self.example("6.2.1")
        let before = value(try await bid(e, banner))
        let changes = await e.bids.applyChannelValues(marginalROI: ["display": 1.5, "search": 3])
        #expect(changes == [BiddingService.ChannelValueChange(campaign: "network", channel: "display", marginalROI: 1.5, goalValue: 0.75)])
        let after = value(try await bid(e, banner))
        #expect(abs(after / before - 1.5) < 1e-9, "\(before) → \(after)")
        #expect(await e.bids.applyChannelValues(marginalROI: ["display": 1.5]).isEmpty, "the same value again changes nothing")
        #expect(e.bids.definition("network")?.version == 1 && e.bids.definition("mobile")?.version == 0)
        // An admin change of other settings keeps the refit's value until the next refit.
        var c = try #require(e.bids.definition("network")?.campaign)
        c.bidCap = 3.9
        c.channelMarginalROI = nil
        let put = try await e.bids.put(c)
        #expect(put.campaign.channelMarginalROI == 1.5 && put.campaign.bidCap == 3.9 && put.version == 2)
    }
}
