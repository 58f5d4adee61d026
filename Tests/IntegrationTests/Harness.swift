import Foundation
import Logging
import Stream
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Integration tests run the real `arbiter` binary against a real Tansu broker started by
/// `scripts/broker.sh`. `scripts/test.sh` builds both and puts librdkafka 2.16 first in
/// LD_LIBRARY_PATH.
enum Paths {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
    static let arbiter = root + "/.build/debug/arbiter"
    static let brokerScript = root + "/scripts/broker.sh"
    static let sampleEvents = root + "/replay-data/sample-events.jsonl"

    static func temporary(_ name: String) -> String {
        let path = NSTemporaryDirectory() + "arbiter-it-\(name)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// A TCP port nothing is bound to right now, below the kernel's ephemeral range
/// (32768–60999 on Linux). A port from `bind(0)` lies inside that range, where any
/// outgoing connection — a librdkafka client, URLSession — may take it as its local port
/// before the broker or engine it was meant for binds it. Ports are handed out once per
/// test process, starting at an offset derived from the pid so that concurrent test
/// processes rarely probe the same ones.
func freePort() -> Int {
    PortAllocator.shared.next()
}

final class PortAllocator: @unchecked Sendable {
    static let shared = PortAllocator()
    private let lock = NSLock()
    private var candidate = 20_000 + Int(getpid() % 1_000) * 12

    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        while true {
            candidate = candidate >= 32_000 ? 20_000 : candidate + 1
            if Self.bindable(candidate) { return candidate }
        }
    }

    private static func bindable(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}

/// A child process started with posix_spawn and reaped with waitpid. (Foundation's
/// `Process` waits on a run loop that async test contexts do not always turn, and hangs.)
final class Child: @unchecked Sendable {
    let pid: pid_t
    private var status: Int32?
    private let lock = NSLock()

    /// Starts `executable` with stdout and stderr appended to `outputPath`.
    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:], outputPath: String) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0.key)=\($0.value)" }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard rc == 0 else { throw HarnessError("cannot start \(executable): \(String(cString: strerror(rc)))") }
        self.pid = pid
    }

    /// The exit status once the child has ended (nil while it runs).
    var exitStatus: Int32? {
        lock.lock()
        defer { lock.unlock() }
        if status == nil {
            var raw: Int32 = 0
            if waitpid(pid, &raw, WNOHANG) == pid {
                status = (raw & 0x7F) == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F)
            }
        }
        return status
    }

    var isRunning: Bool { exitStatus == nil }

    func signal(_ sig: Int32) { kill(pid, sig) }

    /// Blocks until the child ends.
    func wait() -> Int32 {
        while true {
            if let s = exitStatus { return s }
            usleep(20_000)
        }
    }
}

/// Runs a command to completion; throws with its output when it fails.
@discardableResult
func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> String {
    let outputPath = NSTemporaryDirectory() + "arbiter-it-run-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: outputPath) }
    let child = try Child(executable, arguments, environment: environment, outputPath: outputPath)
    let status = child.wait()
    let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    guard status == 0 else {
        throw HarnessError("\(executable) \(arguments.joined(separator: " ")) exited \(status):\n\(text)")
    }
    return text
}

/// Polls `condition` until it holds or `seconds` pass.
func eventually(_ seconds: Double, _ what: String, _ condition: () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if (try? await condition()) == true { return }
        try await Task.sleep(for: .milliseconds(200))
    }
    throw HarnessError("timed out after \(seconds) s waiting for: \(what)")
}

/// A local S3 server (moto) for a broker whose data must survive a restart.
final class S3Server: @unchecked Sendable {
    let port = freePort()
    let directory = Paths.temporary("s3")
    let bucket = "tansu"

    init() throws {
        try run(Paths.root + "/scripts/s3.sh", ["start", directory, String(port), bucket])
    }

    deinit { _ = try? run(Paths.root + "/scripts/s3.sh", ["stop", directory]) }

    var endpoint: String { "http://127.0.0.1:\(port)" }

    /// Creates another bucket (snapshots of an engine group, beside the broker's).
    func createBucket(_ name: String) throws {
        try run("/usr/bin/curl", ["-fsS", "-X", "PUT", "\(endpoint)/\(name)"])
    }

    /// The environment an engine needs to keep its snapshots in `bucket` here.
    func engineEnvironment(bucket: String, prefix: String) -> [String: String] {
        [
            "ARBITER_ENGINE_SNAPSHOT_STORE": "s3://\(bucket)/\(prefix)", "ARBITER_ENGINE_S3_ENDPOINT": endpoint, "ARBITER_ENGINE_S3_REGION": "eu-west-2",
            "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
        ]
    }

    /// The environment a broker needs to use this server.
    var brokerEnvironment: [String: String] {
        [
            "AWS_ENDPOINT": "http://127.0.0.1:\(port)", "AWS_ALLOW_HTTP": "true",
            "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "eu-west-2",
        ]
    }
}

/// A Tansu broker on a free loopback port, stopped on deinit. In memory by default;
/// given an S3 server, its topics, data and group offsets survive `restart`.
final class Broker: @unchecked Sendable {
    let port = freePort()
    let directory = Paths.temporary("broker")
    private let s3: S3Server?
    var bootstrap: String { "127.0.0.1:\(port)" }

    init(s3: S3Server? = nil) throws {
        self.s3 = s3
        try start()
    }

    deinit { stop() }

    func start() throws {
        var arguments = ["start", directory, String(port)]
        if let s3 { arguments.append("s3://\(s3.bucket)/") }
        try run(Paths.brokerScript, arguments, environment: s3?.brokerEnvironment ?? [:])
    }

    func createTopic(_ name: String, partitions: Int, configs: [String] = []) throws {
        try run(Paths.brokerScript, ["topic", String(port), name, String(partitions)] + configs)
    }

    /// The topics `serve` needs: the events topic, dead letters, and the compacted state
    /// topic the group shares.
    func createEngineTopics(partitions: Int) throws {
        try createTopic("arbiter.events", partitions: partitions)
        try createTopic("arbiter.dead-letters", partitions: 1)
        try createTopic("arbiter.state", partitions: 1, configs: ["cleanup.policy=compact"])
    }

    var pid: Int32 { Int32((try? String(contentsOfFile: directory + "/tansu.pid", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0 }

    /// SIGSTOP: the broker keeps its sockets but answers nothing, as a hung or
    /// partitioned broker would.
    func freeze() { kill(pid, SIGSTOP) }
    func thaw() { kill(pid, SIGCONT) }

    func stop() {
        _ = try? run(Paths.brokerScript, ["stop", directory])
    }
}

/// One `arbiter serve` process.
final class EngineProcess: @unchecked Sendable {
    let httpPort = freePort()
    let logPath: String
    private var child: Child?
    private let environment: [String: String]
    private let config: String

    /// - Parameters: the broker, the consumer group, and the snapshot directory shared by
    ///   the group's processes.
    init(
        broker: Broker, group: String, snapshots: String, name: String, snapshotIntervalMillis: Int = 300, extra: [String: String] = [:],
        config: String = Paths.root + "/config/arbiter.yaml"
    ) {
        logPath = snapshots + "-\(name).log"
        self.config = config
        environment = extra.merging([
            "ARBITER_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
            "ARBITER_KAFKA_GROUP_ID": group,
            "ARBITER_ENGINE_SNAPSHOT_DIR": snapshots,
            "ARBITER_ENGINE_SNAPSHOT_INTERVAL_MS": String(snapshotIntervalMillis),
            "ARBITER_HTTP_PORT": String(httpPort),
            "ARBITER_KAFKA_PROPERTY_SESSION_TIMEOUT_MS": "6000",
            "ARBITER_KAFKA_PROPERTY_HEARTBEAT_INTERVAL_MS": "500",
            "ARBITER_LOG_LEVEL": "info",
        ]) { $1 }
    }

    func start() throws {
        child = try Child(Paths.arbiter, ["serve", "--config", config], environment: environment, outputPath: logPath)
    }

    var isRunning: Bool { child?.isRunning ?? false }

    /// A test that failed half-way must not leave an engine running.
    deinit {
        if let child, child.isRunning {
            child.signal(SIGKILL)
            _ = child.wait()
        }
    }

    /// SIGTERM, then waits: the engine flushes its partitions and leaves the group.
    func terminate() async throws {
        guard let child, child.isRunning else { return }
        child.signal(SIGTERM)
        try await eventually(60, "engine exit after SIGTERM") { !child.isRunning }
        #expect(child.exitStatus == 0, "serve exited \(String(describing: child.exitStatus)); log:\n\(tail())")
    }

    /// Waits for `condition`; fails at once if the engine has exited, and on either
    /// failure says what the engine last logged.
    func eventually(_ seconds: Double, _ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try? await condition()) == true { return }
            if let child, !child.isRunning {
                throw HarnessError("engine exited (\(String(describing: child.exitStatus))) while waiting for: \(what); log:\n\(tail())")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw HarnessError("timed out after \(seconds) s waiting for: \(what); engine log:\n\(tail())")
    }

    /// SIGKILL: no flush, no goodbye.
    func kill9() async throws {
        guard let child else { return }
        child.signal(SIGKILL)
        try await eventually(10, "engine death") { !child.isRunning }
    }

    func get(_ path: String, timeout: Double = 5) async throws -> (status: Int, body: Data) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(httpPort)\(path)")!)
        request.timeoutInterval = timeout
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as! HTTPURLResponse).statusCode, data)
    }

    /// POSTs a JSON body; returns the status and the parsed JSON answer.
    func post(_ path: String, _ json: String, timeout: Double = 5) async throws -> (status: Int, body: [String: Any]) {
        let (data, response) = try await URLSession.shared.data(for: postRequest(path, json, timeout: timeout))
        return ((response as! HTTPURLResponse).statusCode, (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:])
    }

    /// POSTs a JSON body; returns the status and the response's header fields (names
    /// lowercased).
    func postForHeaders(_ path: String, _ json: String, timeout: Double = 5) async throws -> (status: Int, headers: [String: String]) {
        let (_, response) = try await URLSession.shared.data(for: postRequest(path, json, timeout: timeout))
        let http = response as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (name, value) in http.allHeaderFields { headers["\(name)".lowercased()] = "\(value)" }
        return (http.statusCode, headers)
    }

    private func postRequest(_ path: String, _ json: String, timeout: Double) -> URLRequest {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(httpPort)\(path)")!)
        request.httpMethod = "POST"
        request.timeoutInterval = timeout
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(json.utf8)
        return request
    }

    func status() async throws -> [String: Any] {
        let (code, body) = try await get("/v1/status")
        guard code == 200, let json = try JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw HarnessError("status \(code)")
        }
        return json
    }

    func metrics() async throws -> String {
        String(decoding: try await get("/metrics").body, as: UTF8.self)
    }

    func tail(_ lines: Int = 40) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }
}

/// Status helpers.
extension Dictionary where Key == String, Value == Any {
    var accepted: Int { self["accepted"] as? Int ?? -1 }
    var deadLetters: Int { self["dead_letters"] as? Int ?? -1 }
    var lag: Int { self["lag"] as? Int ?? -1 }
    var heldPartitions: [Int] { (self["partitions"] as? [[String: Any]] ?? []).compactMap { $0["partition"] as? Int } }
}

/// `arbiter produce` in the background.
func produce(_ file: String, to broker: Broker, topic: String = "arbiter.events", rate: Double = 0) throws -> Child {
    try Child(
        Paths.arbiter,
        ["produce", "--input", file, "--topic", topic, "--bootstrap-servers", broker.bootstrap, "--rate", String(rate)],
        outputPath: NSTemporaryDirectory() + "arbiter-it-produce-\(UUID().uuidString).log")
}

func waitForExit(_ child: Child, _ seconds: Double, _ what: String) async throws {
    try await eventually(seconds, what) { !child.isRunning }
    guard child.exitStatus == 0 else { throw HarnessError("\(what): exit \(String(describing: child.exitStatus))") }
}

/// The digest of the merged state in a snapshot directory (`arbiter state`).
func stateDigest(snapshots: String, environment: [String: String] = [:]) throws -> (digest: String, json: [String: Any]) {
    let text = try run(Paths.arbiter, ["state", "--snapshots", snapshots, "--config", Paths.root + "/config/arbiter.yaml"], environment: environment)
    let json = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
    return (json["digest"] as! String, json)
}

/// The digest `arbiter replay` computes for a file (under the reference configuration,
/// as `serve` runs in these tests): the uninterrupted sequential run.
/// `partitions` is the topic's partition count, which discounted reward counts depend on.
func replayDigest(_ file: String, partitions: Int) throws -> String {
    let out = Paths.temporary("replay")
    try FileManager.default.removeItem(atPath: out)
    let text = try run(Paths.arbiter, ["replay", "--input", file, "--output", out, "--config", Paths.root + "/config/arbiter.yaml", "--partitions", String(partitions)])
    return String(text.split(separator: " ").last!.trimmingCharacters(in: .whitespacesAndNewlines))
}

/// `arbiter replay` of files, one per partition, under `config`: the summary JSON.
func replaySummary(_ files: [String], config: String) throws -> [String: Any] {
    let out = Paths.temporary("replay")
    try FileManager.default.removeItem(atPath: out)
    try run(Paths.arbiter, ["replay", "--output", out, "--config", config] + files.flatMap { ["--input", $0] })
    return try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/state.json"))) as! [String: Any]
}

/// A message read back from a topic.
struct TopicMessage {
    var partition: Int32
    var offset: Int64
    var key: String
    var value: [UInt8]
    var headers: [String: String]
}

/// Reads a topic from the beginning with a fresh consumer group, until `expected`
/// messages arrived, or (with no expectation) until nothing new came for `idleSeconds`.
func readTopic(_ topic: String, broker: Broker, expected: Int? = nil, idleSeconds: Double = 5, seconds: Double = 60) async throws -> [TopicMessage] {
    let source = try KafkaSource(
        settings: .init(topic: topic, properties: ["bootstrap.servers": broker.bootstrap, "group.id": "reader-\(UUID().uuidString)"]),
        logger: Logger(label: "reader"))
    try source.start()
    var messages: [TopicMessage] = []
    let deadline = Date().addingTimeInterval(seconds)
    var lastArrival = Date()
    var assigned = false
    while Date() < deadline {
        if let expected, messages.count >= expected { break }
        if expected == nil, assigned, Date().timeIntervalSince(lastArrival) > idleSeconds { break }
        guard let delivery = source.next(timeoutMillis: 100) else { continue }
        switch delivery {
        case .assigned(_, let reply):
            reply.put([:])
            assigned = true
            lastArrival = Date()
        case .revoked(_, let reply): reply.put([:])
        case .records(let batch):
            batch.forEach { r in
                var headers: [String: String] = [:]
                for name in ["arbiter.reason", "arbiter.message", "arbiter.source"] {
                    if let v = r.header(name) { headers[name] = String(decoding: v, as: UTF8.self) }
                }
                messages.append(TopicMessage(partition: r.partition, offset: r.offset, key: String(decoding: r.key, as: UTF8.self), value: Array(r.value), headers: headers))
            }
            source.release(batch)
            lastArrival = Date()
        case .end: break
        }
    }
    source.stop()
    while let delivery = source.next(timeoutMillis: 5000) {
        switch delivery {
        case .revoked(_, let reply), .assigned(_, let reply): reply.put([:])
        case .records(let batch): source.release(batch)
        case .end:
            source.join()
            return messages
        }
    }
    return messages
}
