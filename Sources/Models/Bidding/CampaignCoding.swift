import Events
import StateFormat

/// A campaign as the group's catalogue holds it: the settings and a version that an admin
/// change raises (0: as configured, never published).
public struct CampaignDefinition: Sendable, Equatable {
    /// 2 added the marketing-mix channel; version 1 records are still read.
    public static let stateVersion: UInt16 = 2
    public var campaign: Campaign
    public var version: Int64

    public init(campaign: Campaign, version: Int64) {
        self.campaign = campaign
        self.version = version
    }

    /// The state topic's record (`c/<campaign>`), sealed in an envelope.
    public func serialized() -> [UInt8] {
        var w = StateWriter()
        w.write(Self.stateVersion)
        let c = campaign
        w.write(c.id)
        w.writeVarint(UInt64(c.creatives.count))
        for cr in c.creatives {
            w.write(cr.id)
            switch cr.format {
            case .banner(let width, let height):
                w.write(UInt8(0))
                w.write(Int64(width))
                w.write(Int64(height))
            case .video: w.write(UInt8(1))
            case .native: w.write(UInt8(2))
            }
            w.write(cr.advertiserDomain)
            Self.write(cr.categories, &w)
        }
        Self.write(c.targeting.categories.sorted(), &w)
        Self.write(c.targeting.deviceTypes.sorted().map(String.init), &w)
        Self.write(c.targeting.countries.sorted(), &w)
        w.write(c.dailyBudget)
        w.write(c.currency)
        w.write(c.start ?? .min)
        w.write(c.end ?? .min)
        switch c.goal {
        case .perClick(let v):
            w.write(UInt8(0))
            w.write(v)
        case .perAction(let v):
            w.write(UInt8(1))
            w.write(v)
        }
        w.write(c.bidCap)
        w.write(Int64(c.frequencyCap?.impressions ?? 0))
        w.write(c.frequencyCap?.windowMillis ?? 0)
        w.write(c.strategy.rawValue)
        Self.write(c.blockedDomains.sorted(), &w)
        w.write(c.paused)
        w.writeVarint(UInt64(c.hourlyProfile?.count ?? 0))
        for x in c.hourlyProfile ?? [] { w.write(x) }
        w.write(c.channel ?? "")
        w.write(c.channelMarginalROI ?? -1)
        w.write(version)
        return Envelope.seal(w.bytes)
    }

    public init(serialized bytes: [UInt8]) throws(StateFormatError) {
        var r = StateReader(try Envelope.open(bytes))
        let recordVersion = try r.readUInt16()
        guard (1...Self.stateVersion).contains(recordVersion) else { throw StateFormatError("campaign record of version \(recordVersion); this build reads 1–\(Self.stateVersion)") }
        let id = try r.readString()
        var creatives: [Creative] = []
        for _ in 0..<(try r.readCount()) {
            let cid = try r.readString()
            let format: Creative.Format
            switch try r.readUInt8() {
            case 0: format = .banner(width: Int(try r.readInt64()), height: Int(try r.readInt64()))
            case 1: format = .video
            case 2: format = .native
            default: throw StateFormatError("campaign record: unknown creative format")
            }
            creatives.append(Creative(id: cid, format: format, advertiserDomain: try r.readString(), categories: try Self.strings(&r)))
        }
        let targeting = Targeting(
            categories: Set(try Self.strings(&r)), deviceTypes: Set(try Self.strings(&r).compactMap { Int($0) }), countries: Set(try Self.strings(&r)))
        let budget = try r.readMoney(), currency = try r.readString()
        let start = try r.readInt64(), end = try r.readInt64()
        let goal: CampaignGoal
        switch try r.readUInt8() {
        case 0: goal = .perClick(value: try r.readDouble())
        case 1: goal = .perAction(value: try r.readDouble())
        default: throw StateFormatError("campaign record: unknown goal")
        }
        let cap = try r.readDouble()
        let impressions = try r.readInt64(), window = try r.readInt64()
        guard let strategy = BidStrategy(rawValue: try r.readString()) else { throw StateFormatError("campaign record: unknown strategy") }
        let blocked = Set(try Self.strings(&r))
        let paused = try r.readBool()
        var profile: [Double] = []
        for _ in 0..<(try r.readCount(elementSize: 8)) { profile.append(try r.readDouble()) }
        guard profile.isEmpty || (profile.count == 24 && profile.allSatisfy { $0 >= 0 } && profile.reduce(0, +) > 0) else {
            throw StateFormatError("campaign record: a traffic profile of 24 weights, not all 0")
        }
        var channel = "", roi = -1.0
        if recordVersion >= 2 { (channel, roi) = (try r.readString(), try r.readDouble()) }
        guard roi == -1 || (roi.isFinite && roi >= 0) else { throw StateFormatError("campaign record: a channel's marginal ROI out of range") }
        campaign = Campaign(
            id: id, creatives: creatives, targeting: targeting, dailyBudget: budget, currency: currency, start: start == .min ? nil : start,
            end: end == .min ? nil : end, goal: goal, bidCap: cap,
            frequencyCap: impressions > 0 ? FrequencyCap(impressions: Int(impressions), windowMillis: window) : nil, strategy: strategy, blockedDomains: blocked,
            paused: paused, hourlyProfile: profile.isEmpty ? nil : profile, channel: channel.isEmpty ? nil : channel, channelMarginalROI: roi < 0 ? nil : roi)
        version = try r.readInt64()
    }

    private static func write(_ list: [String], _ w: inout StateWriter) {
        w.writeVarint(UInt64(list.count))
        for s in list { w.write(s) }
    }

    private static func strings(_ r: inout StateReader) throws(StateFormatError) -> [String] {
        var out: [String] = []
        for _ in 0..<(try r.readCount()) { out.append(try r.readString()) }
        return out
    }
}
