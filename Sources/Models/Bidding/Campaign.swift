import Common
import Events

/// What a campaign pays for, and what one is worth to it.
public enum CampaignGoal: Sendable, Equatable {
    /// Cost per click: a click is worth `value`.
    case perClick(value: Double)
    /// Cost per action: a conversion is worth `value`.
    case perAction(value: Double)

    public var value: Double {
        switch self {
        case .perClick(let v), .perAction(let v): v
        }
    }
}

/// An ad a campaign can show.
public struct Creative: Sendable, Equatable {
    public enum Format: Sendable, Equatable {
        case banner(width: Int, height: Int)
        case video
        case native
    }
    public var id: String
    public var format: Format
    /// The advertiser's domain, answered as `adomain` and checked against `badv`.
    public var advertiserDomain: String
    /// The ad's IAB content categories, answered as `cat` and checked against `bcat`.
    public var categories: [String]

    public init(id: String, format: Format, advertiserDomain: String, categories: [String] = []) {
        self.id = id
        self.format = format
        self.advertiserDomain = advertiserDomain
        self.categories = categories
    }

    /// Whether the creative can fill `imp`: a banner of one of its sizes, or video or
    /// native when it offers them.
    public func fits(_ imp: BidImpression) -> Bool {
        switch format {
        case .banner(let w, let h): imp.banner?.sizes.contains(BidBanner.Size(width: w, height: h)) ?? false
        case .video: imp.video != nil
        case .native: imp.native != nil
        }
    }
}

/// Which requests a campaign bids on: simple matches on request fields, each empty set
/// matching everything.
public struct Targeting: Sendable, Equatable {
    /// Site or app content categories (any one of them).
    public var categories: Set<String>
    /// OpenRTB device types (list 5.21).
    public var deviceTypes: Set<Int>
    /// ISO 3166-1 alpha-3 countries of the device (or, without one, the user).
    public var countries: Set<String>

    public init(categories: Set<String> = [], deviceTypes: Set<Int> = [], countries: Set<String> = []) {
        self.categories = categories
        self.deviceTypes = deviceTypes
        self.countries = countries
    }

    public static let everything = Targeting()

    public func matches(_ r: BidRequest) -> Bool {
        if !categories.isEmpty, !(r.placement?.categories.contains(where: categories.contains) ?? false) { return false }
        if !deviceTypes.isEmpty, !(r.device?.deviceType.map(deviceTypes.contains) ?? false) { return false }
        if !countries.isEmpty, !(r.country.map(countries.contains) ?? false) { return false }
        return true
    }
}

/// At most `impressions` of a campaign's ads per user within `windowMillis`.
public struct FrequencyCap: Sendable, Equatable {
    public var impressions: Int
    public var windowMillis: Int64
    public init(impressions: Int, windowMillis: Int64) {
        self.impressions = impressions
        self.windowMillis = windowMillis
    }
}

/// How a campaign turns an impression's value into its bid.
public enum BidStrategy: String, Sendable, CaseIterable {
    /// Value / (1 + μ), μ from spend against the day's plan (`SpendPacer`).
    case paced
    /// The whole value, until the budget is spent.
    case truthful
    /// Reinforcement-learning bidding (`BiddingValues`, Cai et al.) in second-price
    /// auctions, on the market prices and goal rates learnt so far, never above the value;
    /// paced until it has learnt enough, and in first-price auctions.
    case rl
}

/// An advertiser's campaign: its creatives, whom it targets, what it may spend per day
/// and what it pays for.
public struct Campaign: Sendable, Equatable {
    public var id: String
    public var creatives: [Creative]
    public var targeting: Targeting
    /// Spend per UTC day, in `currency`.
    public var dailyBudget: Money
    /// ISO 4217: bids are made only in requests that accept it, against floors in it.
    public var currency: String
    /// The flight (epoch milliseconds, nil: open-ended).
    public var start: Int64?
    public var end: Int64?
    public var goal: CampaignGoal
    /// The highest bid, CPM in `currency`.
    public var bidCap: Double
    public var frequencyCap: FrequencyCap?
    public var strategy: BidStrategy
    /// The site or app domains it never bids on.
    public var blockedDomains: Set<String>
    /// Paused at run time through the admin API.
    public var paused: Bool
    /// The share of a day's traffic in each UTC hour (24 weights), which the plan spends
    /// the budget by; nil: evenly over the day.
    public var hourlyProfile: [Double]?
    /// The marketing-mix channel the campaign buys, nil: none.
    public var channel: String?
    /// The channel's posterior mean marginal ROI in the marketing-mix priors file last
    /// applied, nil until a file names the channel.
    public var channelMarginalROI: Double?

    /// What a click (or a conversion) is worth to the campaign: the goal's value, times
    /// its channel's marginal ROI once a marketing-mix refit has given one — a click
    /// bought at the goal's cost returns that cost × the marginal ROI in the model's KPI,
    /// so bids rise on channels that return more than they cost at the margin and fall on
    /// those that return less.
    public var goalValue: Double { goal.value * (channelMarginalROI ?? 1) }

    public init(
        id: String, creatives: [Creative], targeting: Targeting = .everything, dailyBudget: Money, currency: String, start: Int64? = nil, end: Int64? = nil,
        goal: CampaignGoal, bidCap: Double, frequencyCap: FrequencyCap? = nil, strategy: BidStrategy = .paced, blockedDomains: Set<String> = [],
        paused: Bool = false, hourlyProfile: [Double]? = nil, channel: String? = nil, channelMarginalROI: Double? = nil
    ) {
        precondition(channelMarginalROI.map { $0.isFinite && $0 >= 0 } ?? true, "a marginal ROI is finite and not negative")
        self.channel = channel
        self.channelMarginalROI = channelMarginalROI
        precondition(hourlyProfile.map { $0.count == 24 && $0.allSatisfy { $0 >= 0 } && $0.reduce(0, +) > 0 } ?? true, "24 weights, not all 0")
        self.hourlyProfile = hourlyProfile
        self.id = id
        self.creatives = creatives
        self.targeting = targeting
        self.dailyBudget = dailyBudget
        self.currency = currency
        self.start = start
        self.end = end
        self.goal = goal
        self.bidCap = bidCap
        self.frequencyCap = frequencyCap
        self.strategy = strategy
        self.blockedDomains = blockedDomains
        self.paused = paused
    }

    /// The share of today's budget the plan has spent by `now`: the traffic profile's (or
    /// the clock's) share of the part of the UTC day the flight covers that has gone by.
    public func planShare(at now: Int64) -> Double {
        let day: Int64 = 86_400_000
        let dayStart = now - now % day
        let from = max(dayStart, start ?? dayStart), to = min(dayStart + day, end ?? .max)
        guard to > from else { return 1 }
        let t = min(max(now, from), to)
        guard let profile = hourlyProfile else { return Double(t - from) / Double(to - from) }
        // The profile's weight from the day's start to `x`, piecewise constant per hour.
        func weight(_ x: Int64) -> Double {
            let hours = Int((x - dayStart) / 3_600_000)
            let full = profile.prefix(hours).reduce(0, +)
            return hours < 24 ? full + profile[hours] * Double((x - dayStart) % 3_600_000) / 3_600_000 : full
        }
        let total = weight(to) - weight(from)
        guard total > 0 else { return Double(t - from) / Double(to - from) }
        return min(1, max(0, (weight(t) - weight(from)) / total))
    }

    /// Whether the campaign runs at `now` (flight and pause).
    public func running(at now: Int64) -> Bool {
        !paused && (start.map { now >= $0 } ?? true) && (end.map { now < $0 } ?? true)
    }

    /// Whether the request as a whole admits the campaign: targeting, currency, the
    /// buyer's blocks and the campaign's own.
    public func admits(_ r: BidRequest) -> Bool {
        guard targeting.matches(r) else { return false }
        // OpenRTB: a request without `cur` is in USD.
        guard r.currencies.isEmpty ? currency == "USD" : r.currencies.contains(currency) else { return false }
        if let domain = r.placement?.domain, blockedDomains.contains(domain) { return false }
        return true
    }
}

extension BidRequest {
    /// The device's country, else the user's.
    public var country: String? { device?.geo?.country ?? user?.geo?.country }

    /// Whom the request is for, for frequency caps and the partition of its log: the
    /// buyer's id for the user, the exchange's, else the device's advertising id.
    public var userKey: String? {
        for candidate in [user?.buyerUID, user?.id, device?.ifa] {
            if let c = candidate, !c.isEmpty, c.utf8.count <= 256 { return c }
        }
        return nil
    }

    /// The request's features for the click model as (name with "=", value) pairs — the
    /// feature is `name + value`, hashed by `ClickModel` —: where the ad shows, on what,
    /// where, and the slot; a campaign adds its own (`Campaign.forEachFeature(in:)`). Made
    /// once per impression: a bid hashes them, and its log record writes them without
    /// joining.
    public func featurePairs(of imp: BidImpression) -> [(name: String, value: String)] {
        var f: [(name: String, value: String)] = []
        forEachFeature(of: imp) { name, value in f.append((name, value)) }
        return f
    }

    /// Each feature as its name (with "=") and value, the one list every form reads (the
    /// logged bid writes them without joining the two).
    public func forEachFeature(of imp: BidImpression, _ body: (String, String) -> Void) {
        if let p = placement {
            body("kind=", p.kind.rawValue)
            if let d = p.domain ?? p.bundle { body("domain=", d) }
            if let pub = p.publisherID { body("publisher=", pub) }
            for c in p.categories.prefix(4) { body("cat=", c) }
        }
        if let t = device?.deviceType { body("device=", String(t)) }
        if let os = device?.os { body("os=", os) }
        if let c = country { body("country=", c) }
        if let b = imp.banner, let s = b.sizes.first { body("size=", "\(s.width)x\(s.height)") }
        if imp.video != nil { body("video=", "1") }
        if imp.native != nil { body("native=", "1") }
        if imp.interstitial { body("interstitial=", "1") }
    }
}

extension Campaign {
    /// The campaign's own features: itself, and itself where the ad shows, so that each
    /// campaign's rate can differ by placement.
    public func forEachFeature(in r: BidRequest, _ body: (String, String) -> Void) {
        body("campaign=", id)
        if let d = r.placement?.domain ?? r.placement?.bundle { body("campaign×domain=", id + "|" + d) }
    }
}

/// The hashes of a campaign's own features (`Campaign.forEachFeature(in:)`), made once: the
/// request's domain completes the second, so pricing a request makes no string.
public struct CampaignFeatureHashes: Sendable {
    public let own: UInt64
    private let crossPrefix: UInt64

    public init(_ c: Campaign) {
        own = ClickModel.hash("campaign=" + c.id)
        crossPrefix = ClickModel.hash("campaign×domain=" + c.id + "|")
    }

    /// The hash of the campaign × `domain` feature.
    public func cross(domain d: String) -> UInt64 { ClickModel.hash(d, from: crossPrefix) }
}

extension BidImpression {
    /// Where a bid from `seat` may go: the open auction (nil deal) at the impression's
    /// floor, or, in a private auction, only the first deal open to the seat at its floor;
    /// nil when neither admits it.
    public func market(for seat: String) -> (deal: BidDeal?, floor: Double, currency: String)? {
        let deal = deals.first { $0.seats.isEmpty || $0.seats.contains(seat) }
        if privateAuction {
            guard let deal else { return nil }
            return (deal, deal.floor, deal.floorCurrency)
        }
        return (nil, floor, floorCurrency)
    }
}

/// Why no bid was made, as OpenRTB's no-bid reason codes (list 5.24; 500 and above are
/// this bidder's own).
public enum NoBidReason: Int, Sendable, CaseIterable {
    case invalidRequest = 2
    case dailyUserCap = 9
    case insufficientTime = 15
    /// No running campaign targets the request or has a creative for its slots.
    case noCampaign = 500
    /// Every matching campaign has spent its day's budget.
    case budgetSpent = 501
    /// Every bid was below the floor (or the pacing shadow price priced it out).
    case belowFloor = 502
    /// The impressions are private auctions whose deals do not admit this seat.
    case privateAuction = 503

    public var explanation: String {
        switch self {
        case .invalidRequest: "the request is not valid OpenRTB"
        case .dailyUserCap: "every matching campaign has reached its frequency cap for this user"
        case .insufficientTime: "tmax leaves too little time to answer"
        case .noCampaign: "no running campaign targets this request or has a creative for its impressions"
        case .budgetSpent: "every matching campaign has spent its daily budget"
        case .belowFloor: "no bid reached the floor"
        case .privateAuction: "the impressions are private auctions whose deals do not admit this seat"
        }
    }
}
