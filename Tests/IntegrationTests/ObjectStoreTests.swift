import Foundation
import Testing

/// The object-store snapshot store against a real S3 API server (moto): what it writes
/// reads back, listings page through continuation tokens, and a damaged newest snapshot
/// falls back to the previous one. Driven through `arbiter state`, the command operators
/// use on a store.
@Suite(.serialized) struct ObjectStoreTests {
    @Test func snapshotsRoundTripThroughTheObjectStoreAndDamageFallsBack() async throws {
        let s3 = try S3Server()
        try s3.createBucket("snap")
        let broker = try Broker()
        defer { broker.stop() }
        try broker.createEngineTopics(partitions: 2)
        let dir = Paths.temporary("object-store")
        let env = s3.engineEnvironment(bucket: "snap", prefix: "team/a")
        let engine = EngineProcess(broker: broker, group: "objects", snapshots: dir + "/local", name: "a", extra: env)
        try engine.start()
        // Two halves, each waited on until a snapshot covers it, so every partition has at
        // least two snapshots however fast the engine consumes (it snapshots every 5 s).
        let lines = try String(contentsOfFile: Paths.sampleEvents, encoding: .utf8).split(separator: "\n").map(String.init)
        let halves = [Array(lines[..<(lines.count / 2)]), Array(lines[(lines.count / 2)...])]
        var produced = 0
        for (n, half) in halves.enumerated() {
            let file = dir + "/half\(n).jsonl"
            try (half.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
            try await waitForExit(try produce(file, to: broker), 60, "produce half \(n)")
            produced += half.count
            try await engine.eventually(90, "half \(n) consumed and snapshotted") {
                let s = try await engine.status()
                let durable = (s["partitions"] as? [[String: Any]] ?? []).allSatisfy { ($0["durable_offset"] as? Int) == ($0["next_offset"] as? Int) }
                return s.accepted == produced && durable
            }
        }
        #expect(produced == 29_081)
        try await engine.terminate()
        #expect(!FileManager.default.fileExists(atPath: dir + "/local/arbiter.events"), "no snapshot on the local disk")
        let fromStore = try stateDigest(snapshots: "s3://snap/team/a", environment: ["ARBITER_ENGINE_S3_ENDPOINT": s3.endpoint, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"])
        #expect(fromStore.digest == (try replayDigest(Paths.sampleEvents, partitions: 2)), "the snapshots in the store hold exactly the state of a sequential replay")

        // Damage the newest snapshot of partition 0: the next owner falls back to the one
        // before and re-reads the rest, ending at the same state.
        let keys = try listKeys(s3, bucket: "snap", prefix: "team/a/arbiter.events/p0/")
        #expect(keys.count >= 2, "\(keys)")
        try run("/usr/bin/curl", ["-fsS", "--aws-sigv4", "aws:amz:eu-west-2:s3", "--user", "x:x", "-X", "PUT", "--data-binary", "garbage", "\(s3.endpoint)/snap/\(keys.last!)"])
        let again = EngineProcess(broker: broker, group: "objects", snapshots: dir + "/local2", name: "b", extra: env)
        try again.start()
        var ends: [Int: Int] = [:]
        for r in try await readTopic("arbiter.events", broker: broker) { ends[Int(r.partition)] = max(ends[Int(r.partition)] ?? 0, Int(r.offset) + 1) }
        try await again.eventually(90, "restarted engine at the end of every partition") {
            let held = try await again.status()["partitions"] as? [[String: Any]] ?? []
            return held.count == ends.count && held.allSatisfy { ($0["next_offset"] as? Int) == ends[$0["partition"] as! Int] && ($0["durable_offset"] as? Int) == ends[$0["partition"] as! Int] }
        }
        try await again.terminate()
        let log = (try? String(contentsOfFile: again.logPath, encoding: .utf8)) ?? ""
        #expect(log.contains("snapshot skipped: unreadable"), "the damaged snapshot is reported")
        let after = try stateDigest(snapshots: "s3://snap/team/a", environment: ["ARBITER_ENGINE_S3_ENDPOINT": s3.endpoint, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"])
        #expect(after.digest == fromStore.digest)
    }

    /// Keys under `prefix`, through the S3 API directly (not through the engine's client).
    func listKeys(_ s3: S3Server, bucket: String, prefix: String) throws -> [String] {
        let xml = try run("/usr/bin/curl", ["-fsS", "\(s3.endpoint)/\(bucket)?list-type=2&prefix=\(prefix)"])
        return xml.components(separatedBy: "<Key>").dropFirst().compactMap { $0.components(separatedBy: "</Key>").first }.sorted()
    }
}
