import Common
import Engine
import HTTPTypes
import Hummingbird
import Stream

/// Sends a request for a partition this process does not hold to the member that holds
/// it (from the members the state topic advertises) and returns the owner's answer
/// unchanged (status, body and header fields), so every process answers alike. Per-user state lives only with the owner.
/// One per process, shared by the routes that forward: its threads are `forward-0…3`.
public struct Forwarder: Sendable {
    /// Marks a forwarded request, so that a stale owner answers 503 instead of forwarding
    /// it on (no loops while membership settles).
    static let forwardedHeader = HTTPField.Name("X-Arbiter-Forwarded-By")!

    let instance: String
    let pool: BlockingPool

    /// The owner's header fields that describe its connection or the body's framing,
    /// which this process's own response sets: every other field (a no-bid's reason, a
    /// retry's delay) is passed on as the owner gave it.
    static let framing: Set<String> = ["content-length", "content-type", "transfer-encoding", "connection", "keep-alive", "date", "server"]

    public init(instance: String) {
        self.instance = instance
        pool = BlockingPool(threads: 4, name: "forward")
    }

    /// The owner's answer to `method path` (with `body`) for `partition`; 503 while the
    /// partition has no owner, or when this request was itself forwarded here.
    func forward(_ request: Request, partition: Int32, view: EngineView, method: String, path: String, body: [UInt8] = []) async throws -> Response {
        if let from = request.headers[Forwarder.forwardedHeader] {
            throw RouteError(.serviceUnavailable, "partition \(partition) is not held here (forwarded by \(from)); the group is rebalancing, retry")
        }
        guard let member = view.owner(of: partition), member.instance != instance else {
            throw RouteError(.serviceUnavailable, "partition \(partition) has no owner right now (the group is rebalancing); retry")
        }
        let url = member.address + path
        let headers = ["\(Forwarder.forwardedHeader.rawName): \(instance)"] + (body.isEmpty ? [] : ["Content-Type: application/json"])
        let result: Result<HTTPClient.Response, HTTPClient.Failure> = await pool.run {
            do throws(HTTPClient.Failure) {
                return .success(try HTTPClient.request(method, url, headers: headers, body: body, timeoutMillis: 5000))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let r):
            var response = json(r.body, status: HTTPResponse.Status(code: r.status))
            for (name, value) in r.headers where !Forwarder.framing.contains(name.lowercased()) {
                if let field = HTTPField.Name(name) { response.headers.append(HTTPField(name: field, value: value)) }
            }
            return response
        case .failure(let e):
            throw RouteError(.serviceUnavailable, "the owner of the user's partition (\(member.instance)) did not answer: \(e.message)")
        }
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
