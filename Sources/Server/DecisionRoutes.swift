import Bandits
import Common
import Engine
import Events
import Hummingbird
import Stream

/// The decision API (`/v1/decide`, `/v1/reward`, `/v1/surfaces`) and its admin API
/// (`/v1/admin/…`, bearer token). `docs/openapi.yaml` describes every route.
///
/// Bodies are JSON, parsed strictly: a field the route does not know is an error, so a
/// misspelt optional field is reported instead of ignored. Every refusal is a 4xx with
/// `{"error": message}` naming what is wrong.
public struct DecisionRoutes: Sendable {
    /// Accepts a reward for the event stream (the decisions topic's counterpart): in
    /// `serve` it is produced to the events topic and learnt when the engine consumes it,
    /// so rewards posted here and rewards in the stream take the same path.
    public typealias RewardSink = @Sendable (Event) throws -> Void

    public let service: DecisionService
    public let adminToken: String
    public let maxBodyBytes: Int
    public let submitReward: RewardSink

    public init(service: DecisionService, adminToken: String, maxBodyBytes: Int, submitReward: @escaping RewardSink) {
        self.service = service
        self.adminToken = adminToken
        self.maxBodyBytes = maxBodyBytes
        self.submitReward = submitReward
    }

    public func register<Context: RequestContext>(on router: Router<Context>) {
        router.post("/v1/decide") { request, _ in
            await handle {
                let body = try await object(request, known: ["surface", "user", "context", "eligible", "decision_id", "ranking"])
                let decision = try service.decide(try decisionRequest(body))
                return json(DecisionRoutes.answer(decision), status: .ok)
            }
        }
        router.post("/v1/reward") { request, _ in
            await handle {
                let body = try await object(request, known: ["decision_id", "value", "user", "ts"])
                let id = try string(body, "decision_id", required: true)!
                guard id.utf8.count <= EventDecoder.maximumIDBytes else { throw RouteError(.badRequest, "'decision_id' is longer than \(EventDecoder.maximumIDBytes) bytes") }
                guard case .number(let value)? = body["value"] else { throw RouteError(.badRequest, "'value' must be a number") }
                guard value.isFinite, abs(value) <= 1e12 else { throw RouteError(.badRequest, "'value' must be finite and at most 1e12 in magnitude") }
                let user = try string(body, "user", required: false)
                var ts = WallClock.millis
                if let t = body["ts"] {
                    guard case .number(let n) = t, n == n.rounded(), n >= 0, n < 1e15 else { throw RouteError(.badRequest, "'ts' must be epoch milliseconds") }
                    ts = Int64(n)
                }
                let event = Event(timestamp: ts, body: .reward(Reward(decisionID: id, value: value, user: user)))
                do {
                    try submitReward(event)
                } catch {
                    throw RouteError(.serviceUnavailable, "the reward could not be queued: \(error)")
                }
                var w = JSONWriter()
                w.beginObject()
                w.key("accepted"); w.bool(true)
                w.key("decision_id"); w.string(id)
                w.endObject()
                return json(w.bytes, status: .accepted)
            }
        }
        router.get("/v1/surfaces") { _, _ in
            await handle {
                var w = JSONWriter()
                w.beginObject()
                w.key("surfaces"); w.beginArray()
                for name in service.surfaceNames {
                    if let r = service.reading(surface: name) { DecisionRoutes.write(r, into: &w) }
                }
                w.endArray()
                w.endObject()
                return json(w.bytes, status: .ok)
            }
        }
        router.get("/v1/surfaces/:surface") { _, context in
            await handle {
                let name = try context.parameters.require("surface")
                guard let r = service.reading(surface: name) else { throw RouteError(.notFound, "no surface '\(name)'") }
                var w = JSONWriter()
                DecisionRoutes.write(r, into: &w)
                return json(w.bytes, status: .ok)
            }
        }
        router.post("/v1/admin/surfaces/:surface/arms") { request, context in
            await handle {
                try authorize(request)
                let surface = try context.parameters.require("surface")
                let body = try await object(request, known: ["name", "prior", "features"])
                let name = try string(body, "name", required: true)!
                var prior = ArmPrior.none
                if let p = body["prior"] {
                    let values = try numbers(p, "prior")
                    guard Set(values.keys).isSubset(of: ["trials", "reward_sum"]) else { throw RouteError(.badRequest, "'prior' takes trials and reward_sum") }
                    prior = ArmPrior(trials: values["trials"] ?? 0, rewardSum: values["reward_sum"] ?? 0)
                }
                let given = try body["features"].map { (f) throws(RouteError) in try numbers(f, "features") } ?? [:]
                guard let reading = service.reading(surface: surface) else { throw RouteError(.notFound, "no surface '\(surface)'") }
                let names = reading.config.armFeatures
                if let unknown = given.keys.sorted().first(where: { !names.contains($0) }) {
                    throw RouteError(.badRequest, "unknown arm feature '\(unknown)'; surface '\(surface)' uses: \(names.isEmpty ? "none" : names.joined(separator: ", "))")
                }
                guard given.count == names.count else {
                    throw RouteError(.badRequest, "'features' needs a value for each arm feature: \(names.joined(separator: ", "))")
                }
                try service.addArm(surface: surface, SurfaceConfiguration.Arm(name: name, prior: prior, features: names.map { given[$0]! }))
                return try surfaceAnswer(surface, status: .created)
            }
        }
        router.delete("/v1/admin/surfaces/:surface/arms/:arm") { request, context in
            await handle {
                try authorize(request)
                let surface = try context.parameters.require("surface")
                try service.removeArm(surface: surface, name: try context.parameters.require("arm"))
                return try surfaceAnswer(surface, status: .ok)
            }
        }
        router.put("/v1/admin/surfaces/:surface/parameters") { request, context in
            await handle {
                try authorize(request)
                let surface = try context.parameters.require("surface")
                let body = try await object(request, known: nil)
                try service.setParameters(surface: surface, try numbers(body, "body"))
                return try surfaceAnswer(surface, status: .ok)
            }
        }
    }

    // MARK: Pieces

    private func surfaceAnswer(_ surface: String, status: HTTPResponse.Status) throws(RouteError) -> Response {
        guard let r = service.reading(surface: surface) else { throw RouteError(.notFound, "no surface '\(surface)'") }
        var w = JSONWriter()
        DecisionRoutes.write(r, into: &w)
        return json(w.bytes, status: status)
    }

    private func authorize(_ request: Request) throws(RouteError) {
        guard !adminToken.isEmpty else { throw RouteError(.forbidden, "the admin API is disabled: set http.admin_token") }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw RouteError(.unauthorized, "admin routes need 'Authorization: Bearer <token>'")
        }
        // Compared in constant time, so the response time does not reveal a prefix.
        let given = Array(header.utf8.dropFirst(7))
        let expected = Array(adminToken.utf8)
        var difference = UInt8(given.count == expected.count ? 0 : 1)
        for i in 0..<expected.count { difference |= expected[i] ^ (i < given.count ? given[i] : 0) }
        guard difference == 0 else { throw RouteError(.unauthorized, "the bearer token is not valid") }
    }

    /// The body as a JSON object whose fields are all in `known` (nil: any).
    private func object(_ request: Request, known: Set<String>?) async throws(RouteError) -> JSONValue {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBodyBytes {
            throw RouteError(.contentTooLarge, "the body is \(length) bytes; the limit is \(maxBodyBytes)")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBodyBytes)
        } catch {
            throw RouteError(.contentTooLarge, "the body exceeds the limit of \(maxBodyBytes) bytes")
        }
        let value: JSONValue
        do throws(DecodeError) {
            value = try buffer.withUnsafeReadableBytes { (b) throws(DecodeError) in try JSONValue.parse(b) }
        } catch {
            throw RouteError(.badRequest, "the body is not valid JSON: \(error.message)")
        }
        guard case .object(let members) = value else { throw RouteError(.badRequest, "the body must be a JSON object, found \(value.typeName)") }
        if let known, let unknown = members.first(where: { !known.contains($0.key) }) {
            throw RouteError(.badRequest, "unknown field '\(unknown.key)'; this route takes \(known.sorted().joined(separator: ", "))")
        }
        return value
    }

    private func decisionRequest(_ body: JSONValue) throws(RouteError) -> DecisionRequest {
        let surface = try string(body, "surface", required: true)!
        let user = try string(body, "user", required: true)!
        var request = DecisionRequest(surface: surface, user: user)
        if let c = body["context"] { request.context = try numbers(c, "context") }
        if let e = body["eligible"] {
            guard case .array(let items) = e else { throw RouteError(.badRequest, "'eligible' must be an array of arm names") }
            request.eligible = try items.map { (item) throws(RouteError) -> String in
                guard case .string(let s) = item else { throw RouteError(.badRequest, "'eligible' must hold arm names (strings), found \(item.typeName)") }
                return s
            }
        }
        request.decisionID = try string(body, "decision_id", required: false)
        if let r = body["ranking"] {
            guard case .number(let n) = r, n == n.rounded(), n >= 1, n <= 1000 else { throw RouteError(.badRequest, "'ranking' must be an integer from 1 to 1000") }
            request.rankingLength = Int(n)
        }
        return request
    }

    private func string(_ body: JSONValue, _ key: String, required: Bool) throws(RouteError) -> String? {
        guard let v = body[key], v != .null || required else {
            if required { throw RouteError(.badRequest, "'\(key)' is required") }
            return nil
        }
        guard case .string(let s) = v, !s.isEmpty else { throw RouteError(.badRequest, "'\(key)' must be a non-empty string, found \(v.typeName)") }
        return s
    }

    private func numbers(_ v: JSONValue, _ what: String) throws(RouteError) -> [String: Double] {
        guard case .object(let members) = v else { throw RouteError(.badRequest, "'\(what)' must be an object of numbers, found \(v.typeName)") }
        var out: [String: Double] = [:]
        for m in members {
            guard case .number(let n) = m.value, n.isFinite else {
                throw RouteError(.badRequest, "'\(what).\(m.key)' must be a finite number, found \(m.value.typeName)")
            }
            out[m.key] = n
        }
        return out
    }

    /// Runs a handler, turning its refusals into JSON error answers.
    private func handle(_ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch let error as RouteError {
            return errorResponse(error.status, error.message)
        } catch let error as DecisionError {
            let e = RouteError(error)
            return errorResponse(e.status, e.message)
        } catch {
            return errorResponse(.badRequest, "\(error)")
        }
    }

    // MARK: Documents

    /// The `/v1/decide` answer.
    public static func answer(_ d: Decision) -> [UInt8] {
        var w = JSONWriter(reservingCapacity: 256)
        w.beginObject()
        DecisionRecord.writeOutcome(d, into: &w)
        w.key("ts"); w.int(d.timestamp)
        w.endObject()
        return w.bytes
    }

    static func write(_ r: DecisionService.SurfaceReading, into w: inout JSONWriter) {
        w.beginObject()
        w.key("name"); w.string(r.config.name)
        w.key("policy"); w.string(r.policy)
        w.key("parameters"); w.beginObject()
        for p in r.parameters { w.key(p.name); w.double(p.value) }
        w.endObject()
        if r.config.policy.algorithm.isContextual {
            w.key("payoff"); w.string(r.config.policy.payoff == .perArm ? "per_arm" : "shared")
        }
        w.key("features"); w.beginArray()
        for f in r.config.features { w.string(f) }
        w.endArray()
        w.key("arm_features"); w.beginArray()
        for f in r.config.armFeatures { w.string(f) }
        w.endArray()
        w.key("reward"); w.string(r.config.reward.name)
        w.key("attribution_window_ms"); w.int(r.config.attributionWindowMillis)
        w.key("arms"); w.beginArray()
        for a in r.arms {
            w.beginObject()
            w.key("name"); w.string(a.name)
            w.key("active"); w.bool(a.active)
            if let prior = a.prior {
                w.key("prior"); w.beginObject()
                w.key("trials"); w.double(prior.trials)
                w.key("reward_sum"); w.double(prior.rewardSum)
                w.endObject()
            }
            w.endObject()
        }
        w.endArray()
        w.key("policy_version"); w.int(r.version)
        w.key("model_updates"); w.int(r.updates)
        let c = r.counters
        w.key("counters"); w.beginObject()
        for (name, v) in [("decisions", c.decisions), ("rewards_joined", c.joined), ("rewards_duplicate", c.duplicate), ("rewards_late", c.late), ("expired", c.expired), ("evicted", c.evicted)] {
            w.key(name); w.int(v)
        }
        w.endObject()
        w.endObject()
    }
}

/// A refusal with its HTTP status.
struct RouteError: Error {
    var status: HTTPResponse.Status
    var message: String
    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }
}

extension RouteError {
    init(_ e: DecisionError) {
        switch e.kind {
        case .invalid: self.init(.badRequest, e.message)
        case .notFound: self.init(.notFound, e.message)
        case .conflict: self.init(.conflict, e.message)
        case .unavailable: self.init(.serviceUnavailable, e.message)
        }
    }
}

func errorResponse(_ status: HTTPResponse.Status, _ message: String) -> Response {
    var w = JSONWriter()
    w.beginObject()
    w.key("error"); w.string(message)
    w.endObject()
    var response = json(w.bytes, status: status)
    if status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
    return response
}
