import Bandits
import Common
import Engine
import Events
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Stream
import Synchronization
import Testing
import Yams

@testable import Server

/// A parsed JSON value as Foundation-style plain values; every number is a Double.
func plain(_ v: JSONValue) -> Any {
    switch v {
    case .null: return NSNull()
    case .bool(let b): return b
    case .number(let n): return n
    case .string(let s): return s
    case .array(let items): return items.map(plain)
    case .object(let members): return Dictionary(members.map { ($0.key, plain($0.value)) }, uniquingKeysWith: { a, _ in a })
    }
}

final class QueuedRewards: Sendable {
    let events = Mutex<[(Event, Int32)]>([])
}

/// The OpenAPI document of the repository, with a small validator for the parts of JSON
/// Schema it uses (type, required, properties, additionalProperties, items, enum, $ref).
struct OpenAPIDocument: @unchecked Sendable {
    let root: [String: Any]

    init() throws {
        let text = try String(contentsOfFile: repositoryRoot + "/docs/openapi.yaml", encoding: .utf8)
        root = try Yams.load(yaml: text) as! [String: Any]
    }

    var paths: [String: [String: Any]] { root["paths"] as! [String: [String: Any]] }

    func operation(_ method: String, _ path: String) -> [String: Any]? {
        paths[path]?[method.lowercased()] as? [String: Any]
    }

    /// The schema of the JSON answer of `method path` with `status`, nil when the
    /// document does not declare that status.
    func responseSchema(_ method: String, _ path: String, _ status: Int) -> [String: Any]? {
        guard let op = operation(method, path), let responses = op["responses"] as? [String: Any],
            var response = responses[String(status)] as? [String: Any]
        else { return nil }
        if let ref = response["$ref"] as? String { response = resolve(ref) }
        let content = response["content"] as? [String: Any]
        let json = content?["application/json"] as? [String: Any]
        return (json?["schema"] as? [String: Any]) ?? [:]
    }

    func resolve(_ ref: String) -> [String: Any] {
        var node: Any = root
        for part in ref.dropFirst(2).split(separator: "/") { node = (node as! [String: Any])[String(part)]! }
        return node as! [String: Any]
    }

    /// What is wrong with `value` under `schema`, if anything.
    func problems(_ value: Any, _ schema: [String: Any], at path: String = "$") -> [String] {
        if let ref = schema["$ref"] as? String { return problems(value, resolve(ref), at: path) }
        if let alternatives = schema["oneOf"] as? [[String: Any]] {
            let fits = alternatives.filter { problems(value, $0, at: path).isEmpty }.count
            return fits == 1 ? [] : ["\(path): matches \(fits) of the oneOf alternatives"]
        }
        var out: [String] = []
        if let allowed = schema["enum"] as? [Any], !allowed.contains(where: { "\($0)" == "\(value)" }) {
            out.append("\(path): \(value) not in \(allowed)")
        }
        switch schema["type"] as? String {
        case "object":
            guard let object = value as? [String: Any] else { return ["\(path): not an object"] }
            for key in schema["required"] as? [String] ?? [] where object[key] == nil { out.append("\(path).\(key): missing") }
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for (key, v) in object {
                if let p = properties[key] as? [String: Any] {
                    out += problems(v, p, at: "\(path).\(key)")
                } else if let extra = schema["additionalProperties"] {
                    if let allowed = extra as? Bool, !allowed { out.append("\(path).\(key): not in the schema") }
                    if let s = extra as? [String: Any] { out += problems(v, s, at: "\(path).\(key)") }
                }
            }
        case "array":
            guard let array = value as? [Any] else { return ["\(path): not an array"] }
            if let items = schema["items"] as? [String: Any] {
                for (i, v) in array.enumerated() { out += problems(v, items, at: "\(path)[\(i)]") }
            }
        case "string":
            if !(value is String) { out.append("\(path): not a string") }
        case "integer":
            if (value as? Double).map({ $0 != $0.rounded() }) ?? true { out.append("\(path): not an integer") }
        case "number":
            if !(value is Double) { out.append("\(path): not a number") }
        case "boolean":
            if !(value is Bool) { out.append("\(path): not a boolean") }
        case "null":
            if !(value is NSNull) { out.append("\(path): not null") }
        default:
            break
        }
        return out
    }
}

@Suite struct DecisionControllerTests {
    static let surfaces = [
        SurfaceConfiguration(
            name: "banner", policy: PolicySpec(algorithm: .ucb1), arms: ["a", "b", "c"].map { SurfaceConfiguration.Arm(name: $0) }),
        SurfaceConfiguration(
            name: "offer", policy: PolicySpec(algorithm: .linearThompson, parameters: ["propensity_draws": 50], payoff: .shared),
            features: ["recency"], armFeatures: ["discount"],
            arms: [SurfaceConfiguration.Arm(name: "x", features: [0.1]), SurfaceConfiguration.Arm(name: "y", features: [0.3])]),
    ]

    /// Runs `body` against a server with the decision routes, checking every answer
    /// against the OpenAPI document: its status must be declared for the route and its
    /// body must match the declared schema.
    func withServer(adminToken: String = "s3cret", _ body: @Sendable (Client, InProcessEngine, QueuedRewards) async throws -> Void) async throws {
        let doc = try OpenAPIDocument()
        let engine = try InProcessEngine(surfaces: Self.surfaces, pricing: PriceControllerTests.pricing, partitions: 4, seed: 1, instance: "http", logger: Logger(label: "test"))
        let rewards = QueuedRewards()
        let router = Router()
        PriceController(service: engine.prices, maxBodyBytes: 4096, instance: "http").register(on: router)
        DecisionController(service: engine.decisions, maxBodyBytes: 4096, submitReward: { e, p in rewards.events.withLock { $0.append((e, p)) } }).register(on: router)
        SurfaceController(service: engine.decisions, adminToken: adminToken, maxBodyBytes: 4096).register(on: router)
        BidController(service: engine.bids, maxBodyBytes: 4096, noticeURL: "http://bidder.example", instance: "http") { e, p in
            rewards.events.withLock { $0.append((e, p)) }
        }.register(on: router)
        let app = Application(router: router)
        try await app.test(.router) { client in
            try await body(Client(client: client, doc: doc), engine, rewards)
        }
    }

    /// A test client that validates answers against the OpenAPI document.
    struct Client: @unchecked Sendable {
        let client: any TestClientProtocol
        let doc: OpenAPIDocument

        @discardableResult
        func call(_ method: HTTPRequest.Method, _ uri: String, route: String? = nil, json: String? = nil, token: String? = nil, expect status: HTTPResponse.Status, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
            var headers: HTTPFields = [.contentType: "application/json"]
            if let token { headers[.authorization] = "Bearer \(token)" }
            return try await client.execute(uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) }) { response in
                #expect(response.status == status, "\(method) \(uri): \(String(buffer: response.body))", sourceLocation: sourceLocation)
                // Parsed with the engine's own parser, which keeps booleans and numbers apart.
                let parsed = try? JSONValue.parse(Array(buffer: response.body))
                let object = parsed.map(plain) as? [String: Any] ?? [:]
                let path = route ?? uri
                guard let schema = doc.responseSchema(method.rawValue, path, response.status.code) else {
                    Issue.record("\(method) \(path) answers \(response.status.code), which docs/openapi.yaml does not declare", sourceLocation: sourceLocation)
                    return object
                }
                let problems = doc.problems(object, schema)
                #expect(problems.isEmpty, "\(method) \(path) \(response.status.code): \(problems)", sourceLocation: sourceLocation)
                if response.status == .unauthorized { #expect(response.headers[.wwwAuthenticate] == "Bearer") }
                return object
            }
        }
    }

    @Test func decideAnswersWithTheDocumentedDecision() async throws {
        try await withServer { c, _, _ in
            let d = try await c.call(.post, "/v1/decide", json: #"{"surface":"banner","user":"u1","ranking":3}"#, expect: .ok)
            #expect((d["ranking"] as? [String])?.count == 3)
            #expect((d["ranking"] as? [String])?.first == d["action"] as? String)
            #expect(d["propensity"] as? Double ?? 0 > 0)
            let t = try await c.call(.post, "/v1/decide", json: #"{"surface":"offer","user":"u1","context":{"recency":2},"eligible":["y"],"decision_id":"mine"}"#, expect: .ok)
            #expect(t["action"] as? String == "y" && t["decision_id"] as? String == "mine")
            #expect(t["propensity"] as? Double == 1 && t["propensity_draws"] as? Double == 50)
        }
    }

    @Test(arguments: [
        ("not json", "not valid JSON"),
        ("[1]", "must be a JSON object"),
        (#"{"surface":"banner"}"#, "'user' is required"),
        (#"{"surface":"banner","user":"u","colour":"red"}"#, "unknown field 'colour'"),
        (#"{"surface":"banner","user":7}"#, "'user' must be a non-empty string"),
        (#"{"surface":"banner","user":"u","eligible":"a"}"#, "'eligible' must be an array"),
        (#"{"surface":"banner","user":"u","eligible":["a","q"]}"#, "unknown arm 'q'"),
        (#"{"surface":"banner","user":"u","ranking":0}"#, "'ranking' must be an integer from 1 to 1000"),
        (#"{"surface":"offer","user":"u","context":{"recency":"high"}}"#, "'context.recency' must be a finite number"),
        (#"{"surface":"offer","user":"u","context":{"age":3}}"#, "unknown context feature 'age'; surface 'offer' uses: recency"),
        (#"{"surface":"banner","user":"u","user":"v"}"#, "appears twice"),
    ])
    func badDecideRequestsGet400WithTheReason(body: String, reason: String) async throws {
        try await withServer { c, engine, _ in
            let answer = try await c.call(.post, "/v1/decide", json: body, expect: .badRequest)
            #expect((answer["error"] as? String)?.contains(reason) == true, "\(answer)")
            #expect(engine.pendingRecords == 0, "a refused request logs nothing")
        }
    }

    @Test func unknownSurfacesConflictsAndLargeBodiesHaveTheirStatus() async throws {
        try await withServer { c, _, _ in
            try await c.call(.post, "/v1/decide", json: #"{"surface":"nope","user":"u"}"#, expect: .notFound)
            let first = try await c.call(.post, "/v1/decide", json: #"{"surface":"banner","user":"u","decision_id":"d"}"#, expect: .ok)
            let retry = try await c.call(.post, "/v1/decide", json: #"{"surface":"banner","user":"u","decision_id":"d"}"#, expect: .ok)
            #expect(retry["action"] as? String == first["action"] as? String && retry["ts"] as? Double == first["ts"] as? Double, "a retry gets the same decision")
            try await c.call(.post, "/v1/decide", json: #"{"surface":"banner","user":"other","decision_id":"d"}"#, expect: .conflict)
            let big = #"{"surface":"banner","user":""# + String(repeating: "x", count: 5000) + #""}"#
            let answer = try await c.call(.post, "/v1/decide", json: big, expect: .contentTooLarge)
            #expect((answer["error"] as? String)?.contains("4096") == true)
        }
    }

    @Test func rewardsAreQueuedAsRewardEventsInThePartitionOfTheirDecision() async throws {
        try await withServer { c, engine, rewards in
            try await c.call(.post, "/v1/reward", json: #"{"decision_id":"d1","value":0.5,"user":"u"}"#, expect: .accepted)
            // Without a user, an id Arbiter made names its partition; another id cannot be routed.
            let d = try await c.call(.post, "/v1/decide", json: #"{"surface":"banner","user":"someone"}"#, expect: .ok)
            let id = d["decision_id"] as! String
            try await c.call(.post, "/v1/reward", json: #"{"decision_id":"\#(id)","value":1}"#, expect: .accepted)
            let unroutable = try await c.call(.post, "/v1/reward", json: #"{"decision_id":"client-made","value":1}"#, expect: .badRequest)
            #expect((unroutable["error"] as? String)?.contains("'user' is required") == true)
            try await c.call(.post, "/v1/reward", json: #"{"decision_id":"d1"}"#, expect: .badRequest)
            try await c.call(.post, "/v1/reward", json: #"{"decision_id":"d1","value":1e300}"#, expect: .badRequest)
            try await c.call(.post, "/v1/reward", json: #"{"decision_id":"","value":1}"#, expect: .badRequest)
            let queued = rewards.events.withLock { $0 }
            #expect(queued.count == 2)
            #expect(queued.first?.0.body == .reward(Reward(decisionID: "d1", value: 0.5, user: "u")))
            #expect(queued.first?.1 == engine.routing.partition(of: "u"))
            #expect(queued.last?.1 == engine.routing.partition(of: "someone"))
        }
    }

    @Test func adminRoutesNeedTheBearerTokenAndChangeSurfaces() async throws {
        try await withServer { c, _, _ in
            let arm = #"{"name":"z","prior":{"trials":10,"reward_sum":9}}"#
            try await c.call(.post, "/v1/admin/surfaces/banner/arms", route: "/v1/admin/surfaces/{surface}/arms", json: arm, expect: .unauthorized)
            try await c.call(.post, "/v1/admin/surfaces/banner/arms", route: "/v1/admin/surfaces/{surface}/arms", json: arm, token: "wrong", expect: .unauthorized)
            let added = try await c.call(.post, "/v1/admin/surfaces/banner/arms", route: "/v1/admin/surfaces/{surface}/arms", json: arm, token: "s3cret", expect: .created)
            #expect((added["arms"] as? [[String: Any]])?.last?["name"] as? String == "z")
            try await c.call(.post, "/v1/admin/surfaces/banner/arms", route: "/v1/admin/surfaces/{surface}/arms", json: arm, token: "s3cret", expect: .conflict)
            try await c.call(.post, "/v1/admin/surfaces/offer/arms", route: "/v1/admin/surfaces/{surface}/arms", json: #"{"name":"w"}"#, token: "s3cret", expect: .badRequest)
            try await c.call(.post, "/v1/admin/surfaces/offer/arms", route: "/v1/admin/surfaces/{surface}/arms", json: #"{"name":"w","features":{"discount":0.5}}"#, token: "s3cret", expect: .created)
            let removed = try await c.call(.delete, "/v1/admin/surfaces/banner/arms/a", route: "/v1/admin/surfaces/{surface}/arms/{arm}", token: "s3cret", expect: .ok)
            #expect((removed["arms"] as? [[String: Any]])?.first?["active"] as? Bool == false)
            try await c.call(.delete, "/v1/admin/surfaces/banner/arms/a", route: "/v1/admin/surfaces/{surface}/arms/{arm}", token: "s3cret", expect: .notFound)
            for k in 0..<100 {
                let d = try await c.call(.post, "/v1/decide", json: #"{"surface":"banner","user":"u\#(k)"}"#, expect: .ok)
                #expect(d["action"] as? String != "a")
            }
            let tuned = try await c.call(.put, "/v1/admin/surfaces/banner/parameters", route: "/v1/admin/surfaces/{surface}/parameters", json: #"{"exploration":0.2}"#, token: "s3cret", expect: .ok)
            #expect((tuned["parameters"] as? [String: Double])?["exploration"] == 0.2)
            #expect(tuned["policy_version"] as? Double == 4)
            try await c.call(.put, "/v1/admin/surfaces/banner/parameters", route: "/v1/admin/surfaces/{surface}/parameters", json: #"{"discount":0.5}"#, token: "s3cret", expect: .badRequest)
            try await c.call(.put, "/v1/admin/surfaces/nope/parameters", route: "/v1/admin/surfaces/{surface}/parameters", json: #"{"exploration":1}"#, token: "s3cret", expect: .notFound)
            let surfaces = try await c.call(.get, "/v1/surfaces", expect: .ok)
            #expect((surfaces["surfaces"] as? [Any])?.count == 2)
            try await c.call(.get, "/v1/surfaces/offer", route: "/v1/surfaces/{surface}", expect: .ok)
            try await c.call(.get, "/v1/surfaces/nope", route: "/v1/surfaces/{surface}", expect: .notFound)
        }
        try await withServer(adminToken: "") { c, _, _ in
            try await c.call(.delete, "/v1/admin/surfaces/banner/arms/a", route: "/v1/admin/surfaces/{surface}/arms/{arm}", token: "", expect: .forbidden)
        }
    }

    @Test func aUserIsReadFromItsPartitionAsDocumented() async throws {
        let doc = try OpenAPIDocument()
        let engine = try InProcessEngine(surfaces: Self.surfaces, partitions: 2, seed: 1, instance: "owner", logger: Logger(label: "test"))
        let router = Router()
        DecisionController(service: engine.decisions, maxBodyBytes: 4096, submitReward: { _, _ in }).register(on: router)
        UserController(partitions: engine, views: engine.views, routing: engine.routing, instance: "owner").register(on: router)
        try await Application(router: router).test(.router) { client in
            let c = Client(client: client, doc: doc)
            let d = try await c.call(.post, "/v1/decide", json: #"{"surface":"banner","user":"u1"}"#, expect: .ok)
            let price = Money(units: 4)!
            engine.apply([Event(timestamp: WallClock.millis, body: .purchase(Purchase(user: "u1", orderID: "o", items: [.init(item: "i", price: price, quantity: 1)], revenue: price, currency: "EUR")))])
            let user = try await c.call(.get, "/v1/users/u1", route: "/v1/users/{user}", expect: .ok)
            #expect(user["owner"] as? String == "owner" && user["partition"] as? Double == Double(engine.routing.partition(of: "u1")))
            #expect((user["customer"] as? [String: Any])?["purchases"] as? Double == 1)
            let open = user["open_decisions"] as? [[String: Any]]
            #expect(open?.count == 1 && open?.first?["decision_id"] as? String == d["decision_id"] as? String && open?.first?["surface"] as? String == "banner")
            let stranger = try await c.call(.get, "/v1/users/nobody", route: "/v1/users/{user}", expect: .ok)
            #expect(stranger["customer"] is NSNull && (stranger["open_decisions"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func everyDocumentedDecisionRouteExists() async throws {
        let doc = try OpenAPIDocument()
        try await withServer { c, _, _ in
            // Status and per-user routes have their own tests (they need an engine thread).
            for (path, operations) in doc.paths where !["/healthz", "/v1/status", "/metrics", "/v1/users/{user}"].contains(path) {
                for method in operations.keys {
                    let uri = path.replacingOccurrences(of: "{surface}", with: "banner").replacingOccurrences(of: "{arm}", with: "b").replacingOccurrences(of: "{kind}", with: "win").replacingOccurrences(of: "{campaign}", with: "network")
                    try await c.client.execute(uri: uri, method: HTTPRequest.Method(method.uppercased())!, headers: [.authorization: "Bearer s3cret"], body: ByteBuffer(string: "{}")) { response in
                        // The router's own 404 has no body; every route of ours answers JSON.
                        #expect(!(response.status == .notFound && response.body.readableBytes == 0), "\(method) \(path) is documented but not served")
                    }
                }
            }
        }
    }
}

/// The repository root, found from this file's path.
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()
