import Common
import Events
import StateFormat

/// What a partition needs of the bidding configuration to learn for it.
public struct BiddingSettings: Sendable, Equatable {
    /// How long after a bid its win, click and conversion notices count.
    public var attributionWindowMillis: Int64
    /// The longest frequency-cap window of any campaign: how long a user's impressions are
    /// remembered.
    public var frequencyWindowMillis: Int64
    public var clicks: ClickModel.Settings
    public var conversions: ClickModel.Settings
    /// Open bids a partition keeps at most (the oldest are settled early beyond it).
    public var capacity: Int

    public init(
        attributionWindowMillis: Int64 = 30 * 60_000, frequencyWindowMillis: Int64 = 86_400_000, clicks: ClickModel.Settings = .init(),
        conversions: ClickModel.Settings = .init(baseRate: 0.0002), capacity: Int = 1_000_000
    ) {
        self.attributionWindowMillis = attributionWindowMillis
        self.frequencyWindowMillis = frequencyWindowMillis
        self.clicks = clicks
        self.conversions = conversions
        self.capacity = max(1, capacity)
    }
}

/// One campaign's auctions: the current UTC day's and all of them.
public struct CampaignLedger: Sendable, Equatable {
    public struct Counts: Sendable, Equatable {
        public var bids: Int64 = 0
        public var wins: Int64 = 0
        /// What won impressions cost (clearing CPM / 1000 each).
        public var spend = Money.zero
        public var clicks: Int64 = 0
        public var conversions: Int64 = 0

        public init() {}

        init(bids: Int64, wins: Int64, spend: Money, clicks: Int64, conversions: Int64) {
            (self.bids, self.wins, self.spend, self.clicks, self.conversions) = (bids, wins, spend, clicks, conversions)
        }

        mutating func add(_ o: Counts) {
            bids += o.bids
            wins += o.wins
            spend += o.spend
            clicks += o.clicks
            conversions += o.conversions
        }
    }
    /// Days since the epoch of `today`.
    public internal(set) var day: Int32 = .min
    public internal(set) var today = Counts()
    public internal(set) var total = Counts()
    /// Its first-price bids and whether each won.
    public internal(set) var curve = BiddingLearner.freshCurve()
    /// Its second-price auctions' market prices: clearing prices won, bids lost.
    public internal(set) var market = MarketPrices()

    mutating func count(at ts: Int64, _ change: (inout Counts) -> Void) {
        let d = Day(epochMillis: ts).daysSinceEpoch
        if d > day {
            day = d
            today = Counts()
        }
        if d == day { change(&today) }
        change(&total)
    }

    /// Exact: the later day's counts survive, as in one sequential run.
    mutating func merge(_ o: CampaignLedger) {
        if o.day > day {
            day = o.day
            today = o.today
        } else if o.day == day {
            today.add(o.today)
        }
        total.add(o.total)
        curve.merge(o.curve)
        market.merge(o.market)
    }

    /// Spend on `day` (0 for another day).
    public func spend(on d: Int32) -> Money { d == day ? today.spend : .zero }
}

/// The bidding in one partition of the event stream: each campaign's bids, wins, spend,
/// clicks and conversions per day; the click and conversion models learnt from the won
/// impressions; the first-price win curves; and, per user, the open bids and the
/// impressions frequency caps count (of bids marked `frequency_capped`).
///
/// Bids reach it as `impression` events with surface `bids` (the campaign as `action`,
/// the bid CPM as `price`, the request's features as `context`); their notices as
/// `bid_outcome` events whose `auction_id` is the bid's id. A bid settles once: lost on
/// a loss notice or when no win notice came within `pendingMillis` (first-price exchanges
/// rarely send loss notices), won at the end of the attribution window — it then teaches
/// the click model whether it was clicked and the conversion model whether it converted;
/// every first-price bid teaches its campaign's win curve whether it won, every second-
/// price one its market prices (a win's clearing price, a loss's bid). Only won bids
/// wait out the window. Stream time, so replays learn the same.
///
/// Merge law: counts and win curves merge exactly; the click models merge their sums
/// (`ClickModel`: close to, not bit-equal with, a sequential run). Open bids and
/// impressions per user stay in the partition.
public struct BiddingLearner: Learner, Equatable {
    public static let name = "models.bidding"
    /// 2: each campaign's second-price market prices (version 1 is read without them).
    public static let stateVersion: UInt16 = 2
    /// The surface a logged bid names.
    public static let surface = "bids"
    /// The context key that marks a first-price auction's bid.
    public static let firstPriceFeature = "first_price"
    /// The context key that marks the bid of a campaign with a frequency cap: only those
    /// are remembered per user.
    public static let cappedFeature = "frequency_capped"
    /// The impressions remembered per user and campaign at most (a cap allows no more).
    public static let maximumPerUser = 1000
    /// How long a bid without an outcome counts against a frequency cap: win notices
    /// come within seconds of the auction, and a bid that lost frees its slot.
    public static let pendingMillis: Int64 = 60_000

    static func freshCurve() -> WinCurve { WinCurve(low: 0.001, high: 1000, cells: 96) }

    public private(set) var settings: BiddingSettings
    public private(set) var campaigns: [String: CampaignLedger] = [:]
    public private(set) var clicks: ClickModel
    public private(set) var conversions: ClickModel
    /// Notices for bids no longer open (after the window, or not Arbiter's).
    public private(set) var lateNotices: Int64 = 0
    /// Bids settled before their window ended because the partition held `capacity`.
    public private(set) var evicted: Int64 = 0

    struct OpenBid: Sendable, Equatable {
        var campaign: String
        var user: String
        /// The features' hashes (`ClickModel.hash`): 8 bytes each while it waits.
        var features: [UInt64]
        var cpm: Money
        var decidedAt: Int64
        var due: Int64
        var firstPrice: Bool
        var won = false
        var charged = false
        var clicked = false
        var converted = false
    }
    private var open: [String: OpenBid] = [:]
    private var due = DueHeap()
    /// Per user and campaign: when each of its bids was made, and whether it won.
    private var served: [ServedKey: [(at: Int64, id: String, won: Bool)]] = [:]

    struct ServedKey: Hashable, Comparable {
        var user: String
        var campaign: String
        static func < (a: ServedKey, b: ServedKey) -> Bool { (a.user, a.campaign) < (b.user, b.campaign) }
    }

    public init(settings: BiddingSettings = BiddingSettings()) {
        self.settings = settings
        clicks = ClickModel(settings: settings.clicks)
        conversions = ClickModel(settings: settings.conversions)
    }

    public var reads: Set<EventKind> { [.impression, .bidOutcome] }

    public static func == (a: BiddingLearner, b: BiddingLearner) -> Bool {
        a.bytes == b.bytes
    }

    private var bytes: [UInt8] {
        var w = StateWriter()
        encode(to: &w)
        return w.bytes
    }

    public mutating func learn(_ event: Event) {
        settle(through: event.timestamp)
        switch event.body {
        case .impression(let i):
            guard i.surface == Self.surface, let cpm = i.price else { return }
            register(i, cpm: cpm, at: event.timestamp)
        case .bidOutcome(let o):
            notice(o, at: event.timestamp)
        default: break
        }
    }

    private mutating func register(_ i: Impression, cpm: Money, at ts: Int64) {
        guard open[i.decisionID] == nil else { return }
        let context = i.context
        let bid = OpenBid(
            campaign: i.action, user: i.user,
            features: context.keys.filter { $0 != Self.firstPriceFeature && $0 != Self.cappedFeature }.sorted().map { ClickModel.hash($0) }, cpm: cpm,
            decidedAt: ts, due: ts + min(Self.pendingMillis, settings.attributionWindowMillis), firstPrice: context[Self.firstPriceFeature] != nil)
        open[i.decisionID] = bid
        due.push(bid.due, i.decisionID)
        campaigns[i.action, default: CampaignLedger()].count(at: ts) { $0.bids += 1 }
        if context[Self.cappedFeature] != nil {
            let key = ServedKey(user: i.user, campaign: i.action)
            var list = served.removeValue(forKey: key) ?? []
            list.removeAll { ts - $0.at > settings.frequencyWindowMillis }
            if list.count >= Self.maximumPerUser { list.removeFirst(list.count - Self.maximumPerUser + 1) }
            list.append((ts, i.decisionID, false))
            served[key] = list
            if served.count > settings.capacity { sweepServed(now: ts) }
        }
        while open.count > settings.capacity, let (_, id) = due.pop() {
            evicted += 1
            settle(id)
        }
    }

    private mutating func notice(_ o: BidOutcome, at ts: Int64) {
        guard var bid = open[o.auctionID] else {
            lateNotices += 1
            return
        }
        guard o.won else {
            open[o.auctionID] = bid
            settle(o.auctionID)
            return
        }
        if !bid.won {
            bid.won = true
            let key = ServedKey(user: bid.user, campaign: bid.campaign)
            if let k = served[key]?.firstIndex(where: { $0.id == o.auctionID }) { served[key]![k].won = true }
        }
        var change = CampaignLedger.Counts()
        if !bid.charged, let price = o.clearingPrice {
            bid.charged = true
            change.wins = 1
            change.spend = Money(micros: (price.micros + 500) / 1000)
            if !bid.firstPrice { campaigns[bid.campaign, default: CampaignLedger()].market.learn(clearingPrice: price.units) }
        }
        if o.click, !bid.clicked {
            bid.clicked = true
            change.clicks = 1
        }
        if o.conversion, !bid.converted {
            bid.converted = true
            change.conversions = 1
        }
        open[o.auctionID] = bid
        if change != CampaignLedger.Counts() { campaigns[bid.campaign, default: CampaignLedger()].count(at: ts) { $0.add(change) } }
    }

    /// Settles every open bid whose window ended by `ts`.
    private mutating func settle(through ts: Int64) {
        while let (end, id) = due.peek(), end <= ts {
            _ = due.pop()
            // A won bid waits for its click until the attribution window ends.
            if var bid = open[id], bid.won, bid.due < bid.decidedAt + settings.attributionWindowMillis {
                bid.due = bid.decidedAt + settings.attributionWindowMillis
                open[id] = bid
                due.push(bid.due, id)
                continue
            }
            settle(id)
        }
    }

    private mutating func settle(_ id: String) {
        guard let bid = open.removeValue(forKey: id) else { return }
        if bid.won {
            let x = clicks.indices(hashes: bid.features)
            clicks.learn(x, positive: bid.clicked)
            conversions.learn(conversions.indices(hashes: bid.features), positive: bid.converted)
        } else {
            let key = ServedKey(user: bid.user, campaign: bid.campaign)
            served[key]?.removeAll { $0.id == id }
            if served[key]?.isEmpty == true { served[key] = nil }
        }
        if bid.firstPrice {
            campaigns[bid.campaign, default: CampaignLedger()].curve.learn(bid: bid.cpm.units, won: bid.won)
        } else if !bid.won {
            campaigns[bid.campaign, default: CampaignLedger()].market.learn(lostAt: bid.cpm.units)
        }
    }

    private mutating func sweepServed(now: Int64) {
        let window = settings.frequencyWindowMillis
        served = served.compactMapValues { list in
            let kept = list.filter { now - $0.at <= window }
            return kept.isEmpty ? nil : kept
        }
    }

    /// The impressions `user` has had of `campaign` within `window` before `now`: wins,
    /// and bids still awaiting their outcome (for `pendingMillis`).
    public func impressions(user: String, campaign: String, now: Int64, window: Int64) -> Int {
        guard let list = served[ServedKey(user: user, campaign: campaign)] else { return 0 }
        return list.reduce(0) { n, e in
            now - e.at <= window && (e.won || now - e.at <= Self.pendingMillis) ? n + 1 : n
        }
    }

    /// Whether the partition has learnt the bid `id` of `user` for `campaign` (open, or
    /// won and still counted).
    public func hasLearnt(_ id: String, user: String, campaign: String) -> Bool {
        open[id] != nil || (served[ServedKey(user: user, campaign: campaign)]?.contains { $0.id == id } ?? false)
    }

    public mutating func merge(_ other: BiddingLearner) {
        for (name, l) in other.campaigns { campaigns[name, default: CampaignLedger()].merge(l) }
        clicks.merge(other.clicks)
        conversions.merge(other.conversions)
        lateNotices += other.lateNotices
        evicted += other.evicted
        for (id, b) in other.open where open[id] == nil {
            open[id] = b
            due.push(b.due, id)
        }
        for (k, v) in other.served { served[k, default: []] += v }
    }

    public var shared: BiddingLearner? {
        var s = self
        s.open = [:]
        s.due = DueHeap()
        s.served = [:]
        return s
    }

    public mutating func adopt(configurationOf fresh: BiddingLearner) -> [String] {
        var notes: [String] = []
        if fresh.settings.clicks.buckets != settings.clicks.buckets { notes.append("bidding: the click model's hashing changed; it starts afresh") }
        if fresh.settings.conversions.buckets != settings.conversions.buckets { notes.append("bidding: the conversion model's hashing changed; it starts afresh") }
        clicks = clicks.adopting(fresh.settings.clicks)
        conversions = conversions.adopting(fresh.settings.conversions)
        settings = fresh.settings
        return notes
    }

    // MARK: State

    public func encode(to w: inout StateWriter) {
        w.write(settings.attributionWindowMillis)
        w.write(settings.frequencyWindowMillis)
        w.write(Int64(settings.capacity))
        clicks.encode(to: &w)
        conversions.encode(to: &w)
        w.write(lateNotices)
        w.write(evicted)
        w.writeVarint(UInt64(campaigns.count))
        for name in campaigns.keys.sorted() {
            let c = campaigns[name]!
            w.write(name)
            w.write(c.day)
            for counts in [c.today, c.total] {
                w.write(counts.bids)
                w.write(counts.wins)
                w.write(counts.spend)
                w.write(counts.clicks)
                w.write(counts.conversions)
            }
            c.curve.encode(to: &w)
            c.market.encode(to: &w)
        }
        w.writeVarint(UInt64(open.count))
        for (id, b) in open.sorted(by: { ($0.value.due, $0.key) < ($1.value.due, $1.key) }) {
            w.write(id)
            w.write(b.campaign)
            w.write(b.user)
            w.writeVarint(UInt64(b.features.count))
            for f in b.features { w.write(f) }
            w.write(b.cpm)
            w.write(b.decidedAt)
            w.write(b.due)
            w.write(UInt8((b.firstPrice ? 1 : 0) | (b.won ? 2 : 0) | (b.charged ? 4 : 0) | (b.clicked ? 8 : 0) | (b.converted ? 16 : 0)))
        }
        w.writeVarint(UInt64(served.count))
        for key in served.keys.sorted() {
            w.write(key.user)
            w.write(key.campaign)
            let list = served[key]!
            w.writeVarint(UInt64(list.count))
            for e in list {
                w.write(e.at)
                w.write(e.id)
                w.write(e.won)
            }
        }
    }

    public init(from r: inout StateReader, version: UInt16) throws(StateFormatError) {
        let window = try r.readInt64(), frequency = try r.readInt64(), capacity = try r.readInt64()
        clicks = try ClickModel(from: &r)
        conversions = try ClickModel(from: &r)
        settings = BiddingSettings(
            attributionWindowMillis: window, frequencyWindowMillis: frequency, clicks: clicks.settings, conversions: conversions.settings,
            capacity: Int(clamping: capacity))
        lateNotices = try r.readInt64()
        evicted = try r.readInt64()
        for _ in 0..<(try r.readCount()) {
            let name = try r.readString()
            var c = CampaignLedger()
            c.day = try r.readInt32()
            var counts: [CampaignLedger.Counts] = []
            for _ in 0..<2 {
                counts.append(CampaignLedger.Counts(
                    bids: try r.readInt64(), wins: try r.readInt64(), spend: try r.readMoney(), clicks: try r.readInt64(), conversions: try r.readInt64()))
            }
            c.today = counts[0]
            c.total = counts[1]
            c.curve = try WinCurve(from: &r)
            if version >= 2 { c.market = try MarketPrices(from: &r) }
            campaigns[name] = c
        }
        for _ in 0..<(try r.readCount()) {
            let id = try r.readString()
            let campaign = try r.readString(), user = try r.readString()
            var features: [UInt64] = []
            for _ in 0..<(try r.readCount(elementSize: 8)) { features.append(try r.readUInt64()) }
            let cpm = try r.readMoney()
            let decidedAt = try r.readInt64(), end = try r.readInt64()
            let flags = try r.readUInt8()
            var b = OpenBid(campaign: campaign, user: user, features: features, cpm: cpm, decidedAt: decidedAt, due: end, firstPrice: flags & 1 != 0)
            (b.won, b.charged, b.clicked, b.converted) = (flags & 2 != 0, flags & 4 != 0, flags & 8 != 0, flags & 16 != 0)
            open[id] = b
            due.push(end, id)
        }
        for _ in 0..<(try r.readCount()) {
            let key = ServedKey(user: try r.readString(), campaign: try r.readString())
            var list: [(at: Int64, id: String, won: Bool)] = []
            for _ in 0..<(try r.readCount()) { list.append((try r.readInt64(), try r.readString(), try r.readBool())) }
            served[key] = list
        }
    }
}

extension BiddingLearner {
    public var gauges: [LearnerGauge] {
        campaigns.keys.sorted().flatMap { name -> [LearnerGauge] in
            let c = campaigns[name]!
            return [
                LearnerGauge("campaign_bids", Double(c.total.bids), labels: ["campaign": name]),
                LearnerGauge("campaign_wins", Double(c.total.wins), labels: ["campaign": name]),
                LearnerGauge("campaign_spend_today", c.today.spend.units, labels: ["campaign": name]),
                LearnerGauge("campaign_clicks", Double(c.total.clicks), labels: ["campaign": name]),
            ]
        }
    }

    public func summarize(into w: inout JSONWriter, top: Int) {
        w.beginObject()
        w.key("campaigns"); w.beginObject()
        for name in campaigns.keys.sorted().prefix(top) {
            let c = campaigns[name]!
            w.key(name); w.beginObject()
            w.key("day"); w.string(Day(daysSinceEpoch: c.day).description)
            for (label, counts) in [("today", c.today), ("total", c.total)] {
                w.key(label); w.beginObject()
                w.key("bids"); w.int(counts.bids)
                w.key("wins"); w.int(counts.wins)
                w.key("spend"); w.raw(counts.spend.description)
                w.key("clicks"); w.int(counts.clicks)
                w.key("conversions"); w.int(counts.conversions)
                w.endObject()
            }
            w.endObject()
        }
        w.endObject()
        w.key("click_model"); w.beginObject()
        w.key("examples"); w.int(clicks.examples)
        w.key("clicks"); w.int(clicks.positives)
        w.endObject()
        w.key("conversion_model"); w.beginObject()
        w.key("examples"); w.int(conversions.examples)
        w.key("conversions"); w.int(conversions.positives)
        w.endObject()
        w.key("open_bids"); w.int(Int64(open.count))
        w.key("late_notices"); w.int(lateNotices)
        w.key("evicted"); w.int(evicted)
        w.endObject()
    }
}

/// Open bids by the end of their window, then id: the order they settle in follows from
/// the events alone.
struct DueHeap: Sendable, Equatable {
    private var items: [(Int64, String)] = []

    static func == (a: DueHeap, b: DueHeap) -> Bool { a.items.count == b.items.count }

    func peek() -> (Int64, String)? { items.first }

    mutating func push(_ end: Int64, _ id: String) {
        items.append((end, id))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i] < items[parent] else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> (Int64, String)? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < items.count, items[l] < items[m] { m = l }
            if r < items.count, items[r] < items[m] { m = r }
            guard m != i else { break }
            items.swapAt(i, m)
            i = m
        }
        return top
    }
}
