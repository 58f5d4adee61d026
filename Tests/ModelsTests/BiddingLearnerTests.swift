import Common
import Events
import StateFormat
import Testing

@testable import Bidding

/// The partitions' bidding learner: logged bids joined with their notices, spend and
/// counts per campaign and day, the click model, frequency counts, and its merge law.
@Suite struct BiddingLearnerTests {
    static let t0 = Int64(1_796_126_400_000)  // 2026-12-01T12:00:00Z

    static func bid(_ id: String, user: String, campaign: String = "c", cpm: Double = 2, at: Int64, features: [String] = ["domain=a"], firstPrice: Bool = false, capped: Bool = true) -> Event {
        var context = Dictionary(uniqueKeysWithValues: features.map { ($0, 1.0) })
        if firstPrice { context[BiddingLearner.firstPriceFeature] = 1 }
        if capped { context[BiddingLearner.cappedFeature] = 1 }
        return Event(
            timestamp: at,
            body: .impression(Impression(decisionID: id, user: user, action: campaign, propensity: 1, surface: BiddingLearner.surface, context: context, price: Money(units: cpm))))
    }

    static func notice(_ id: String, _ kind: BidNotice, user: String, cpm: Double? = nil, at: Int64) -> Event {
        Event(
            timestamp: at,
            body: .bidOutcome(BidOutcome(
                auctionID: id, won: kind != .loss, clearingPrice: cpm.flatMap { Money(units: $0) }, click: kind == .click, conversion: kind == .conversion, user: user,
                notice: kind)))
    }

    @Test func aBidIsChargedOnceAndItsClickCountedOnce() {
        var l = BiddingLearner()
        l.learn(Self.bid("b1", user: "u", at: Self.t0))
        l.learn(Self.notice("b1", .win, user: "u", cpm: 1.5, at: Self.t0 + 10))
        l.learn(Self.notice("b1", .billing, user: "u", cpm: 1.5, at: Self.t0 + 20))
        l.learn(Self.notice("b1", .click, user: "u", at: Self.t0 + 30))
        l.learn(Self.notice("b1", .click, user: "u", at: Self.t0 + 40))
        let c = l.campaigns["c"]!
        #expect(c.today.bids == 1 && c.today.wins == 1 && c.today.clicks == 1 && c.today.spend == Money(units: 0.0015)!, "\(c.today)")
        #expect(l.clicks.examples == 0, "settled at the window's end, not before")
        l.learn(Self.notice("other", .win, user: "u", cpm: 1, at: Self.t0 + 31 * 60_000))
        #expect(l.clicks.examples == 1 && l.clicks.positives == 1 && l.lateNotices == 1)
    }

    @Test func aLostBidFreesItsFrequencySlotAndAPendingOneCountsForAMinute() {
        var l = BiddingLearner()
        l.learn(Self.bid("b1", user: "u", at: Self.t0))
        l.learn(Self.bid("b2", user: "u", at: Self.t0 + 1))
        l.learn(Self.bid("b3", user: "u", at: Self.t0 + 2))
        l.learn(Self.notice("b1", .win, user: "u", cpm: 1, at: Self.t0 + 5))
        l.learn(Self.notice("b2", .loss, user: "u", at: Self.t0 + 5))
        #expect(l.impressions(user: "u", campaign: "c", now: Self.t0 + 10, window: 3_600_000) == 2, "a win and a pending bid")
        #expect(l.impressions(user: "u", campaign: "c", now: Self.t0 + 61_000, window: 3_600_000) == 1, "the pending bid no longer counts")
        #expect(l.impressions(user: "u", campaign: "c", now: Self.t0 + 3_700_000, window: 3_600_000) == 0, "outside the window")
        #expect(l.impressions(user: "v", campaign: "c", now: Self.t0, window: 3_600_000) == 0)
        #expect(l.shared!.impressions(user: "u", campaign: "c", now: Self.t0 + 10, window: 3_600_000) == 0, "per user: not published")
    }

    @Test func onlyCappedCampaignsBidsAreRememberedPerUserAndAtMostAThousand() {
        var l = BiddingLearner()
        for n in 0..<1_500 { l.learn(Self.bid("b\(n)", user: "u", at: Self.t0 + Int64(n))) }
        l.learn(Self.bid("free", user: "u", campaign: "uncapped", at: Self.t0 + 2_000, capped: false))
        #expect(l.impressions(user: "u", campaign: "c", now: Self.t0 + 2_000, window: 3_600_000) == BiddingLearner.maximumPerUser)
        #expect(l.impressions(user: "u", campaign: "uncapped", now: Self.t0 + 2_000, window: 3_600_000) == 0)
        #expect(l.campaigns["uncapped"]?.today.bids == 1, "counted all the same")
    }

    @Test func aNewDayStartsItsCountsAfresh() {
        var l = BiddingLearner()
        l.learn(Self.bid("b1", user: "u", at: Self.t0))
        l.learn(Self.notice("b1", .win, user: "u", cpm: 3, at: Self.t0 + 1))
        l.learn(Self.bid("b2", user: "u", at: Self.t0 + 12 * 3_600_000))
        let c = l.campaigns["c"]!
        #expect(c.today.bids == 1 && c.today.spend == .zero && c.total.bids == 2 && c.total.spend == Money(units: 0.003)!)
        #expect(c.spend(on: c.day - 1) == .zero)
    }

    /// Users split over shards (each user's events in order), merged: counts and win
    /// curves are the sequential learner's exactly; the click model's weights are close.
    @Test func shardedThenMergedEqualsSequentialForCountsAndCurves() throws {
        var random = SeededRandom(seed: 8)
        var events: [Event] = []
        for n in 0..<4_000 {
            let user = "u\(n % 97)", id = "b\(n)"
            let t = Self.t0 + Int64(n) * 1_000
            let domain = n % 3 == 0 ? "hot" : "cold"
            events.append(Self.bid(id, user: user, campaign: n % 2 == 0 ? "a" : "b", cpm: 1 + random.unit(), at: t, features: ["domain=" + domain], firstPrice: n % 4 == 0))
            if random.unit() < 0.5 {
                events.append(Self.notice(id, .win, user: user, cpm: random.unit() + 0.5, at: t + 100))
                if random.unit() < (domain == "hot" ? 0.3 : 0.02) { events.append(Self.notice(id, .click, user: user, at: t + 200)) }
            } else if random.unit() < 0.5 {
                events.append(Self.notice(id, .loss, user: user, at: t + 100))
            }
        }
        // Every shard's stream reaches the time that settles its bids (stream time is per
        // partition, as for the reward join).
        for u in ["u0", "u1", "u2"] { events.append(Self.notice("end", .loss, user: u, at: Self.t0 + 10_000_000)) }
        var sequential = BiddingLearner()
        for e in events { sequential.learn(e) }
        var shards = [BiddingLearner](repeating: BiddingLearner(), count: 3)
        for e in events { shards[Int(e.user!.dropFirst())! % 3].learn(e) }
        var merged = shards[0]
        merged.merge(shards[1])
        merged.merge(shards[2])
        #expect(merged.campaigns == sequential.campaigns)
        #expect(merged.clicks.examples == sequential.clicks.examples && merged.clicks.positives == sequential.clicks.positives)
        let s = sequential.clicks.prepared(), m = merged.clicks.prepared()
        for domain in ["hot", "cold"] {
            let x = sequential.clicks.indices(["domain=" + domain])
            let (ps, pm) = (s.probability(margin: s.margin(x)), m.probability(margin: m.margin(x)))
            #expect(abs(ps - pm) < 0.25 * ps, "\(domain): sequential \(ps), merged \(pm)")
        }
        let hot = sequential.clicks.indices(["domain=hot"]), cold = sequential.clicks.indices(["domain=cold"])
        #expect(s.probability(margin: s.margin(hot)) > 3 * s.probability(margin: s.margin(cold)))
    }

    @Test func theStateRoundTripsCanonically() throws {
        var l = BiddingLearner()
        l.learn(Self.bid("b1", user: "u", at: Self.t0, firstPrice: true))
        l.learn(Self.bid("b2", user: "v", campaign: "d", at: Self.t0 + 1))
        l.learn(Self.notice("b1", .win, user: "u", cpm: 2, at: Self.t0 + 2))
        l.learn(Self.bid("b3", user: "u", at: Self.t0 + 40 * 60_000))
        var w = StateWriter()
        w.write(section: l)
        var r = StateReader(w.bytes)
        let back = try r.read(section: BiddingLearner.self)
        #expect(back == l)
        var w2 = StateWriter()
        w2.write(section: back)
        #expect(w2.bytes == w.bytes)
        #expect(back.impressions(user: "u", campaign: "c", now: Self.t0 + 40 * 60_000, window: 86_400_000) == 2)
    }
}

/// A campaign travels the state topic as its definition: every setting comes back.
@Suite struct CampaignDefinitionTests {
    @Test func aCampaignRoundTripsThroughItsStateTopicRecord() throws {
        let c = Campaign(
            id: "spring", creatives: [Creative(id: "a", format: .banner(width: 300, height: 250), advertiserDomain: "x.example", categories: ["IAB18"]),
                                      Creative(id: "v", format: .video, advertiserDomain: "x.example"), Creative(id: "n", format: .native, advertiserDomain: "y.example")],
            targeting: Targeting(categories: ["IAB1", "IAB2"], deviceTypes: [1, 4], countries: ["USA"]), dailyBudget: Money(units: 12.5)!, currency: "EUR",
            start: 1_796_083_200_000, end: nil, goal: .perAction(value: 3), bidCap: 7.5, frequencyCap: FrequencyCap(impressions: 3, windowMillis: 3_600_000),
            strategy: .truthful, blockedDomains: ["bad.example"], paused: true, hourlyProfile: (0..<24).map { Double($0 % 5) }, channel: "display",
            channelMarginalROI: 1.25)
        let d = CampaignDefinition(campaign: c, version: 4)
        #expect(try CampaignDefinition(serialized: d.serialized()) == d)
        #expect(c.goalValue == 3.75)
        var damaged = d.serialized()
        damaged[damaged.count / 2] ^= 0xFF
        #expect(throws: StateFormatError.self) { try CampaignDefinition(serialized: damaged) }
    }

    /// A record written before campaigns had a channel (version 1: no channel fields) is
    /// read as a campaign without one.
    @Test func aVersionOneRecordReadsAsACampaignWithoutAChannel() throws {
        let c = Campaign(
            id: "old", creatives: [Creative(id: "a", format: .video, advertiserDomain: "x.example")], dailyBudget: Money(units: 5)!, currency: "USD",
            goal: .perClick(value: 0.5), bidCap: 2)
        let d = CampaignDefinition(campaign: c, version: 2)
        var payload = try Envelope.open(d.serialized())
        // Version 2 appends the channel (an empty string: 1 byte) and its ROI (8 bytes)
        // before the definition's version (8 bytes).
        payload.removeSubrange((payload.count - 17)..<(payload.count - 8))
        var w = StateWriter()
        w.write(UInt16(1))
        payload.replaceSubrange(0..<2, with: w.bytes)
        #expect(try CampaignDefinition(serialized: Envelope.seal(payload)) == d)
    }
}

/// The plan a campaign is paced against: the share of the day's budget spent by now.
@Suite struct PlanShareTests {
    static let day = Int64(1_796_083_200_000)  // 2026-12-01T00:00:00Z

    @Test func theEvenPlanFollowsTheClockOverTheFlightsPartOfTheDay() {
        let c = Campaign(id: "c", creatives: [], dailyBudget: Money(units: 1)!, currency: "USD", goal: .perClick(value: 1), bidCap: 1)
        #expect(c.planShare(at: Self.day) == 0 && c.planShare(at: Self.day + 43_200_000) == 0.5)
        var late = c
        late.start = Self.day + 43_200_000
        #expect(late.planShare(at: Self.day + 64_800_000) == 0.5 && late.planShare(at: Self.day + 3_600_000) == 0)
    }

    @Test func aTrafficProfileSpendsTheBudgetByItsHours() {
        // All of the day's traffic from 18:00 to 22:00, twice as much in the last two hours.
        let profile = (0..<24).map { h -> Double in h >= 18 && h < 20 ? 1 : h >= 20 && h < 22 ? 2 : 0 }
        let c = Campaign(id: "c", creatives: [], dailyBudget: Money(units: 1)!, currency: "USD", goal: .perClick(value: 1), bidCap: 1, hourlyProfile: profile)
        #expect(c.planShare(at: Self.day + 17 * 3_600_000) == 0)
        #expect(abs(c.planShare(at: Self.day + 19 * 3_600_000) - 1.0 / 6) < 1e-12)
        #expect(abs(c.planShare(at: Self.day + 21 * 3_600_000) - 4.0 / 6) < 1e-12)
        #expect(c.planShare(at: Self.day + 23 * 3_600_000) == 1)
    }
}

/// The click model's weights as served: the same as the model's own, coordinate by
/// coordinate, including those it has none for.
@Suite struct ClickModelWeightsTests {
    @Test func servedWeightsEqualTheModelsForEveryCoordinateAndZeroElsewhere() {
        var model = ClickModel(settings: ClickModel.Settings(l1: 0.01, buckets: 1 << 12))
        var random = SeededRandom(seed: 3)
        for _ in 0..<3000 {
            let features = (0..<6).map { _ in "f=\(Int(random.unit() * 2000))" }
            model.learn(model.indices(features), positive: random.unit() < 0.3)
        }
        let served = model.prepared()
        var nonZero = 0
        for i in UInt32(0)..<(1 << 12) {
            #expect(served.margin([i]) == model.weight(i), "coordinate \(i)")
            if model.weight(i) != 0 { nonZero += 1 }
        }
        #expect(served.nonZero == nonZero && nonZero > 500, "\(nonZero) weights: the table is exercised with collisions")
        let x = model.indices(["f=7", "f=8"])
        #expect(abs(served.probability(margin: served.margin(x)) - model.probability(x)) < 1e-12)
    }
}
