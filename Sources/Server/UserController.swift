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
    let pool: BlockingPool

    /// Marks a forwarded request, so that a stale owner answers 503 instead of forwarding
    /// it on (no loops while membership settles).
    static let forwardedHeader = HTTPField.Name("X-Arbiter-Forwarded-By")!

    public init(partitions: any PartitionReader, views: ViewBuilder, routing: UserRouting, instance: String) {
        self.partitions = partitions
        self.views = views
        self.routing = routing
        self.instance = instance
        pool = BlockingPool(threads: 4, name: "forward")
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
                    if let from = request.headers[UserController.forwardedHeader] {
                        throw RouteError(.serviceUnavailable, "partition \(partition) is not held here (forwarded by \(from)); the group is rebalancing, retry")
                    }
                    guard let member = views.view.owner(of: partition), member.instance != instance else {
                        throw RouteError(.serviceUnavailable, "partition \(partition) has no owner right now (the group is rebalancing); retry")
                    }
                    return try await forward(to: member, path: "/v1/users/" + HTTPClient.percentEncoded(user))
                }
            }
        }
    }

    private func forward(to member: Member, path: String) async throws -> Response {
        let url = member.address + path
        let headers = ["\(UserController.forwardedHeader.rawName): \(instance)"]
        let result: Result<HTTPClient.Response, HTTPClient.Failure> = await pool.run {
            do throws(HTTPClient.Failure) { return .success(try HTTPClient.request("GET", url, headers: headers, timeoutMillis: 5000)) } catch { return .failure(error) }
        }
        switch result {
        case .success(let r):
            return json(r.body, status: HTTPResponse.Status(code: r.status))
        case .failure(let e):
            throw RouteError(.serviceUnavailable, "the owner of the user's partition (\(member.instance)) did not answer: \(e.message)")
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

/// A few threads for blocking calls (libcurl requests), so that HTTP event loops never
/// wait on another process.
final class BlockingPool: Sendable {
    private let jobs = Mailbox<@Sendable () -> Void>()

    init(threads: Int, name: String) {
        for k in 0..<threads {
            _ = WorkerThread(name: "\(name)-\(k)") { [jobs] in
                while true {
                    guard let job = jobs.take(timeoutMillis: 60_000) else { continue }
                    job()
                }
            }
        }
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (c: CheckedContinuation<T, Never>) in
            jobs.put { c.resume(returning: body()) }
        }
    }
}
