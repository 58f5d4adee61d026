import Bidding
import Common
import Engine
import Events
import HTTPTypes
import Hummingbird
import Stream

/// `POST /v1/bid` (OpenRTB 2.6 in and out), the exchanges' notices
/// (`GET /v1/bid/notice/{win|billing|loss|click|conversion}`) and the campaigns
/// (`GET /v1/campaigns`).
///
/// A bid is answered 200 with an OpenRTB bid response; no bid is 204 No Content, the
/// OpenRTB no-bid reason in the `X-OpenRTB-NBR` header (a 204 has no body to carry
/// `nbr`) and its explanation in `X-Arbiter-No-Bid`. A request that is not valid OpenRTB
/// gets a 400 naming the field. Each bid's `nurl`, `burl` and `lurl` point back at this
/// group; a notice becomes a `bid_outcome` event in the partition of the bid's user.
public struct BidController: Sendable {
    public typealias EventSink = @Sendable (Event, Int32) throws -> Void

    public let service: BiddingService
    let submit: EventSink
    let noticeURL: String
    let maxBodyBytes: Int
    let forwarder: Forwarder
    let admin: AdminToken

    /// - Parameter noticeURL: where exchanges reach the group (the configured
    ///   `bidding.notice_url`, else this process's advertised URL).
    public init(
        service: BiddingService, maxBodyBytes: Int, noticeURL: String, instance: String, adminToken: String = "", forwarder: Forwarder? = nil,
        submit: @escaping EventSink
    ) {
        self.service = service
        admin = AdminToken(token: adminToken)
        self.maxBodyBytes = maxBodyBytes
        self.noticeURL = noticeURL
        self.submit = submit
        self.forwarder = forwarder ?? Forwarder(instance: instance)
    }

    public func register<Context: RequestContext>(on router: Router<Context>) {
        router.post("/v1/bid") { request, _ in
            await handle {
                let start = MonotonicClock.nanos
                if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBodyBytes {
                    throw RouteError(.contentTooLarge, "the body is \(length) bytes; the limit is \(maxBodyBytes)")
                }
                let buffer: ByteBuffer
                do { buffer = try await request.body.collect(upTo: maxBodyBytes) } catch {
                    throw RouteError(.contentTooLarge, "the body exceeds the limit of \(maxBodyBytes) bytes")
                }
                let bytes = Array(buffer.readableBytesView)
                let bid: BidRequest
                do throws(OpenRTBError) { bid = try BidRequest.parse(bytes) } catch { throw RouteError(.badRequest, "not a valid OpenRTB 2.6 bid request: \(error.field): \(error.message)") }
                // The answer must leave before the exchange stops waiting: half of tmax
                // is left for the network.
                let deadline = bid.tmax.map { start + UInt64($0) * 500_000 }
                do {
                    return BidController.response(try await service.bid(bid, deadlineNanos: deadline), seat: service.configuration.seat, noticeURL: noticeURL)
                } catch let e as BiddingService.BidError {
                    switch e {
                    case .refused(let d): throw d
                    case .notHeld(let partition):
                        return try await forwarder.forward(request, partition: partition, view: service.views.view, method: "POST", path: "/v1/bid", body: bytes)
                    }
                }
            }
        }
        router.get("/v1/bid/notice/:kind") { request, context in
            await handle {
                let kindName = try context.parameters.require("kind")
                guard let kind = BidNotice(rawValue: kindName) else {
                    throw RouteError(.notFound, "no notice '\(clipped(kindName))'; notices: \(BidNotice.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                let q = request.uri.queryParameters
                guard let bidID = q["bid"].map(String.init), !bidID.isEmpty, bidID.utf8.count <= EventDecoder.maximumIDBytes else {
                    throw RouteError(.badRequest, "'bid' (the bid's id, 1–\(EventDecoder.maximumIDBytes) bytes) is required")
                }
                guard let user = q["user"].map(String.init), !user.isEmpty, user.utf8.count <= EventDecoder.maximumIDBytes else {
                    throw RouteError(.badRequest, "'user' (as the bid's notice URL gives it) is required")
                }
                var price: Money?
                if let text = q["price"].map(String.init) {
                    guard let x = Double(text), x.isFinite, let m = Money(units: x) else {
                        throw RouteError(.badRequest, "'price' must be the clearing CPM, a number from 0 to 1e12 (was the ${AUCTION_PRICE} macro replaced?), found '\(clipped(text))'")
                    }
                    price = m
                }
                if kind == .win || kind == .billing, price == nil { throw RouteError(.badRequest, "a \(kind.rawValue) notice needs 'price' (the clearing CPM)") }
                let outcome = BidOutcome(
                    auctionID: bidID, won: kind != .loss, clearingPrice: price, click: kind == .click, conversion: kind == .conversion, user: user, notice: kind)
                do {
                    try submit(Event(timestamp: WallClock.millis, body: .bidOutcome(outcome)), service.routing.partition(of: user))
                } catch {
                    throw RouteError(.serviceUnavailable, "the notice could not be queued: \(error)")
                }
                return Response(status: .noContent)
            }
        }
        router.get("/v1/campaigns") { _, _ in
            await handle { json(BidController.campaigns(service), status: .ok) }
        }
        router.put("/v1/admin/campaigns/:campaign") { request, context in
            await handle {
                try admin.authorize(request)
                let id = try context.parameters.require("campaign")
                let existed = service.definition(id) != nil
                // Checked as a JSON object first, so that the error of a malformed body is JSON's.
                let (_, body) = try await JSONBodies(maxBodyBytes: maxBodyBytes).objectAndBody(request, known: nil)
                let campaign: Campaign
                do throws(ConfigurationError) { campaign = try BiddingConfiguration.campaign(id, text: String(buffer: body)) } catch {
                    throw RouteError(.badRequest, error.message)
                }
                let d = try await service.put(campaign)
                return json(BidController.campaign(d, service: service), status: existed ? .ok : .created)
            }
        }
        for (action, paused) in [("pause", true), ("resume", false)] {
            router.post("/v1/admin/campaigns/:campaign/\(action)") { request, context in
                await handle {
                    try admin.authorize(request)
                    let d = try await service.setPaused(try context.parameters.require("campaign"), paused)
                    return json(BidController.campaign(d, service: service), status: .ok)
                }
            }
        }
    }

    /// The OpenRTB 2.6 bid response, or 204 with the no-bid reason.
    static func response(_ answer: BidAnswer, seat: String, noticeURL: String) -> Response {
        switch answer {
        case .noBid(_, let reason):
            return Response(status: .noContent, headers: [noBidReason: String(reason.rawValue), noBidExplanation: reason.explanation])
        case .bids(let requestID, let currency, let user, let bids):
            var w = JSONWriter(reservingCapacity: 512 * bids.count)
            w.beginObject()
            w.key("id"); w.string(requestID)
            w.key("bidid"); w.string(bids[0].id)
            w.key("cur"); w.string(currency)
            w.key("seatbid"); w.beginArray()
            w.beginObject()
            w.key("seat"); w.string(seat)
            w.key("bid"); w.beginArray()
            for b in bids {
                let notice = noticeURL + "/v1/bid/notice/"
                let query = "?bid=" + percentEncoded(b.id) + "&user=" + percentEncoded(user)
                w.beginObject()
                w.key("id"); w.string(b.id)
                w.key("impid"); w.string(b.impressionID)
                w.key("price"); w.raw(b.price.description)
                w.key("adid"); w.string(b.creative.id)
                w.key("crid"); w.string(b.creative.id)
                w.key("cid"); w.string(b.campaign)
                if let deal = b.dealID { w.key("dealid"); w.string(deal) }
                w.key("adomain"); w.beginArray(); w.string(b.creative.advertiserDomain); w.endArray()
                if !b.creative.categories.isEmpty {
                    w.key("cat"); w.beginArray()
                    for c in b.creative.categories { w.string(c) }
                    w.endArray()
                }
                if case .banner(let width, let height) = b.creative.format {
                    w.key("w"); w.int(Int64(width))
                    w.key("h"); w.int(Int64(height))
                }
                w.key("nurl"); w.string(notice + "win" + query + "&price=${AUCTION_PRICE}")
                w.key("burl"); w.string(notice + "billing" + query + "&price=${AUCTION_PRICE}")
                w.key("lurl"); w.string(notice + "loss" + query + "&reason=${AUCTION_LOSS}")
                w.key("ext"); w.beginObject()
                w.key("click_url"); w.string(notice + "click" + query)
                w.key("conversion_url"); w.string(notice + "conversion" + query)
                w.key("predicted_rate"); w.double(b.rate)
                w.key("value_cpm"); w.double(b.value)
                w.key("shadow_price"); w.double(b.shadowPrice)
                w.key("propensity"); w.double(b.propensity)
                w.endObject()
                w.endObject()
            }
            w.endArray()
            w.endObject()
            w.endArray()
            w.endObject()
            return json(w.bytes, status: .ok)
        }
    }

    static let noBidReason = HTTPField.Name("X-OpenRTB-NBR")!
    static let noBidExplanation = HTTPField.Name("X-Arbiter-No-Bid")!

    /// RFC 3986 unreserved characters kept, every other byte escaped.
    static func percentEncoded(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(b >> 4)], hex[Int(b & 15)]], as: UTF8.self)
            }
        }
        return out
    }

    /// `GET /v1/campaigns`: each campaign's settings and, from the group's view, its day.
    static func campaigns(_ service: BiddingService) -> [UInt8] {
        let learner = service.views.view.merged.learner(BiddingLearner.self)
        var w = JSONWriter()
        w.beginObject()
        w.key("campaigns"); w.beginArray()
        for d in service.views.campaignCatalogue.campaigns { write(d, learner: learner, service: service, into: &w) }
        w.endArray()
        if let learner {
            w.key("click_model"); w.beginObject()
            w.key("examples"); w.int(learner.clicks.examples)
            w.key("clicks"); w.int(learner.clicks.positives)
            w.endObject()
        }
        w.endObject()
        return w.bytes
    }

    /// One campaign, as an admin change answers it.
    static func campaign(_ d: CampaignDefinition, service: BiddingService) -> [UInt8] {
        var w = JSONWriter()
        write(d, learner: service.views.view.merged.learner(BiddingLearner.self), service: service, into: &w)
        return w.bytes
    }

    private static func write(_ d: CampaignDefinition, learner: BiddingLearner?, service: BiddingService, into w: inout JSONWriter) {
        let c = d.campaign
        let now = WallClock.millis
        let day = Day(epochMillis: now).daysSinceEpoch
        let ledger = learner?.campaigns[c.id]
        let today = ledger?.day == day ? ledger!.today : CampaignLedger.Counts()
        w.beginObject()
        w.key("id"); w.string(c.id)
        w.key("version"); w.int(d.version)
        w.key("running"); w.bool(c.running(at: now))
        w.key("paused"); w.bool(c.paused)
        w.key("currency"); w.string(c.currency)
        w.key("daily_budget"); w.raw(c.dailyBudget.description)
        w.key("bid_cap"); w.double(c.bidCap)
        w.key("strategy"); w.string(c.strategy.rawValue)
        switch c.goal {
        case .perClick(let v): w.key("goal"); w.beginObject(); w.key("cpc"); w.double(v); w.endObject()
        case .perAction(let v): w.key("goal"); w.beginObject(); w.key("cpa"); w.double(v); w.endObject()
        }
        if let channel = c.channel {
            w.key("channel"); w.string(channel)
            w.key("channel_marginal_roi"); if let m = c.channelMarginalROI { w.double(m) } else { w.null() }
        }
        // What a click (or conversion) is worth now: the goal, scaled by the channel's marginal ROI.
        w.key("goal_value"); w.double(c.goalValue)
        if let cap = c.frequencyCap {
            w.key("frequency_cap"); w.beginObject()
            w.key("impressions"); w.int(Int64(cap.impressions))
            w.key("window_seconds"); w.int(cap.windowMillis / 1000)
            w.endObject()
        }
        if c.strategy == .rl {
            let plan = service.planStatus(c.id, at: now)
            w.key("plan"); w.beginObject()
            w.key("solved_at_ms"); if let t = plan.solvedAtMillis { w.int(t) } else { w.null() }
            w.key("market_outcomes"); w.double(ledger?.market.observations ?? 0)
            w.key("market_wins"); w.double(ledger?.market.wins ?? 0)
            w.key("candidacies_today"); w.double(plan.candidaciesToday)
            w.endObject()
        }
        w.key("today"); w.beginObject()
        w.key("spend"); w.raw(today.spend.description)
        w.key("planned"); w.double(c.dailyBudget.units * c.planShare(at: now))
        w.key("bids"); w.int(today.bids)
        w.key("wins"); w.int(today.wins)
        w.key("clicks"); w.int(today.clicks)
        w.key("conversions"); w.int(today.conversions)
        w.endObject()
        w.endObject()
    }
}
