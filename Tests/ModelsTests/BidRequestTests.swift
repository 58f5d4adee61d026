import Common
import Foundation
import Testing

@testable import Bidding

/// OpenRTB 2.6 bid requests: the specification's examples (read from ../shared/data/openrtb,
/// OpenRTB 2.6, IAB Tech Lab) parse, and a request that is not valid OpenRTB is refused
/// with the field that is wrong.
@Suite struct BidRequestTests {
    static let examples: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path + "/../shared/data/openrtb"
    }()

    static func example(_ prefix: String) throws -> [UInt8] {
        let names = try FileManager.default.contentsOfDirectory(atPath: examples).filter { $0.hasPrefix(prefix) }
        let name = try #require(names.first, "no \(prefix)* in \(examples)")
        return Array(try Data(contentsOf: URL(fileURLWithPath: examples + "/" + name)))
    }

    @Test func everyExampleRequestOfTheSpecificationParses() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.examples).filter { $0.contains("-request-") }.sorted()
        #expect(names.count == 5, "\(names)")
        for name in names {
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: Self.examples + "/" + name)))
            let r = try BidRequest.parse(bytes)
            #expect(!r.id.isEmpty && !r.impressions.isEmpty && r.placement != nil, "\(name)")
        }
    }

    @Test func theExamplesReadAsTheSpecificationMeansThem() throws {
        let banner = try BidRequest.parse(try Self.example("6.2.1"))
        #expect(banner.auctionType == 1 && banner.tmax == nil && banner.currencies == ["USD"] && banner.impressions.count == 1)
        #expect(banner.impressions[0].banner?.sizes == [.init(width: 300, height: 250)] && banner.impressions[0].floor == 0.03)
        #expect(banner.impressions[0].floorCurrency == "USD" && banner.placement?.kind == .site)

        let mobile = try BidRequest.parse(try Self.example("6.2.3"))
        #expect(mobile.placement?.kind == .app && mobile.placement?.bundle == "12345")
        #expect(mobile.placement?.categories == ["IAB15", "IAB15-10"] && mobile.device?.deviceType == 1 && mobile.device?.os == "iOS")
        #expect(mobile.blockedCategories.count == 5 && mobile.blockedAdvertisers == ["apple.com", "go-text.me", "heywire.com"])
        #expect(mobile.impressions[0].banner?.sizes == [.init(width: 728, height: 90)] && mobile.impressions[0].floor == 0.5)
        #expect(mobile.user?.id == "ffffffd5135596709273b3a1a07e466ea2bf4fff")

        let video = try BidRequest.parse(try Self.example("6.2.4"))
        let v = try #require(video.impressions[0].video)
        #expect(v.mimes == ["video/x-flv", "video/mp4", "application/javascript"] && v.minimumDuration == 5 && v.maximumDuration == 30)
        #expect(video.impressions[0].banner == nil && video.user?.buyerUID == "545678765467876567898765678987654")

        let deal = try BidRequest.parse(try Self.example("6.2.5"))
        #expect(deal.auctionType == 1 && deal.currencies == ["USD"] && deal.impressions[0].privateAuction)
        #expect(deal.impressions[0].deals.map(\.id) == ["AB-Agency1-0001", "XY-Agency2-0001"] && deal.impressions[0].deals[0].floor == 2.5)
        #expect(deal.impressions[0].deals[1].auctionType == 2 && deal.impressions[0].deals[0].seats == ["Agency1"])
    }

    static let minimal = #"{"id":"r1","imp":[{"id":"1","banner":{"w":300,"h":250}}],"site":{"id":"s"}}"#

    @Test func fieldsOfLaterVersionsExtAndNullsAreIgnored() throws {
        let r = try BidRequest.parse(Array(#"{"id":"r1","imp":[{"id":"1","banner":{"format":[{"w":300,"h":250},{"wratio":16,"hratio":9}],"w":null},"ext":{"x":[1,{"y":2}]},"rwdd":1,"qty":{"multiplier":2}}],"site":{"id":"s","ext":{}},"dooh":null,"regs":{"ext":{"gdpr":1}},"future":{"anything":true}}"#.utf8))
        #expect(r.impressions[0].banner?.sizes == [.init(width: 300, height: 250)] && r.regulations.gdpr == true)
    }

    @Test(arguments: [
        (#"[]"#, "request", "must be an object"),
        (#"{"imp":[{"id":"1","banner":{}}]}"#, "id", "is required"),
        (#"{"id":7,"imp":[{"id":"1","banner":{}}]}"#, "id", "must be a string, found a number"),
        (#"{"id":"r"}"#, "imp", "at least one impression"),
        (#"{"id":"r","imp":[]}"#, "imp", "at least one impression"),
        (#"{"id":"r","imp":{"id":"1"}}"#, "imp", "must be an array"),
        (#"{"id":"r","imp":[{"banner":{}}]}"#, "imp[0].id", "is required"),
        (#"{"id":"r","imp":[{"id":"1","banner":{}},{"id":"1","banner":{}}]}"#, "imp[1].id", "earlier impression"),
        (#"{"id":"r","imp":[{"id":"1"}]}"#, "imp[0]", "at least one of banner, video, audio or native"),
        (#"{"id":"r","imp":[{"id":"1","banner":{},"bidfloor":"0.5"}]}"#, "imp[0].bidfloor", "must be a number, found a string"),
        (#"{"id":"r","imp":[{"id":"1","banner":{},"bidfloor":-1}]}"#, "imp[0].bidfloor", "must not be negative"),
        (#"{"id":"r","imp":[{"id":"1","banner":{},"bidfloorcur":"usd"}]}"#, "imp[0].bidfloorcur", "ISO 4217"),
        (#"{"id":"r","imp":[{"id":"1","banner":{"w":0,"h":250}}]}"#, "imp[0].banner", "a size is positive"),
        (#"{"id":"r","imp":[{"id":"1","banner":{"format":[{"w":300,"h":2.5}]}}]}"#, "imp[0].banner.format[0].h", "must be an integer"),
        (#"{"id":"r","imp":[{"id":"1","video":{"w":640}}]}"#, "imp[0].video.mimes", "is required"),
        (#"{"id":"r","imp":[{"id":"1","video":{"mimes":["video/mp4"],"minduration":30,"maxduration":5}}]}"#, "imp[0].video.maxduration", "below minduration"),
        (#"{"id":"r","imp":[{"id":"1","native":{"ver":"1.2"}}]}"#, "imp[0].native.request", "is required"),
        (#"{"id":"r","imp":[{"id":"1","banner":{},"pmp":{"deals":[{"bidfloor":1}]}}]}"#, "imp[0].pmp.deals[0].id", "is required"),
        (#"{"id":"r","imp":[{"id":"1","banner":{},"instl":2}]}"#, "imp[0].instl", "must be 0 or 1"),
        (#"{"id":"r","imp":[{"id":"1","banner":{"battr":["x"]}}]}"#, "imp[0].banner.battr[0]", "must be an integer"),
        (#"{"id":"r","imp":[{"id":"1","banner":{}}],"site":{},"app":{}}"#, "site", "not both"),
        (#"{"id":"r","imp":[{"id":"1","banner":{}}],"at":3}"#, "at", "must be 1 (first price)"),
        (#"{"id":"r","imp":[{"id":"1","banner":{}}],"tmax":0}"#, "tmax", "positive"),
        (#"{"id":"r","imp":[{"id":"1","banner":{}}],"cur":["USD","euro"]}"#, "cur[1]", "ISO 4217"),
        (#"{"id":"r","imp":[{"id":"1","banner":{}}],"bcat":"IAB25"}"#, "bcat", "must be an array"),
        (#"{"id":"r","imp":[{"id":"1","banner":{}}],"device":{"geo":{"lat":91}}}"#, "device.geo.lat", "within −90…90"),
        (#"{"id":"r","imp":[{"id":"1","banner":{}}],"site":{"publisher":"p"}}"#, "site.publisher", "must be an object"),
        (#"{"id":"r","imp":[{"id":"1","banner":{}}],"regs":{"coppa":true}}"#, "regs.coppa", "must be a number, found a boolean"),
        (#"{"id":"r","imp":[{"id":"1","banner":{}}]"#, "request", "is not JSON"),
    ])
    func anInvalidRequestIsRefusedNamingTheField(body: String, field: String, message: String) {
        do {
            let r = try BidRequest.parse(Array(body.utf8))
            Issue.record("accepted \(body): \(r)")
        } catch {
            #expect(error.field == field && error.message.contains(message), "\(body): \(error)")
        }
    }

    @Test func tooManyImpressionsAreRefused() {
        let imps = (0...BidRequest.maximumImpressions).map { #"{"id":"\#($0)","banner":{}}"# }.joined(separator: ",")
        #expect(throws: OpenRTBError("imp", "at most 100 impressions, found 101")) { try BidRequest.parse(Array(#"{"id":"r","imp":[\#(imps)]}"#.utf8)) }
    }

    /// Mutations of the examples (bytes cut, changed or inserted, members dropped or
    /// retyped) either parse or are refused with an error; none crashes.
    @Test func mutatedExamplesParseOrAreRefusedNeverCrash() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.examples).filter { $0.contains("-request-") }.sorted()
        let seeds = try names.map { Array(try Data(contentsOf: URL(fileURLWithPath: Self.examples + "/" + $0))) }
        var random = SeededRandom(seed: 2026)
        let replacements: [[UInt8]] = ["null", "[]", "{}", "\"x\"", "-1", "1e400", "0.5", "true", "[1,\"a\"]"].map { Array($0.utf8) }
        var parsed = 0, refused = 0
        for _ in 0..<20_000 {
            var b = seeds[Int(random.unit() * Double(seeds.count))]
            switch Int(random.unit() * 4) {
            case 0: b = Array(b.prefix(Int(random.unit() * Double(b.count))))
            case 1: b[Int(random.unit() * Double(b.count))] = UInt8(random.unit() * 256)
            case 2:
                // A value after some colon replaced by another type's.
                let colons = b.indices.filter { b[$0] == UInt8(ascii: ":") }
                let at = colons[Int(random.unit() * Double(colons.count))] + 1
                var end = at
                while end < b.count, b[end] != UInt8(ascii: ","), b[end] != UInt8(ascii: "}"), b[end] != UInt8(ascii: "]") { end += 1 }
                b.replaceSubrange(at..<end, with: replacements[Int(random.unit() * Double(replacements.count))])
            default: b.insert(contentsOf: replacements[Int(random.unit() * Double(replacements.count))], at: Int(random.unit() * Double(b.count)))
            }
            do {
                _ = try BidRequest.parse(b)
                parsed += 1
            } catch {
                #expect(!error.field.isEmpty && !error.message.isEmpty)
                refused += 1
            }
        }
        #expect(parsed > 1_000 && refused > 1_000, "both outcomes are exercised: \(parsed) parsed, \(refused) refused")
    }
}
