import Bidding
import Common
import Events
import Metrics
import Stream
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One bid of an answer: an impression, the campaign and creative that fill it, the price.
public struct PlacedBid: Sendable, Equatable {
    /// The bid's id: its notices name it, and it is the logged decision's id.
    public var id: String
    public var impressionID: String
    public var campaign: String
    public var creative: Creative
    /// CPM in the answer's currency, rounded to micro-units.
    public var price: Money
    /// What the impression is worth to the campaign, CPM: 1000 × P(click or conversion) × its value.
    public var value: Double
    /// The predicted probability of the campaign's goal (a click, or a conversion).
    public var rate: Double
    /// The budget's shadow price μ the bid was paced with (for a reinforcement-learning
    /// bid, the one it implies: value / price − 1).
    public var shadowPrice: Double
    /// The probability of how the price was chosen: 1, or for a first-price bid the
    /// share of shaded (1 − exploration) or exploring bids it belongs to.
    public var propensity: Double
    /// The deal the bid is made in (a private marketplace), nil for the open auction.
    public var dealID: String?
    /// Priced by a reinforcement-learning plan (`strategy: rl`), not paced.
    public var planned = false
}

/// The answer to a bid request: bids (one per impression at most), or why none.
public enum BidAnswer: Sendable, Equatable {
    case bids(requestID: String, currency: String, user: String, [PlacedBid])
    case noBid(requestID: String, NoBidReason)
}

/// Bids, on HTTP threads: each impression of an OpenRTB request priced for every
/// campaign that may fill it, against the newest published view (the group's spend, the
/// click and conversion models, the win curves); the best bid per impression logged in
/// the events topic, in the partition of the request's user — where its notices are joined
/// and teach the models — and answered once the log has it.
///
/// A campaign bids value / (1 + μ): the value from the predicted rate of its goal, μ from
/// its spend today against the day's plan (`SpendPacer`), shaded on its win curve in a
/// first-price auction, never above its cap, never below the floor; a campaign with
/// `strategy: rl` bids in second-price auctions by its plan (`ReinforcementPlans`) once it
/// has one. It stops when the
/// group's spend in the view, with what this process bid since, would pass the budget:
/// the hard stop. Other processes' bids since the view was built are what it cannot see,
/// so a group overspends at most by the view's age × the campaign's spend rate (plus
/// one winning price).
///
/// Frequency caps need the user's impressions, which only the owner of the user's
/// partition holds: the service reads them there (`BidError.notHeld` when this process
/// does not hold it, so the HTTP layer can forward the request).
public final class BiddingService: Sendable {
    public let routing: UserRouting
    public let views: ViewBuilder
    public let configuration: BiddingConfiguration
    private let publisher: any StatePublisher
    /// The views' campaigns as served, remade when the catalogue changes.
    private let served = Mutex<(generation: UInt64, campaigns: [ServedCampaign])>((.max, []))
    private let log: any DecisionLog
    private let partitions: (any PartitionReader)?
    private let seed: UInt64
    private let idPrefix: String
    private let waitForLog: Bool
    private let clock: @Sendable () -> Int64
    private let sequence = Atomic<UInt64>(0)
    private let prepared: Mutex<Prepared?> = Mutex(nil)
    private let turns = UserTurns()
    private let editor = SerialEditor()
    /// What this process bid lately (`RecentBids`).
    private let recent = Mutex(RecentBids(exposureMillis: BiddingService.exposureMillis, pendingMillis: BiddingLearner.pendingMillis))
    private let plans = ReinforcementPlans()
    private let bidCounter = Counter(label: "arbiter_bids_total")
    private let noBidCounter = Counter(label: "arbiter_no_bids_total")

    /// How long this process counts its own bids against the budget: notices and the view
    /// that carries their spend arrive within it.
    public static let exposureMillis: Int64 = 5_000
    /// First-price bids a campaign's win curve needs before bids are shaded on it.
    public static let shadingEvidence = 50.0

    public enum BidError: Error, Sendable, Equatable {
        case refused(DecisionError)
        /// The user's partition is held by another process: ask its owner.
        case notHeld(partition: Int32)
    }

    public init(
        configuration: BiddingConfiguration, views: ViewBuilder, log: any DecisionLog, publisher: any StatePublisher, partitions: (any PartitionReader)?,
        routing: UserRouting, seed: UInt64, idPrefix: String, waitForLog: Bool = true, clock: @escaping @Sendable () -> Int64 = { WallClock.millis }
    ) {
        self.configuration = configuration
        self.publisher = publisher
        // As configured (version 0): what the group published since wins.
        for c in configuration.campaigns { views.receive(campaign: CampaignDefinition(campaign: c, version: 0)) }
        self.views = views
        self.log = log
        self.partitions = partitions
        self.routing = routing
        self.seed = seed
        self.idPrefix = idPrefix
        self.waitForLog = waitForLog
        self.clock = clock
    }

    /// The campaigns as they are now.
    public var currentCampaigns: [Campaign] { servedCampaigns().map(\.campaign) }

    private func servedCampaigns() -> [ServedCampaign] {
        let g = views.campaignGeneration
        if let kept = served.withLock({ $0.generation == g ? $0.campaigns : nil }) { return kept }
        let (generation, definitions) = views.campaignCatalogue
        let list = definitions.map { ServedCampaign($0.campaign) }
        served.withLock { $0 = (generation, list) }
        return list
    }

    // MARK: Administration

    /// The campaign `id` as the catalogue holds it.
    public func definition(_ id: String) -> CampaignDefinition? { views.campaignCatalogue.campaigns.first { $0.campaign.id == id } }

    /// Adds a campaign or replaces one's settings (what it spent and learnt stays: it is
    /// kept by id), published to the group and applied here before it returns.
    @discardableResult
    public func put(_ campaign: Campaign) async throws(DecisionError) -> CampaignDefinition {
        if let cap = campaign.frequencyCap, cap.windowMillis > configuration.learning.frequencyWindowMillis {
            throw DecisionError(
                .invalid,
                "frequency_cap.window_seconds must be at most \(configuration.learning.frequencyWindowMillis / 1000): the partitions remember a user's impressions that long (the longest configured cap)")
        }
        return try await change(campaign.id) { held in
            // The marketing-mix refit's value of its channel stays until the next refit.
            var c = campaign
            if let held, held.channel == c.channel { c.channelMarginalROI = held.channelMarginalROI }
            return c
        }
    }

    /// Pauses or resumes campaign `id`.
    @discardableResult
    public func setPaused(_ id: String, _ paused: Bool) async throws(DecisionError) -> CampaignDefinition {
        try await change(id) { (held) throws(DecisionError) in
            guard var c = held else { throw DecisionError(.notFound, "no campaign '\(clipped(id))'") }
            c.paused = paused
            return c
        }
    }

    /// One campaign whose goal's value a marketing-mix priors file changed.
    public struct ChannelValueChange: Sendable, Equatable {
        public var campaign: String
        public var channel: String
        public var marginalROI: Double
        /// What a click (or conversion) is now worth to the campaign.
        public var goalValue: Double
    }

    /// Gives every campaign mapped to a channel (`channel`) that channel's posterior mean
    /// marginal ROI from a marketing-mix priors file, each change published to the group
    /// like an admin change. Campaigns not mapped, mapped to a channel `marginalROI`
    /// lacks, or already holding that value are left as they are.
    @discardableResult
    public func applyChannelValues(marginalROI: [String: Double]) async -> [ChannelValueChange] {
        var changes: [ChannelValueChange] = []
        for d in views.campaignCatalogue.campaigns {
            guard let channel = d.campaign.channel, let m = marginalROI[channel], m.isFinite, m >= 0, d.campaign.channelMarginalROI != m else { continue }
            // Built on the group's definition, which may have moved to another channel since.
            let changed = try? await change(d.campaign.id) { (held) throws(DecisionError) in
                guard var c = held else { throw DecisionError(.notFound, "no campaign '\(clipped(d.campaign.id))'") }
                if let now = c.channel, let value = marginalROI[now], value.isFinite, value >= 0 { c.channelMarginalROI = value }
                return c
            }
            if let changed, changed.version > d.version, let now = changed.campaign.channel, let value = changed.campaign.channelMarginalROI {
                changes.append(ChannelValueChange(campaign: changed.campaign.id, channel: now, marginalROI: value, goalValue: changed.campaign.goalValue))
            }
        }
        return changes
    }

    /// Publishes `body`'s campaign as the next version of campaign `id`, built on the
    /// group's definition: read once this process has applied every change published
    /// before the call, so a change made through another process a moment ago is neither
    /// undone nor given the same version. A campaign `body` leaves as it was is not
    /// published again: the definition held is the answer. One change at a time per
    /// process.
    private func change(_ id: String, _ body: @escaping @Sendable (Campaign?) throws(DecisionError) -> Campaign) async throws(DecisionError) -> CampaignDefinition {
        let result: Result<CampaignDefinition, DecisionError> = await editor.run { [self] in
            guard await publisher.readToPresent(timeoutMillis: 30_000) else {
                return .failure(DecisionError(.unavailable, "the group's latest changes could not be read from the state topic, so campaign '\(clipped(id))' was not changed"))
            }
            let held = definition(id)
            let next: CampaignDefinition
            do throws(DecisionError) { next = CampaignDefinition(campaign: try body(held?.campaign), version: (held?.version ?? 0) + 1) } catch {
                return .failure(error)
            }
            if let held, held.campaign == next.campaign { return .success(held) }
            do { try await publisher.publish(campaign: next) } catch {
                return .failure(DecisionError(.unavailable, "the change of campaign '\(clipped(id))' was not published: \(error)"))
            }
            views.receive(campaign: next)
            return .success(definition(id) ?? next)
        }
        return try result.get()
    }

    /// A view's bidding state ready to decide: model weights and, lazily, win curves.
    final class Prepared: Sendable {
        let view: EngineView
        let learner: BiddingLearner
        let clicks: ClickModel.Weights
        let conversions: ClickModel.Weights
        let curves = Mutex<[String: [Double]]>([:])
        init(view: EngineView, learner: BiddingLearner) {
            self.view = view
            self.learner = learner
            clicks = learner.clicks.prepared()
            conversions = learner.conversions.prepared()
        }

        /// The campaign's win curve and its probabilities; nil until it has seen
        /// `shadingEvidence` first-price bids, some won.
        func curve(_ campaign: String) -> (WinCurve, [Double])? {
            guard let c = learner.campaigns[campaign]?.curve, c.bids.reduce(0, +) >= BiddingService.shadingEvidence, c.wins.contains(where: { $0 > 0 }) else { return nil }
            if let p = curves.withLock({ $0[campaign] }) { return (c, p) }
            let p = c.probabilities()
            curves.withLock { $0[campaign] = p }
            return (c, p)
        }
    }

    private func preparation(of view: EngineView) -> Prepared {
        if let p = prepared.withLock({ $0 }), p.view === view || (p.view.fingerprint == view.fingerprint && p.view.builtAtMillis == view.builtAtMillis) {
            return p
        }
        let p = Prepared(view: view, learner: view.merged.learner(BiddingLearner.self) ?? BiddingLearner(settings: configuration.learning))
        prepared.withLock { current in
            if current == nil || current!.view.builtAtMillis <= view.builtAtMillis { current = p }
        }
        return p
    }

    /// Bids on `request` (already valid OpenRTB), logging each bid in the user's partition.
    /// - Parameter deadlineNanos: the monotonic time by which the answer must leave
    ///   (from `tmax`); nil: none.
    public func bid(_ request: BidRequest, deadlineNanos: UInt64? = nil) async throws(BidError) -> BidAnswer {
        if let t = request.tmax, t < configuration.minimumTmaxMillis { return noBid(request, .insufficientTime) }
        let now = clock()
        let user = request.userKey
        let key = user ?? request.id
        let partition = routing.partition(of: key)
        // A cap cannot be kept for a request that names no user.
        let candidates = servedCampaigns().filter {
            $0.campaign.running(at: now) && $0.campaign.admits(request) && (user != nil || $0.capImpressions == nil)
        }
        guard !candidates.isEmpty else { return noBid(request, .noCampaign) }

        let capped = candidates.filter { $0.capImpressions != nil }
        if !capped.isEmpty { await turns.take(key) }
        defer { if !capped.isEmpty { turns.give(key) } }
        var reasons = Set<NoBidReason>()
        // Impressions per capped campaign, this request's bids included as they are made.
        var shown: [String: Int] = [:]
        if let user, !capped.isEmpty { shown = try await impressions(user: user, campaigns: capped, partition: partition, now: now) }

        let state = preparation(of: views.view)
        let day = Day(epochMillis: now).daysSinceEpoch
        let base = idPrefix + String(sequence.wrappingAdd(1, ordering: .relaxed).newValue, radix: 36)
        // What does not depend on the impression, once per campaign: spend, pacing, the
        // campaign's own features' share of the click model's margin.
        let exposures = recent.withLock { r in candidates.map { r.exposure(campaign: $0.id, at: now) } }
        let priced = zip(candidates, exposures).map { c, pending in
            let spent = (state.learner.campaigns[c.id]?.spend(on: day) ?? .zero).units
            let model = c.perClick ? state.clicks : state.conversions
            let shadow = c.paced ? configuration.pacer.logShadow(spent: spent, budget: c.budget, planned: c.budget * c.campaign.planShare(at: now)) : 0
            let plan = c.reinforced
                ? plans.bidder(
                    for: c, ledger: state.learner.campaigns[c.id], model: model, examples: c.perClick ? state.learner.clicks.examples : state.learner.conversions.examples,
                    budgetLeft: c.budget - spent - pending, now: now, day: day) : nil
            return CampaignPrice(c, spent: spent, pending: pending, shadow: shadow, ownMargin: c.hashes.margin(in: request, model), plan: plan)
        }
        // The reinforcement-learning campaigns' auctions, bid in or not (`ReinforcementPlans`).
        let reinforced = priced.contains { $0.served.reinforced }
        let domain = request.placement?.domain ?? request.placement?.bundle
        var candidacies: [(campaign: String, ReinforcementPlans.Candidacy)] = []
        var bids: [PlacedBid] = []
        // Each bid's impression's features and campaign, which its log record describes.
        var made: [(features: [(name: String, value: String)], served: ServedCampaign, firstPrice: Bool)] = []
        var currency: String?
        for (i, imp) in request.impressions.enumerated() {
            guard let market = imp.market(for: configuration.seat) else {
                reasons.insert(.privateAuction)
                continue
            }
            let pairs = request.featurePairs(of: imp)
            let slot = CreativeSlot(imp, in: request)
            var sharedClicks = 0.0, sharedConversions = 0.0
            var hashes: [UInt64] = []
            for f in pairs {
                let h = ClickModel.hash(f.value, from: ClickModel.hash(f.name))
                sharedClicks += state.clicks.weight(of: h)
                sharedConversions += state.conversions.weight(of: h)
                if reinforced { hashes.append(h) }
            }
            let id = "\(base).\(i)@\(partition)"
            let firstPrice = (market.deal?.auctionType ?? request.auctionType) == 1
            var best: (bid: PlacedBid, k: Int)?
            for (k, p) in priced.enumerated() where currency == nil || p.served.currency == currency {
                guard let creative = p.served.creative(for: slot) else { continue }
                if let cap = p.served.capImpressions, shown[p.served.id, default: 0] >= cap {
                    reasons.insert(.dailyUserCap)
                    continue
                }
                // No exchange rates: a floor in another currency cannot be met knowingly.
                if market.floor > 0, market.currency != p.served.currency { continue }
                guard p.spent + p.pending + p.served.bidCap / 1000 <= p.served.budget else {
                    reasons.insert(.budgetSpent)
                    continue
                }
                let rate = p.served.perClick
                    ? state.clicks.probability(margin: sharedClicks + p.ownMargin) : state.conversions.probability(margin: sharedConversions + p.ownMargin)
                let value = 1000 * rate * p.served.goalValue
                // Plans bid in second-price auctions only, so only those are their day's auctions.
                if p.served.reinforced && !firstPrice {
                    candidacies.append((p.served.id, .init(shared: hashes, own: p.served.hashes.own, cross: domain.map { p.served.hashes.cross(domain: $0) })))
                }
                var price = value / exp(p.shadow)
                var propensity = 1.0
                if !firstPrice, let (values, left) = p.plan {
                    // Cai et al.'s bid, in clicks (or conversions), never above the value.
                    price = min(value, 1000 * values.bid(ctr: rate, auctionsLeft: left, budgetLeft: p.served.budget - p.spent - p.pending))
                } else if firstPrice, let (curve, probabilities) = state.curve(p.served.id) {
                    // Shaded once the curve has seen wins; before, the paced value is bid,
                    // which is what the curve then learns from.
                    var random = SeededRandom(decisionID: id + "/" + p.served.id, salt: seed)
                    let u = random.unit(), v = random.unit()
                    price = BidShader(curve: curve, exploration: configuration.exploration).bid(value: price, probabilities: probabilities, u: u, v: v)
                    propensity = u < configuration.exploration ? configuration.exploration : 1 - configuration.exploration
                }
                price = min(price, p.served.bidCap)
                guard let money = Money(units: price), money > .zero, price >= market.floor else {
                    reasons.insert(.belowFloor)
                    continue
                }
                if best == nil || money > best!.bid.price {
                    let shadowPrice = !firstPrice && p.plan != nil ? max(0, value / price - 1) : exp(p.shadow) - 1
                    best = (
                        PlacedBid(
                            id: id, impressionID: imp.id, campaign: p.served.id, creative: creative, price: money, value: value, rate: rate, shadowPrice: shadowPrice,
                            propensity: propensity, dealID: market.deal?.id, planned: !firstPrice && p.plan != nil), k
                    )
                }
            }
            if let (b, k) = best {
                bids.append(b)
                made.append((pairs, priced[k].served, firstPrice))
                priced[k].pending += b.price.units / 1000
                if shown[b.campaign] != nil { shown[b.campaign]! += 1 }
                currency = priced[k].served.currency
            }
        }
        plans.count(candidacies: candidacies, day: day)
        guard let currency, !bids.isEmpty else {
            // The reason nearest to a bid.
            let order: [NoBidReason] = [.belowFloor, .budgetSpent, .dailyUserCap, .privateAuction]
            return noBid(request, order.first(where: reasons.contains) ?? .noCampaign)
        }
        if let deadlineNanos, MonotonicClock.nanos >= deadlineNanos { return noBid(request, .insufficientTime) }

        // Logged before it is answered: a bid that cannot be logged is not made, so every
        // bid an exchange may charge for is in the log.
        var tickets: [DecisionLogTicket] = []
        do {
            for (b, m) in zip(bids, made) {
                let record = Self.record(
                    b, features: m.features, campaign: m.served.campaign, request: request, user: key, capped: m.served.capImpressions != nil, firstPrice: m.firstPrice, at: now)
                tickets.append(try log.append(partition: partition, key: Array(key.utf8), record: record))
            }
        } catch {
            throw .refused(DecisionError(.unavailable, "the decision log is not accepting records: \(error)"))
        }
        recent.withLock { r in
            for (b, m) in zip(bids, made) { r.add(campaign: b.campaign, cost: b.price.units / 1000, user: key, id: b.id, capped: m.served.capImpressions != nil, at: now) }
        }
        plans.count(logged: bids.map(\.campaign), day: day)
        if waitForLog {
            for t in tickets {
                guard await t.durable() else { throw .refused(DecisionError(.unavailable, "the decision log did not acknowledge the bid; no bid was made")) }
            }
        }
        bidCounter.increment(by: bids.count)
        return .bids(requestID: request.id, currency: currency, user: key, bids)
    }

    /// A reinforcement-learning campaign's plan: when it was last solved (nil: it is
    /// paced) and the auctions this process counted it a candidate for today.
    public func planStatus(_ id: String, at now: Int64) -> (solvedAtMillis: Int64?, candidaciesToday: Double) {
        let s = plans.status(id, day: Day(epochMillis: now).daysSinceEpoch)
        return (s.solvedAtMillis, s.candidacies)
    }

    /// Waits for the reinforcement-learning plans being solved (a test's determinism).
    func plansSolved() async { await plans.solved() }

    private func noBid(_ r: BidRequest, _ reason: NoBidReason) -> BidAnswer {
        noBidCounter.increment()
        return .noBid(requestID: r.id, reason)
    }

    /// The user's impressions per capped campaign, read at the owner of the user's
    /// partition, with this process's bids the partition has not learnt yet.
    private func impressions(user: String, campaigns: [ServedCampaign], partition: Int32, now: Int64) async throws(BidError) -> [String: Int] {
        guard let partitions else { return Dictionary(uniqueKeysWithValues: campaigns.map { ($0.id, 0) }) }
        let mine = recent.withLock { r in campaigns.map { r.pending(user: user, campaign: $0.id, at: now) } }
        let asked = campaigns.map { ($0.id, $0.capWindowMillis) }
        let read = await partitions.read(partition: partition) { state in
            let learner = state.learner(BiddingLearner.self)
            return zip(asked, mine).map { a, ids in
                (learner?.impressions(user: user, campaign: a.0, now: now, window: a.1) ?? 0) + ids.filter { !(learner?.hasLearnt($0, user: user, campaign: a.0) ?? false) }.count
            }
        }
        guard case .answer(let counts) = read else { throw .notHeld(partition: partition) }
        return Dictionary(uniqueKeysWithValues: zip(campaigns.map(\.id), counts))
    }

    /// The decision log's record of a bid: an `impression` of surface `bids`, the campaign
    /// as `action`, the CPM as `price` and the request's features as `context`, so the
    /// partition's bidding learner joins it with its notices.
    static func record(
        _ b: PlacedBid, features: [(name: String, value: String)], campaign: Campaign, request: BidRequest, user: String, capped: Bool, firstPrice: Bool,
        at ts: Int64
    ) -> [UInt8] {
        var w = JSONWriter(reservingCapacity: 512)
        w.beginObject()
        w.key("type"); w.string(EventKind.impression.wireName)
        w.key("v"); w.int(Int64(EventDecoder.schemaVersion))
        w.key("ts"); w.int(ts)
        w.key("user"); w.string(user)
        w.key("decision_id"); w.string(b.id)
        w.key("surface"); w.string(BiddingLearner.surface)
        w.key("action"); w.string(b.campaign)
        w.key("price"); w.raw(b.price.description)
        w.key("propensity"); w.double(max(1e-12, b.propensity))
        w.key("creative"); w.string(b.creative.id)
        w.key("request_id"); w.string(request.id)
        w.key("impression_id"); w.string(b.impressionID)
        w.key("value"); w.double(b.value)
        w.key("shadow_price"); w.double(b.shadowPrice)
        w.key("context"); w.beginObject()
        // The click model's features of the impression for the campaign, each 1.
        for f in features {
            w.key(f.name, f.value)
            w.raw("1")
        }
        campaign.forEachFeature(in: request) { name, value in
            w.key(name, value)
            w.raw("1")
        }
        // The auction the bid was priced for: the deal's type where it names one.
        if firstPrice { w.key(BiddingLearner.firstPriceFeature); w.raw("1") }
        if capped { w.key(BiddingLearner.cappedFeature); w.raw("1") }
        w.endObject()
        w.endObject()
        return w.bytes
    }
}

/// A campaign's part of one request's pricing that no impression changes (a class: the
/// impressions' loop reads it without copying anything).
final class CampaignPrice {
    let served: ServedCampaign
    let spent: Double
    /// This process's recent bids and the request's own, at their full price.
    var pending: Double
    /// log(1 + μ).
    let shadow: Double
    /// The campaign's own features' contribution to its model's margin.
    let ownMargin: Double
    /// A reinforcement-learning campaign's plan and auctions left, nil: paced.
    let plan: (values: BiddingValues, auctionsLeft: Int)?

    init(_ served: ServedCampaign, spent: Double, pending: Double, shadow: Double, ownMargin: Double, plan: (values: BiddingValues, auctionsLeft: Int)?) {
        (self.served, self.spent, self.pending, self.shadow, self.ownMargin, self.plan) = (served, spent, pending, shadow, ownMargin, plan)
    }

}

/// What an impression takes of a creative, read once per impression rather than once per
/// campaign and creative.
struct CreativeSlot {
    let sizes: [BidBanner.Size]
    let video: Bool
    let native: Bool
    let request: BidRequest
    /// Whether the request blocks any advertiser or category.
    let blocks: Bool

    init(_ imp: BidImpression, in r: BidRequest) {
        sizes = imp.banner?.sizes ?? []
        (video, native, request) = (imp.video != nil, imp.native != nil, r)
        blocks = !r.blockedAdvertisers.isEmpty || !r.blockedCategories.isEmpty
    }

    func fits(_ format: Creative.Format) -> Bool {
        switch format {
        case .banner(let w, let h): sizes.contains { $0.width == w && $0.height == h }
        case .video: video
        case .native: native
        }
    }
}

/// A campaign as the service holds it: the fields a bid reads copied out of it once
/// (reading them off the struct each time copied the whole campaign, retains and all),
/// its features' hashes made once.
final class ServedCampaign: Sendable {
    let campaign: Campaign
    let hashes: CampaignFeatureHashes
    let id: String
    let currency: String
    let creatives: [Creative]
    let capImpressions: Int?
    let capWindowMillis: Int64
    let bidCap: Double
    let perClick: Bool
    /// Paced, or (`strategy: rl`) paced until it has a plan.
    let paced: Bool
    let reinforced: Bool
    let goalValue: Double
    let budget: Double
    let formats: [Creative.Format]

    init(_ campaign: Campaign) {
        self.campaign = campaign
        hashes = CampaignFeatureHashes(campaign)
        (id, currency, creatives, bidCap) = (campaign.id, campaign.currency, campaign.creatives, campaign.bidCap)
        (capImpressions, capWindowMillis) = (campaign.frequencyCap?.impressions, campaign.frequencyCap?.windowMillis ?? 0)
        (perClick, paced, reinforced) = (campaign.goal.isPerClick, campaign.strategy != .truthful, campaign.strategy == .rl)
        (goalValue, budget) = (campaign.goalValue, campaign.dailyBudget.units)
        formats = campaign.creatives.map(\.format)
    }

    /// The first creative that fills `slot` (`Creative.fits`, on the formats read once)
    /// and that its request's blocks allow.
    func creative(for slot: CreativeSlot) -> Creative? {
        for (i, f) in formats.enumerated() where slot.fits(f) {
            let c = creatives[i]
            if !slot.blocks { return c }
            if !slot.request.blockedAdvertisers.contains(c.advertiserDomain) && !c.categories.contains(where: slot.request.blockedCategories.contains) { return c }
        }
        return nil
    }
}

extension CampaignFeatureHashes {
    /// The campaign's own features' share of `model`'s margin for request `r`.
    func margin(in r: BidRequest, _ model: ClickModel.Weights) -> Double {
        var m = model.weight(of: own)
        if let d = r.placement?.domain ?? r.placement?.bundle { m += model.weight(of: cross(domain: d)) }
        return m
    }
}

extension CampaignGoal {
    var isPerClick: Bool {
        if case .perClick = self { return true }
        return false
    }
}


