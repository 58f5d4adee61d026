import Bandits
import Common
import Engine
import Events
import HTTPTypes
import Hummingbird
import Scoring
import Stream

/// `GET /v1/users/{user}`: what the engine holds about one user — purchase history and
/// open decisions — read from the state of the user's partition. Per-user state lives
/// only with the partition's owner: a process that does not own it forwards the request
/// to the owner (from the members the state topic advertises) and returns the owner's
/// answer unchanged, so every process answers the same.
public struct UserController: Sendable {
    public let partitions: any PartitionReader
    public let views: ViewBuilder
    public let routing: UserRouting
    public let instance: String
    let forwarder: Forwarder

    public init(partitions: any PartitionReader, views: ViewBuilder, routing: UserRouting, instance: String, forwarder: Forwarder? = nil) {
        self.partitions = partitions
        self.views = views
        self.routing = routing
        self.instance = instance
        self.forwarder = forwarder ?? Forwarder(instance: instance)
    }

    public func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("/v1/users/:user") { request, context in
            await handle {
                let user = try context.parameters.require("user")
                guard !user.isEmpty, user.utf8.count <= EventDecoder.maximumIDBytes else {
                    throw RouteError(.badRequest, "a user id is 1–\(EventDecoder.maximumIDBytes) bytes")
                }
                let partition = routing.partition(of: user)
                let owner = instance
                switch await partitions.read(partition: partition, { state in UserController.document(user: user, partition: partition, state: state, owner: owner) }) {
                case .answer(let bytes):
                    return json(bytes, status: .ok)
                case .notHeld:
                    return try await forwarder.forward(request, partition: partition, view: views.view, method: "GET", path: "/v1/users/" + HTTPClient.percentEncoded(user))
                }
            }
        }
    }

    /// The user document, built on the engine thread from the partition's state.
    static func document(user: String, partition: Int32, state: PartitionState, owner: String) -> [UInt8] {
        var w = JSONWriter(reservingCapacity: 512)
        w.beginObject()
        w.key("user"); w.string(user)
        w.key("partition"); w.int(Int64(partition))
        w.key("owner"); w.string(owner)
        w.key("customer")
        if let c = state.learner(CustomerLedger.self)?.customers[user] {
            w.beginObject()
            w.key("events"); w.int(c.events)
            w.key("last_seen")
            if c.events > 0 { w.string(Timestamp.formatRFC3339(millis: c.lastSeen)) } else { w.null() }
            w.key("purchases"); w.int(c.purchases)
            w.key("purchase_days"); w.int(c.purchaseDays)
            w.key("revenue"); w.raw(c.revenue.description)
            if c.purchases > 0 {
                w.key("first_purchase"); w.string(Timestamp.formatRFC3339(millis: c.firstPurchase))
                w.key("last_purchase"); w.string(Timestamp.formatRFC3339(millis: c.lastPurchase))
            }
            w.endObject()
        } else {
            w.null()
        }
        w.key("open_decisions"); w.beginArray()
        if let bandits = state.learner(BanditLearner.self) {
            for d in bandits.openDecisions(user: user) {
                w.beginObject()
                w.key("decision_id"); w.string(d.id)
                w.key("surface"); w.string(d.surface)
                w.key("action"); w.string(d.action)
                w.key("window_end"); w.string(Timestamp.formatRFC3339(millis: d.windowEnd))
                w.endObject()
            }
        }
        w.endArray()
        w.endObject()
        return w.bytes
    }
}
