import Bandits
import Common
import Engine
import Events
import Hummingbird
import Stream

/// `/v1/decide` and `/v1/reward`: decisions made on this process's view of the group,
/// and rewards put on the events topic in the partition of their decision's user.
public struct DecisionController: Sendable {
    /// Puts a reward event on the events topic, in the given partition: in `serve` it is
    /// learnt when the partition's owner consumes it, like a reward from any other
    /// producer.
    public typealias RewardSink = @Sendable (Event, Int32) throws -> Void

    public let service: DecisionService
    public let submitReward: RewardSink
    let bodies: JSONBodies

    public init(service: DecisionService, maxBodyBytes: Int, submitReward: @escaping RewardSink) {
        self.service = service
        self.submitReward = submitReward
        bodies = JSONBodies(maxBodyBytes: maxBodyBytes)
    }

    public func register<Context: RequestContext>(on router: Router<Context>) {
        router.post("/v1/decide") { request, _ in
            await handle {
                let body = try await bodies.object(request, known: ["surface", "user", "context", "eligible", "decision_id", "ranking"])
                let decision = try await service.decide(try decisionRequest(body))
                return json(DecisionController.answer(decision), status: .ok)
            }
        }
        router.post("/v1/reward") { request, _ in
            await handle {
                let body = try await bodies.object(request, known: ["decision_id", "value", "user", "ts"])
                let id = try string(body, "decision_id", required: true)!
                guard id.utf8.count <= EventDecoder.maximumIDBytes else { throw RouteError(.badRequest, "'decision_id' is longer than \(EventDecoder.maximumIDBytes) bytes") }
                guard case .number(let value)? = body["value"] else { throw RouteError(.badRequest, "'value' must be a number") }
                guard value.isFinite, abs(value) <= 1e12 else { throw RouteError(.badRequest, "'value' must be finite and at most 1e12 in magnitude") }
                let user = try string(body, "user", required: false)
                if let user, user.utf8.count > EventDecoder.maximumIDBytes { throw RouteError(.badRequest, "'user' is longer than \(EventDecoder.maximumIDBytes) bytes") }
                var ts = WallClock.millis
                if let t = body["ts"] {
                    guard case .number(let n) = t, n == n.rounded(), n >= 0, n < 1e15 else { throw RouteError(.badRequest, "'ts' must be epoch milliseconds") }
                    ts = Int64(n)
                }
                // The reward must reach the partition that holds its decision: the user's.
                let partition: Int32
                if let user {
                    partition = service.routing.partition(of: user)
                } else if let p = service.routing.partition(ofDecision: id) {
                    partition = p
                } else {
                    throw RouteError(.badRequest, "'user' is required: decision '\(clipped(id))' was not made by Arbiter, so its id does not name the partition of its user")
                }
                let event = Event(timestamp: ts, body: .reward(Reward(decisionID: id, value: value, user: user)))
                do {
                    try submitReward(event, partition)
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

    /// The `/v1/decide` answer.
    public static func answer(_ d: Decision) -> [UInt8] {
        var w = JSONWriter(reservingCapacity: 256)
        w.beginObject()
        DecisionRecord.writeOutcome(d, into: &w)
        w.key("ts"); w.int(d.timestamp)
        w.endObject()
        return w.bytes
    }
}
