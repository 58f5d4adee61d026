import Common
import Events

/// An OpenRTB 2.6 bid request (IAB Tech Lab, section 3.2.1), as much of it as a bidder
/// decides with: the impressions and their floors, where the ad would show (site or app),
/// the device and user, the auction type, the time allowed and the buyer's blocks.
/// Fields the bidder does not read, `ext` objects and fields of later versions are
/// accepted and ignored, as the specification asks of bidders; fields it reads are checked
/// for type and meaning, and an error names the first one that is wrong
/// (`OpenRTBError.field`, e.g. `imp[1].bidfloor`).
public struct BidRequest: Sendable, Equatable {
    /// Ad slots of one request are priced together but won apart.
    public static let maximumImpressions = 100

    public var id: String
    public var impressions: [BidImpression]
    /// Where the ad would show: a site or an app (never both).
    public var placement: BidPlacement?
    public var device: BidDevice?
    public var user: BidUser?
    /// 1: first price, 2: second price plus (the default); 500 and above are exchange-specific.
    public var auctionType: Int
    /// Milliseconds the exchange waits for the answer, network included.
    public var tmax: Int?
    /// Currencies the exchange accepts bids in (ISO 4217), in its order of preference.
    public var currencies: [String]
    /// Blocked advertiser categories (IAB content taxonomy) and advertiser domains.
    public var blockedCategories: [String]
    public var blockedAdvertisers: [String]
    /// A test request: no billing follows.
    public var test: Bool
    public var regulations: BidRegulations

    /// Reads a request body.
    public static func parse(_ bytes: [UInt8]) throws(OpenRTBError) -> BidRequest {
        let json: JSONValue
        do { json = try JSONValue.parse(bytes) } catch { throw OpenRTBError("request", "is not JSON: \(error.message)") }
        return try BidRequest(json)
    }

    /// Reads a parsed request.
    public init(_ json: JSONValue) throws(OpenRTBError) {
        let f = try Fields(json, "request")
        id = try f.requiredString("id")
        let imps = try f.objects("imp") ?? []
        guard !imps.isEmpty else { throw OpenRTBError("imp", "a request needs at least one impression") }
        guard imps.count <= Self.maximumImpressions else { throw OpenRTBError("imp", "at most \(Self.maximumImpressions) impressions, found \(imps.count)") }
        impressions = []
        for imp in imps {
            let i = try BidImpression(imp)
            guard !impressions.contains(where: { $0.id == i.id }) else { throw OpenRTBError(imp.path + ".id", "'\(i.id)' is the id of an earlier impression") }
            impressions.append(i)
        }
        let site = try f.object("site"), app = try f.object("app")
        if site != nil, app != nil { throw OpenRTBError("site", "a request describes a site or an app, not both") }
        if let site {
            placement = try BidPlacement(site, kind: .site)
        } else if let app {
            placement = try BidPlacement(app, kind: .app)
        } else {
            placement = nil
        }
        device = try f.object("device").map { (d) throws(OpenRTBError) in try BidDevice(d) }
        user = try f.object("user").map { (u) throws(OpenRTBError) in try BidUser(u) }
        auctionType = try f.int("at") ?? 2
        guard auctionType == 1 || auctionType == 2 || auctionType >= 500 else {
            throw OpenRTBError("at", "must be 1 (first price), 2 (second price) or 500 and above (exchange-specific), found \(auctionType)")
        }
        tmax = try f.int("tmax")
        if let t = tmax, t <= 0 { throw OpenRTBError("tmax", "must be a positive number of milliseconds, found \(t)") }
        currencies = try f.strings("cur") ?? []
        for (i, c) in currencies.enumerated() where !Money.isCurrencyCode(c) { throw OpenRTBError("cur[\(i)]", "must be an ISO 4217 code such as USD, found '\(clipped(c))'") }
        blockedCategories = try f.strings("bcat") ?? []
        blockedAdvertisers = try f.strings("badv") ?? []
        test = try f.flag("test") ?? false
        regulations = try f.object("regs").map { (r) throws(OpenRTBError) in try BidRegulations(r) } ?? BidRegulations()
    }
}

/// One ad slot (OpenRTB 2.6, 3.2.4): what may fill it and its floor.
public struct BidImpression: Sendable, Equatable {
    public var id: String
    public var banner: BidBanner?
    public var video: BidMedia?
    public var audio: BidMedia?
    /// The native ad request's markup (a JSON string in 2.6).
    public var native: String?
    /// The lowest bid accepted, in `floorCurrency`, CPM.
    public var floor: Double
    public var floorCurrency: String
    public var interstitial: Bool
    public var tagID: String?
    /// Whether the creative must be served over HTTPS (nil: unknown).
    public var secure: Bool?
    public var privateAuction: Bool
    public var deals: [BidDeal]

    init(_ f: Fields) throws(OpenRTBError) {
        id = try f.requiredString("id")
        banner = try f.object("banner").map { (b) throws(OpenRTBError) in try BidBanner(b) }
        video = try f.object("video").map { (v) throws(OpenRTBError) in try BidMedia(v) }
        audio = try f.object("audio").map { (a) throws(OpenRTBError) in try BidMedia(a) }
        native = try f.object("native").map { (n) throws(OpenRTBError) in try n.requiredString("request") }
        guard banner != nil || video != nil || audio != nil || native != nil else {
            throw OpenRTBError(f.path, "an impression offers at least one of banner, video, audio or native")
        }
        floor = try f.number("bidfloor") ?? 0
        guard floor >= 0 else { throw OpenRTBError(f.path + ".bidfloor", "must not be negative, found \(floor)") }
        floorCurrency = try f.string("bidfloorcur") ?? "USD"
        guard Money.isCurrencyCode(floorCurrency) else { throw OpenRTBError(f.path + ".bidfloorcur", "must be an ISO 4217 code such as USD, found '\(clipped(floorCurrency))'") }
        interstitial = try f.flag("instl") ?? false
        tagID = try f.string("tagid")
        secure = try f.flag("secure")
        let pmp = try f.object("pmp")
        privateAuction = try pmp?.flag("private_auction") ?? false
        deals = try (pmp?.objects("deals") ?? []).map { (d) throws(OpenRTBError) in try BidDeal(d) }
    }
}

/// A banner slot (3.2.6): its sizes, from `format` or the older `w` × `h`.
public struct BidBanner: Sendable, Equatable {
    public struct Size: Sendable, Hashable {
        public var width: Int
        public var height: Int
    }
    /// Sizes allowed, in the exchange's order (empty: none stated).
    public var sizes: [Size]
    /// Blocked creative attributes.
    public var blockedAttributes: [Int]
    /// Ad position on screen (0 unknown, 1 above the fold, 3 below…).
    public var position: Int?

    init(_ f: Fields) throws(OpenRTBError) {
        var sizes: [Size] = []
        for format in try f.objects("format") ?? [] {
            // A flexible format (wratio/hratio) has no fixed size to match creatives on.
            guard let w = try format.int("w"), let h = try format.int("h") else { continue }
            sizes.append(try Self.size(w, h, format.path))
        }
        let w = try f.int("w"), h = try f.int("h")
        if let w, let h, !sizes.contains(Size(width: w, height: h)) { sizes.append(try Self.size(w, h, f.path)) }
        self.sizes = sizes
        blockedAttributes = try f.ints("battr") ?? []
        position = try f.int("pos")
    }

    static func size(_ w: Int, _ h: Int, _ path: String) throws(OpenRTBError) -> Size {
        guard w > 0, h > 0 else { throw OpenRTBError(path, "a size is positive, found \(w) × \(h)") }
        return Size(width: w, height: h)
    }
}

/// A video or audio slot (3.2.7, 3.2.8): the formats and durations it plays.
public struct BidMedia: Sendable, Equatable {
    public var mimes: [String]
    /// Seconds.
    public var minimumDuration: Int?
    public var maximumDuration: Int?
    public var protocols: [Int]
    public var width: Int?
    public var height: Int?

    init(_ f: Fields) throws(OpenRTBError) {
        guard let mimes = try f.strings("mimes"), !mimes.isEmpty else { throw OpenRTBError(f.path + ".mimes", "is required: the content types the player takes") }
        self.mimes = mimes
        minimumDuration = try f.int("minduration")
        maximumDuration = try f.int("maxduration")
        if let lo = minimumDuration, let hi = maximumDuration, lo > hi {
            throw OpenRTBError(f.path + ".maxduration", "must not be below minduration (\(lo)), found \(hi)")
        }
        protocols = try f.ints("protocols") ?? []
        width = try f.int("w")
        height = try f.int("h")
    }
}

/// A private-marketplace deal (3.2.12).
public struct BidDeal: Sendable, Equatable {
    public var id: String
    public var floor: Double
    public var floorCurrency: String
    public var auctionType: Int?
    /// Buyer seats allowed (empty: any).
    public var seats: [String]

    init(_ f: Fields) throws(OpenRTBError) {
        id = try f.requiredString("id")
        floor = try f.number("bidfloor") ?? 0
        guard floor >= 0 else { throw OpenRTBError(f.path + ".bidfloor", "must not be negative, found \(floor)") }
        floorCurrency = try f.string("bidfloorcur") ?? "USD"
        guard Money.isCurrencyCode(floorCurrency) else { throw OpenRTBError(f.path + ".bidfloorcur", "must be an ISO 4217 code such as USD, found '\(clipped(floorCurrency))'") }
        auctionType = try f.int("at")
        seats = try f.strings("wseat") ?? []
    }
}

/// The site or app the ad would show in (3.2.13, 3.2.14).
public struct BidPlacement: Sendable, Equatable {
    public enum Kind: String, Sendable { case site, app }
    public var kind: Kind
    public var id: String?
    /// The site's domain, or the app's.
    public var domain: String?
    /// The app's bundle or store id.
    public var bundle: String?
    /// Content categories of the site or app, its section and page.
    public var categories: [String]
    public var page: String?
    public var publisherID: String?

    init(_ f: Fields, kind: Kind) throws(OpenRTBError) {
        self.kind = kind
        id = try f.string("id")
        domain = try f.string("domain")
        bundle = kind == .app ? try f.string("bundle") : nil
        var cats: [String] = []
        for key in ["cat", "sectioncat", "pagecat"] {
            for c in try f.strings(key) ?? [] where !cats.contains(c) { cats.append(c) }
        }
        categories = cats
        page = try f.string("page")
        publisherID = try f.object("publisher")?.string("id")
    }
}

/// The device (3.2.18) and where it is (3.2.19).
public struct BidDevice: Sendable, Equatable {
    public var userAgent: String?
    public var ip: String?
    /// 1 mobile or tablet, 2 personal computer, 3 connected TV, 4 phone, 5 tablet, 6
    /// connected device, 7 set-top box, 8 out-of-home (list 5.21).
    public var deviceType: Int?
    public var os: String?
    public var language: String?
    /// The advertising id.
    public var ifa: String?
    public var geo: BidGeo?
    /// Do not track (1) or limited ad tracking (1).
    public var doNotTrack: Bool
    public var limitedTracking: Bool

    init(_ f: Fields) throws(OpenRTBError) {
        userAgent = try f.string("ua")
        let v4 = try f.string("ip"), v6 = try f.string("ipv6")
        ip = v4 ?? v6
        deviceType = try f.int("devicetype")
        os = try f.string("os")
        language = try f.string("language")
        ifa = try f.string("ifa")
        geo = try f.object("geo").map { (g) throws(OpenRTBError) in try BidGeo(g) }
        doNotTrack = try f.flag("dnt") ?? false
        limitedTracking = try f.flag("lmt") ?? false
    }
}

public struct BidGeo: Sendable, Equatable {
    /// ISO 3166-1 alpha-3.
    public var country: String?
    /// ISO 3166-2.
    public var region: String?
    public var city: String?
    public var latitude: Double?
    public var longitude: Double?

    init(_ f: Fields) throws(OpenRTBError) {
        country = try f.string("country")
        region = try f.string("region")
        city = try f.string("city")
        latitude = try f.number("lat")
        longitude = try f.number("lon")
        if let lat = latitude, !(-90...90).contains(lat) { throw OpenRTBError(f.path + ".lat", "must be within −90…90, found \(lat)") }
        if let lon = longitude, !(-180...180).contains(lon) { throw OpenRTBError(f.path + ".lon", "must be within −180…180, found \(lon)") }
    }
}

/// The user (3.2.20): the exchange's id and the buyer's, for frequency caps.
public struct BidUser: Sendable, Equatable {
    public var id: String?
    public var buyerUID: String?
    public var geo: BidGeo?

    init(_ f: Fields) throws(OpenRTBError) {
        id = try f.string("id")
        buyerUID = try f.string("buyeruid")
        geo = try f.object("geo").map { (g) throws(OpenRTBError) in try BidGeo(g) }
    }
}

/// Regulations that apply (3.2.3): COPPA, GDPR (2.6's `regs.gdpr`, or 2.5's
/// `regs.ext.gdpr`), the US privacy string.
public struct BidRegulations: Sendable, Equatable {
    public var coppa = false
    public var gdpr: Bool?
    public var usPrivacy: String?

    public init() {}

    init(_ f: Fields) throws(OpenRTBError) {
        coppa = try f.flag("coppa") ?? false
        // 2.5 carried both in `ext`; the 2.6 fields win.
        let ext = try f.object("ext")
        let extGDPR = try ext?.flag("gdpr"), extPrivacy = try ext?.string("us_privacy")
        gdpr = try f.flag("gdpr") ?? extGDPR
        usPrivacy = try f.string("us_privacy") ?? extPrivacy
    }
}

/// Why a bid request is not valid OpenRTB, naming the field (a path such as
/// `imp[0].banner.w`).
public struct OpenRTBError: Error, Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var message: String

    public init(_ field: String, _ message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field) \(message)" }
}

/// An object's members with typed reads that name the field when its type is wrong.
struct Fields {
    let path: String
    private let members: [String: JSONValue]

    init(_ value: JSONValue, _ path: String) throws(OpenRTBError) {
        guard case .object(let m) = value else { throw OpenRTBError(path, "must be an object, found \(value.typeName)") }
        self.path = path
        var d: [String: JSONValue] = [:]
        for member in m { d[member.key] = member.value }
        members = d
    }

    private func at(_ key: String) -> String { path == "request" ? key : "\(path).\(key)" }

    /// A member that is absent or null reads as nil: exchanges send both.
    private func value(_ key: String) -> JSONValue? {
        guard let v = members[key], v != .null else { return nil }
        return v
    }

    func string(_ key: String) throws(OpenRTBError) -> String? {
        guard let v = value(key) else { return nil }
        guard case .string(let s) = v else { throw OpenRTBError(at(key), "must be a string, found \(v.typeName)") }
        return s
    }

    func requiredString(_ key: String) throws(OpenRTBError) -> String {
        guard let s = try string(key) else { throw OpenRTBError(at(key), "is required") }
        guard !s.isEmpty else { throw OpenRTBError(at(key), "must not be empty") }
        return s
    }

    func number(_ key: String) throws(OpenRTBError) -> Double? {
        guard let v = value(key) else { return nil }
        guard case .number(let x) = v, x.isFinite else { throw OpenRTBError(at(key), "must be a number, found \(v.typeName)") }
        return x
    }

    func int(_ key: String) throws(OpenRTBError) -> Int? {
        guard let x = try number(key) else { return nil }
        guard x == x.rounded(), abs(x) < 1e15 else { throw OpenRTBError(at(key), "must be an integer, found \(x)") }
        return Int(x)
    }

    /// OpenRTB's booleans are the integers 0 and 1.
    func flag(_ key: String) throws(OpenRTBError) -> Bool? {
        guard let x = try int(key) else { return nil }
        guard x == 0 || x == 1 else { throw OpenRTBError(at(key), "must be 0 or 1, found \(x)") }
        return x == 1
    }

    private func array(_ key: String) throws(OpenRTBError) -> [JSONValue]? {
        guard let v = value(key) else { return nil }
        guard case .array(let a) = v else { throw OpenRTBError(at(key), "must be an array, found \(v.typeName)") }
        return a
    }

    func strings(_ key: String) throws(OpenRTBError) -> [String]? {
        guard let a = try array(key) else { return nil }
        var out: [String] = []
        for (i, v) in a.enumerated() {
            guard case .string(let s) = v else { throw OpenRTBError("\(at(key))[\(i)]", "must be a string, found \(v.typeName)") }
            out.append(s)
        }
        return out
    }

    func ints(_ key: String) throws(OpenRTBError) -> [Int]? {
        guard let a = try array(key) else { return nil }
        var out: [Int] = []
        for (i, v) in a.enumerated() {
            guard case .number(let x) = v, x == x.rounded(), abs(x) < 1e15 else { throw OpenRTBError("\(at(key))[\(i)]", "must be an integer, found \(v.typeName)") }
            out.append(Int(x))
        }
        return out
    }

    func object(_ key: String) throws(OpenRTBError) -> Fields? {
        guard let v = value(key) else { return nil }
        return try Fields(v, at(key))
    }

    func objects(_ key: String) throws(OpenRTBError) -> [Fields]? {
        guard let a = try array(key) else { return nil }
        var out: [Fields] = []
        for (i, v) in a.enumerated() { out.append(try Fields(v, "\(at(key))[\(i)]")) }
        return out
    }
}
