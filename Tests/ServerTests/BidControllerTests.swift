import Bidding
import Common
import Engine
import Events
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import Server

/// `POST /v1/bid` answers OpenRTB 2.6 as `docs/openapi.yaml` says (every answer checked
/// against it), no bid as 204 with its reason, bad requests as 400 naming the field; the
/// notices become `bid_outcome` events in the partition of the bid's user.
@Suite struct BidControllerTests {
    static let bidding = BiddingConfiguration(
        campaigns: [
            Campaign(
                id: "network", creatives: [Creative(id: "mrec", format: .banner(width: 300, height: 250), advertiserDomain: "shoes.example", categories: ["IAB18"])],
                dailyBudget: Money(units: 100)!, currency: "USD", goal: .perClick(value: 0.5), bidCap: 4),
            Campaign(
                id: "video", creatives: [Creative(id: "v15", format: .video, advertiserDomain: "cars.example")], dailyBudget: Money(units: 50)!, currency: "USD",
                goal: .perAction(value: 20), bidCap: 12, frequencyCap: FrequencyCap(impressions: 1, windowMillis: 3_600_000)),
        ],
        noticeURL: "http://bidder.example")

    func withServer(_ body: @Sendable (DecisionControllerTests.Client, InProcessEngine, QueuedRewards, any TestClientProtocol) async throws -> Void) async throws {
        let doc = try OpenAPIDocument()
        let engine = try InProcessEngine(surfaces: [], bidding: Self.bidding, partitions: 4, seed: 1, instance: "http", logger: Logger(label: "test"))
        let notices = QueuedRewards()
        let router = Router()
        BidController(service: engine.bids, maxBodyBytes: 16_384, noticeURL: "http://bidder.example", instance: "http", adminToken: "s3cret") { e, p in
            notices.events.withLock { $0.append((e, p)) }
        }.register(on: router)
        try await Application(router: router).test(.router) { client in
            try await body(DecisionControllerTests.Client(client: client, doc: doc), engine, notices, client)
        }
    }

    static func example(_ prefix: String) throws -> String {
        let dir = repositoryRoot + "/../shared/data/openrtb"
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: dir).first { $0.hasPrefix(prefix) && $0.contains("-request-") })
        return try String(contentsOfFile: dir + "/" + name, encoding: .utf8)
    }

    @Test func aBidIsAnOpenRTBResponseWithNoticeURLsAndItsNoticesBecomeEvents() async throws {
        try await withServer { c, engine, notices, _ in
            let a = try await c.call(.post, "/v1/bid", json: try Self.example("6.2.1"), expect: .ok)
            #expect(a["id"] as? String == "80ce30c53c16e6ede735f123ef6e32361bfc7b22" && a["cur"] as? String == "USD")
            let bid = try #require(((a["seatbid"] as? [[String: Any]])?.first?["bid"] as? [[String: Any]])?.first)
            #expect(bid["impid"] as? String == "1" && bid["crid"] as? String == "mrec" && bid["adomain"] as? [String] == ["shoes.example"])
            #expect((bid["price"] as? Double ?? 0) >= 0.03 && (bid["price"] as? Double ?? 99) <= 4 && bid["w"] as? Double == 300)
            let id = try #require(bid["id"] as? String)
            let nurl = try #require(bid["nurl"] as? String)
            #expect(nurl.hasPrefix("http://bidder.example/v1/bid/notice/win?bid=") && nurl.hasSuffix("&price=${AUCTION_PRICE}"))
            #expect((bid["lurl"] as? String)?.contains("/v1/bid/notice/loss?") == true && (bid["burl"] as? String)?.contains("/billing?") == true)
            #expect(engine.pendingRecords == 1)
            // The exchange replaces the macro and calls the URL.
            let win = String(nurl.dropFirst("http://bidder.example".count)).replacingOccurrences(of: "${AUCTION_PRICE}", with: "1.25")
            try await c.call(.get, win, route: "/v1/bid/notice/{kind}", expect: .noContent)
            let click = try #require((bid["ext"] as? [String: Any])?["click_url"] as? String)
            try await c.call(.get, String(click.dropFirst("http://bidder.example".count)), route: "/v1/bid/notice/{kind}", expect: .noContent)
            let events = notices.events.withLock { $0 }
            let user = "55816b39711f9b5acf3b90e313ed29e51665623f"
            #expect(events.count == 2 && events.allSatisfy { $0.1 == engine.routing.partition(of: user) })
            guard events.count == 2, case .bidOutcome(let w) = events[0].0.body, case .bidOutcome(let k) = events[1].0.body else { return }
            #expect(w == BidOutcome(auctionID: id, won: true, clearingPrice: Money(units: 1.25), user: user, notice: .win))
            #expect(k.click && k.notice == .click && k.clearingPrice == nil && k.auctionID == id)
        }
    }

    @Test func noBidIs204WithTheOpenRTBReasonInAHeader() async throws {
        try await withServer { c, _, _, client in
            let body = #"{"id":"r","imp":[{"id":"1","banner":{"w":1,"h":1}}],"site":{"id":"s"}}"#
            try await client.execute(uri: "/v1/bid", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body)) { r in
                #expect(r.status == .noContent && r.body.readableBytes == 0)
                #expect(r.headers[HTTPField.Name("X-OpenRTB-NBR")!] == "500" && r.headers[HTTPField.Name("X-Arbiter-No-Bid")!]?.contains("no running campaign") == true)
            }
            try await c.call(.post, "/v1/bid", json: try Self.example("6.2.5"), expect: .noContent)
        }
    }

    @Test(arguments: [
        (#"{"imp":[{"id":"1","banner":{}}]}"#, "id: is required"),
        (#"{"id":"r","imp":[]}"#, "imp: a request needs at least one impression"),
        (#"{"id":"r","imp":[{"id":"1","banner":{},"bidfloor":-1}]}"#, "imp[0].bidfloor"),
        (#"{"id":"r","imp":[{"id":"1","banner":{}}],"cur":["dollars"]}"#, "cur[0]"),
        (#"not json"#, "is not JSON"),
    ])
    func anInvalidRequestGets400NamingTheField(body: String, reason: String) async throws {
        try await withServer { c, engine, _, _ in
            let a = try await c.call(.post, "/v1/bid", json: body, expect: .badRequest)
            #expect((a["error"] as? String)?.contains(reason) == true, "\(a)")
            #expect(engine.pendingRecords == 0)
        }
    }

    @Test(arguments: [
        ("/v1/bid/notice/won?bid=b&user=u", HTTPResponse.Status.notFound, "no notice 'won'"),
        ("/v1/bid/notice/win?bid=b&user=u", .badRequest, "needs 'price'"),
        ("/v1/bid/notice/win?bid=b&user=u&price=${AUCTION_PRICE}", .badRequest, "was the ${AUCTION_PRICE} macro replaced"),
        ("/v1/bid/notice/loss?user=u", .badRequest, "'bid'"),
        ("/v1/bid/notice/click?bid=b", .badRequest, "'user'"),
    ])
    func aBadNoticeGets4xxAndQueuesNothing(uri: String, status: HTTPResponse.Status, reason: String) async throws {
        try await withServer { c, _, notices, _ in
            let a = try await c.call(.get, uri, route: "/v1/bid/notice/{kind}", expect: status)
            #expect((a["error"] as? String)?.contains(reason) == true, "\(a)")
            #expect(notices.events.withLock { $0.isEmpty })
        }
    }

    /// Campaigns change at run time: a new one bids on the next request, a paused one
    /// stops, a resumed one starts again; each change raises its version.
    @Test func campaignsAreAddedPausedAndResumedThroughTheAdminAPI() async throws {
        try await withServer { c, _, _, _ in
            let body = #"{"currency":"USD","daily_budget":10,"goal":{"cpc":5},"bid_cap":9,"creatives":[{"id":"sky","size":"160x600","adomain":"sky.example"}]}"#
            try await c.call(.put, "/v1/admin/campaigns/skyscraper", route: "/v1/admin/campaigns/{campaign}", json: body, expect: .unauthorized)
            let made = try await c.call(.put, "/v1/admin/campaigns/skyscraper", route: "/v1/admin/campaigns/{campaign}", json: body, token: "s3cret", expect: .created)
            #expect(made["version"] as? Double == 1 && made["running"] as? Bool == true && made["bid_cap"] as? Double == 9)
            let request = #"{"id":"r","imp":[{"id":"1","banner":{"w":160,"h":600}}],"site":{"id":"s"},"user":{"id":"u"}}"#
            let a = try await c.call(.post, "/v1/bid", json: request, expect: .ok)
            #expect(((a["seatbid"] as? [[String: Any]])?.first?["bid"] as? [[String: Any]])?.first?["cid"] as? String == "skyscraper")
            let paused = try await c.call(.post, "/v1/admin/campaigns/skyscraper/pause", route: "/v1/admin/campaigns/{campaign}/pause", token: "s3cret", expect: .ok)
            #expect(paused["paused"] as? Bool == true && paused["version"] as? Double == 2)
            try await c.call(.post, "/v1/bid", json: request, expect: .noContent)
            try await c.call(.post, "/v1/admin/campaigns/skyscraper/resume", route: "/v1/admin/campaigns/{campaign}/resume", token: "s3cret", expect: .ok)
            try await c.call(.post, "/v1/bid", json: request, expect: .ok)
            let list = try await c.call(.get, "/v1/campaigns", expect: .ok)
            #expect((list["campaigns"] as? [[String: Any]])?.map { $0["id"] as? String } == ["network", "video", "skyscraper"])
            let bad = try await c.call(.put, "/v1/admin/campaigns/x", route: "/v1/admin/campaigns/{campaign}", json: #"{"currency":"USD"}"#, token: "s3cret", expect: .badRequest)
            #expect((bad["error"] as? String)?.contains("daily_budget is required") == true, "\(bad)")
            try await c.call(.post, "/v1/admin/campaigns/none/pause", route: "/v1/admin/campaigns/{campaign}/pause", token: "s3cret", expect: .notFound)
        }
    }

    /// Mutations of the specification's examples (bytes cut or changed, values retyped)
    /// are answered 200, 204 or 400, never a 5xx, and every 200 is a valid bid response.
    @Test func mutatedExampleRequestsGet200Or204Or400NeverA5xx() async throws {
        let seeds = try ["6.2.1", "6.2.2", "6.2.3", "6.2.4", "6.2.5"].map { Array(try Self.example($0).utf8) }
        try await withServer { c, _, _, _ in
            var random = SeededRandom(seed: 99)
            let replacements = ["null", "[]", "{}", "\"x\"", "-1", "0", "1e9", "true"].map { Array($0.utf8) }
            var seen: [Int: Int] = [:]
            for _ in 0..<1_500 {
                var b = seeds[Int(random.unit() * Double(seeds.count))]
                switch Int(random.unit() * 3) {
                case 0: b = Array(b.prefix(Int(random.unit() * Double(b.count))))
                case 1: b[Int(random.unit() * Double(b.count))] = UInt8(32 + random.unit() * 95)
                default:
                    let colons = b.indices.filter { b[$0] == UInt8(ascii: ":") }
                    let at = colons[Int(random.unit() * Double(colons.count))] + 1
                    var end = at
                    while end < b.count, b[end] != UInt8(ascii: ","), b[end] != UInt8(ascii: "}"), b[end] != UInt8(ascii: "]") { end += 1 }
                    b.replaceSubrange(at..<end, with: replacements[Int(random.unit() * Double(replacements.count))])
                }
                let (status, body) = try await c.client.execute(uri: "/v1/bid", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(bytes: b)) {
                    ($0.status, Array(buffer: $0.body))
                }
                if status == .ok {
                    let schema = try #require(c.doc.responseSchema("POST", "/v1/bid", 200))
                    let problems = c.doc.problems(plain(try JSONValue.parse(body)), schema)
                    #expect(problems.isEmpty, "\(problems)")
                }
                seen[status.code, default: 0] += 1
                #expect([200, 204, 400].contains(status.code), "\(status) for \(String(decoding: b, as: UTF8.self))")
            }
            #expect((seen[200] ?? 0) > 50 && (seen[400] ?? 0) > 50, "\(seen)")
        }
    }
}
