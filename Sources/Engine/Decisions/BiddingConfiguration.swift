import Bidding
import Events
import Stream
import Yams

/// The bidder: its campaigns, how bids are paced and what the partitions learn with.
public struct BiddingConfiguration: Sendable, Equatable {
    public var campaigns: [Campaign]
    /// `seatbid[].seat` in answers.
    public var seat: String
    /// Where exchanges send notices (`nurl`, `burl`, `lurl`): this process's advertised
    /// URL when empty.
    public var noticeURL: String
    public var pacer: SpendPacer
    /// The share of first-price bids moved around the shaded bid so the win curve keeps learning.
    public var exploration: Double
    /// Requests whose `tmax` is shorter are not bid on: the answer would come too late.
    public var minimumTmaxMillis: Int
    public var learning: BiddingSettings

    public init(
        campaigns: [Campaign] = [], seat: String = "arbiter", noticeURL: String = "", pacer: SpendPacer = SpendPacer(), exploration: Double = 0.05,
        minimumTmaxMillis: Int = 5, learning: BiddingSettings = BiddingSettings()
    ) {
        self.campaigns = campaigns
        self.seat = seat
        self.noticeURL = noticeURL
        self.pacer = pacer
        self.exploration = exploration
        self.minimumTmaxMillis = minimumTmaxMillis
        self.learning = learning
        self.learning.frequencyWindowMillis = max(learning.frequencyWindowMillis, campaigns.compactMap { $0.frequencyCap?.windowMillis }.max() ?? 0)
    }

    // MARK: YAML

    private static let keys: Set<String> = [
        "seat", "notice_url", "attribution_window_ms", "pacing_gain", "exploration", "minimum_tmax_ms", "base_ctr", "base_cvr", "campaigns",
    ]
    private static let campaignKeys: Set<String> = [
        "currency", "daily_budget", "goal", "bid_cap", "start", "end", "frequency_cap", "targeting", "blocked_domains", "strategy", "creatives", "paused",
        "traffic_profile", "channel",
    ]

    /// Reads the `bidding` mapping.
    static func parse(_ node: Node, source: String) throws(ConfigurationError) -> BiddingConfiguration {
        let at = "\(source): bidding"
        let f = try YAMLFields.fields(node, keys, at)
        var learning = BiddingSettings()
        learning.attributionWindowMillis = Int64(
            try YAMLFields.number(f["attribution_window_ms"], "\(at).attribution_window_ms", default: 30 * 60_000, in: 1000...(7 * 86_400_000), integer: true))
        learning.clicks.baseRate = try YAMLFields.number(f["base_ctr"], "\(at).base_ctr", default: learning.clicks.baseRate, in: 1e-6...0.5)
        learning.conversions.baseRate = try YAMLFields.number(f["base_cvr"], "\(at).base_cvr", default: learning.conversions.baseRate, in: 1e-7...0.5)
        guard case .mapping(let nodes)? = f["campaigns"], !nodes.isEmpty else { throw ConfigurationError("\(at).campaigns is required: campaign ids mapped to their settings") }
        var campaigns: [Campaign] = []
        for (k, v) in nodes {
            guard let id = k.string, SurfaceConfiguration.isName(id) else {
                throw ConfigurationError("\(at).campaigns: campaign id '\(k.string ?? "?")' must be 1–128 bytes of letters, digits, '_', '-' or '.'")
            }
            guard !campaigns.contains(where: { $0.id == id }) else { throw ConfigurationError("\(at).campaigns lists '\(id)' twice") }
            campaigns.append(try campaign(id, v, at: "\(at).campaigns.\(id)"))
        }
        let seat = f["seat"]?.scalar?.string ?? "arbiter"
        guard !seat.isEmpty, seat.utf8.count <= 64 else { throw ConfigurationError("\(at).seat must be 1–64 bytes") }
        let url = f["notice_url"]?.scalar?.string ?? ""
        guard url.isEmpty || url.hasPrefix("http://") || url.hasPrefix("https://") else { throw ConfigurationError("\(at).notice_url must be an http(s) URL") }
        return BiddingConfiguration(
            campaigns: campaigns, seat: seat, noticeURL: url.hasSuffix("/") ? String(url.dropLast()) : url,
            pacer: SpendPacer(gain: try YAMLFields.number(f["pacing_gain"], "\(at).pacing_gain", default: 400, in: 1...100_000)),
            exploration: try YAMLFields.number(f["exploration"], "\(at).exploration", default: 0.05, in: 0...1),
            minimumTmaxMillis: Int(try YAMLFields.number(f["minimum_tmax_ms"], "\(at).minimum_tmax_ms", default: 5, in: 0...10_000, integer: true)),
            learning: learning)
    }

    /// A campaign from a JSON (or YAML) object with the keys of `bidding.campaigns.<id>`:
    /// what the admin API takes to add or replace one.
    public static func campaign(_ id: String, text: String) throws(ConfigurationError) -> Campaign {
        guard SurfaceConfiguration.isName(id) else { throw ConfigurationError("campaign id '\(id)' must be 1–128 bytes of letters, digits, '_', '-' or '.'") }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch { throw ConfigurationError("the body is not a JSON object: \(error)") }
        guard let node else { throw ConfigurationError("the body is empty") }
        return try campaign(id, node, at: "campaign")
    }

    /// One campaign's settings.
    public static func campaign(_ id: String, _ node: Node, at: String) throws(ConfigurationError) -> Campaign {
        let f = try YAMLFields.fields(node, campaignKeys, at)
        guard let currency = f["currency"]?.scalar?.string, Money.isCurrencyCode(currency) else {
            throw ConfigurationError("\(at).currency is required (an ISO 4217 code such as USD)")
        }
        guard let budget = try YAMLFields.money(f["daily_budget"], "\(at).daily_budget"), budget > .zero else {
            throw ConfigurationError("\(at).daily_budget is required (an amount above 0 in the campaign's currency)")
        }
        guard let goalNode = f["goal"] else { throw ConfigurationError("\(at).goal is required: {cpc: value of a click} or {cpa: value of a conversion}") }
        let g = try YAMLFields.fields(goalNode, ["cpc", "cpa"], "\(at).goal")
        let goal: CampaignGoal
        switch (g["cpc"], g["cpa"]) {
        case (let c?, nil): goal = .perClick(value: try YAMLFields.number(c, "\(at).goal.cpc", default: 0, in: 1e-6...1e6))
        case (nil, let a?): goal = .perAction(value: try YAMLFields.number(a, "\(at).goal.cpa", default: 0, in: 1e-6...1e6))
        default: throw ConfigurationError("\(at).goal takes one of cpc or cpa")
        }
        let cap = try YAMLFields.number(f["bid_cap"], "\(at).bid_cap", default: .nan, in: 1e-6...1e6)
        guard !cap.isNaN else { throw ConfigurationError("\(at).bid_cap is required (the highest CPM bid)") }
        let start = try YAMLFields.time(f["start"], "\(at).start"), end = try YAMLFields.time(f["end"], "\(at).end")
        if let start, let end, end <= start { throw ConfigurationError("\(at): end must be after start") }
        var frequency: FrequencyCap?
        if let node = f["frequency_cap"] {
            let c = try YAMLFields.fields(node, ["impressions", "window_seconds"], "\(at).frequency_cap")
            let n = Int(try YAMLFields.number(c["impressions"], "\(at).frequency_cap.impressions", default: -1, in: 1...Double(BiddingLearner.maximumPerUser), integer: true))
            let w = Int64(try YAMLFields.number(c["window_seconds"], "\(at).frequency_cap.window_seconds", default: 86_400, in: 1...(30 * 86_400), integer: true))
            guard n > 0 else { throw ConfigurationError("\(at).frequency_cap.impressions is required") }
            frequency = FrequencyCap(impressions: n, windowMillis: w * 1000)
        }
        var targeting = Targeting.everything
        if let node = f["targeting"] {
            let t = try YAMLFields.fields(node, ["categories", "device_types", "countries"], "\(at).targeting")
            targeting.categories = Set(try YAMLFields.strings(t["categories"], "\(at).targeting.categories"))
            targeting.countries = Set(try YAMLFields.strings(t["countries"], "\(at).targeting.countries"))
            for s in try YAMLFields.strings(t["device_types"], "\(at).targeting.device_types") {
                guard let d = Int(s), (1...8).contains(d) else { throw ConfigurationError("\(at).targeting.device_types holds OpenRTB device types 1–8") }
                targeting.deviceTypes.insert(d)
            }
        }
        let strategyName = f["strategy"]?.scalar?.string ?? BidStrategy.paced.rawValue
        guard let strategy = BidStrategy(rawValue: strategyName) else {
            throw ConfigurationError("\(at).strategy must be one of \(BidStrategy.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard case .sequence(let list)? = f["creatives"], !list.isEmpty else { throw ConfigurationError("\(at).creatives is required: a list of ads") }
        var creatives: [Creative] = []
        for (i, node) in list.enumerated() {
            let cat = "\(at).creatives[\(i)]"
            let c = try YAMLFields.fields(node, ["id", "size", "format", "adomain", "categories"], cat)
            guard let cid = c["id"]?.scalar?.string, !cid.isEmpty, cid.utf8.count <= 64 else { throw ConfigurationError("\(cat).id is required (1–64 bytes)") }
            guard !creatives.contains(where: { $0.id == cid }) else { throw ConfigurationError("\(cat).id '\(cid)' is used twice") }
            guard let domain = c["adomain"]?.scalar?.string, !domain.isEmpty else { throw ConfigurationError("\(cat).adomain is required (the advertiser's domain)") }
            let format: Creative.Format
            switch (c["size"]?.scalar?.string, c["format"]?.scalar?.string) {
            case (let size?, nil), (let size?, "banner"):
                let parts = size.split(separator: "x").compactMap { Int($0) }
                guard parts.count == 2, parts.allSatisfy({ (1...10_000).contains($0) }) else { throw ConfigurationError("\(cat).size must be WIDTHxHEIGHT, e.g. 300x250") }
                format = .banner(width: parts[0], height: parts[1])
            case (nil, "video"): format = .video
            case (nil, "native"): format = .native
            default: throw ConfigurationError("\(cat): give a banner size (e.g. size: 300x250) or format: video or native")
            }
            creatives.append(Creative(id: cid, format: format, advertiserDomain: domain, categories: try YAMLFields.strings(c["categories"], "\(cat).categories")))
        }
        let paused = f["paused"]?.scalar.flatMap { Bool($0.string) } ?? false
        var profile: [Double]?
        if let node = f["traffic_profile"] {
            let weights = try YAMLFields.strings(node, "\(at).traffic_profile").compactMap { Double($0) }
            guard weights.count == 24, weights.allSatisfy({ $0 >= 0 && $0.isFinite }), weights.reduce(0, +) > 0 else {
                throw ConfigurationError("\(at).traffic_profile must be 24 weights (UTC hours 0–23), none negative, not all 0")
            }
            profile = weights
        }
        var channel: String?
        if let node = f["channel"] {
            guard let name = node.scalar?.string, !name.isEmpty, name.utf8.count <= 128 else {
                throw ConfigurationError("\(at).channel must be the name of a marketing-mix channel (1–128 bytes)")
            }
            channel = name
        }
        return Campaign(
            id: id, creatives: creatives, targeting: targeting, dailyBudget: budget, currency: currency, start: start, end: end, goal: goal, bidCap: cap,
            frequencyCap: frequency, strategy: strategy, blockedDomains: Set(try YAMLFields.strings(f["blocked_domains"], "\(at).blocked_domains")), paused: paused,
            hourlyProfile: profile, channel: channel)
    }
}
