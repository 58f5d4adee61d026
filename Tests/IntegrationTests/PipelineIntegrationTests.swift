import Common
import Events
import Foundation
import Stream
import Testing

/// The engine against a real broker: counts, dead letters, crash recovery, group
/// handover and a broker outage. Serialized: each test runs its own broker and engines,
/// and the machine has two cores.
@Suite(.serialized) struct PipelineIntegrationTests {
    static let topic = "arbiter.events"

    /// The end offset of every partition of the events topic, read back by a fresh
    /// consumer (lag alone can claim "caught up" from a stale high watermark).
    func partitionEnds(_ broker: Broker) async throws -> [Int: Int] {
        Self.ends(of: try await readTopic(Self.topic, broker: broker))
    }

    static func ends(of records: [TopicMessage]) -> [Int: Int] {
        var ends: [Int: Int] = [:]
        for r in records { ends[Int(r.partition)] = max(ends[Int(r.partition)] ?? 0, Int(r.offset) + 1) }
        return ends
    }

    /// Waits until `engine` holds every partition and has applied it to its end.
    func waitUntilAtEnd(_ engine: EngineProcess, of ends: [Int: Int], _ what: String, seconds: Double = 120) async throws {
        try await engine.eventually(seconds, what) {
            let held = try await engine.status()["partitions"] as? [[String: Any]] ?? []
            return held.count == ends.count && held.allSatisfy { ($0["next_offset"] as? Int) == ends[$0["partition"] as! Int] }
        }
    }

    func brokerWithTopics(partitions: Int = 4, s3: S3Server? = nil) throws -> Broker {
        let broker = try Broker(s3: s3)
        try broker.createEngineTopics(partitions: partitions)
        return broker
    }

    /// The sample events with malformed lines spliced in at fixed places.
    static func eventsWithMalformedLines(into path: String) throws -> (expected: [EventKind: Int], malformed: [String: DecodeError.Category]) {
        let malformed: [String] = [
            "not json at all",
            #"{"type":"view","v":1,"ts":1,"user":"u"}"#,
            #"{"type":"teleport","v":1,"ts":1,"user":"u"}"#,
            #"{"type":"click","v":7,"ts":1,"user":"u"}"#,
            #"{"type":"purchase","v":1,"ts":1,"user":"u","order_id":"o","items":[],"revenue":1,"currency":"USD"}"#,
            #"{"type":"spend","v":1,"ts":1,"channel":"tv","amount":5,"day":"2019-02-29"}"#,
            #"[1,2,3]"#,
            #"{"type":"view","v":1,"ts":1,"user":"u","user":"v","item":"i"}"#,
            "{\"type\":\"view\",\"v\":1,\"ts\":1,\"user\":\"\u{7}\"}",
            #"{"type":"reward","v":1,"ts":"2019-11-24T00:00:00","decision_id":"d","value":1}"#,
        ]
        let lines = try String(contentsOfFile: Paths.sampleEvents, encoding: .utf8).split(separator: "\n").map(String.init)
        var out: [String] = []
        var decoder = EventDecoder()
        var expected: [EventKind: Int] = [:]
        var reasons: [String: DecodeError.Category] = [:]
        for (i, line) in lines.enumerated() {
            if i % 2_900 == 1, out.count / 2_900 < malformed.count {
                let bad = malformed[reasons.count]
                guard case .failure(let e) = decoder.decode(bad) else { throw HarnessError("malformed line decodes: \(bad)") }
                reasons[bad] = e.category
                out.append(bad)
            }
            out.append(line)
            expected[try decoder.decode(line).get().kind, default: 0] += 1
        }
        try (out.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return (expected, reasons)
    }

    @Test func servesConsumesEveryEventExactlyAndDeadLettersEveryMalformedOne() async throws {
        let broker = try brokerWithTopics()
        let dir = Paths.temporary("counts")
        let input = dir + "/events.jsonl"
        let (expected, malformed) = try Self.eventsWithMalformedLines(into: input)
        #expect(malformed.count == 10)
        let total = expected.values.reduce(0, +) + malformed.count

        let engine = EngineProcess(broker: broker, group: "counts", snapshots: dir + "/snapshots", name: "a")
        try engine.start()
        try await waitForExit(try produce(input, to: broker), 60, "produce")
        try await engine.eventually(90, "all \(total) records consumed") {
            let s = try await engine.status()
            return s.accepted + s.deadLetters == total && s.lag == 0
        }
        let status = try await engine.status()
        let byType = status["accepted_by_type"] as! [String: Int]
        for kind in EventKind.allCases {
            #expect(byType[kind.wireName] == expected[kind] ?? 0, "\(kind)")
        }
        #expect(status.deadLetters == malformed.count)
        let metrics = try await engine.metrics()
        #expect(metrics.contains(#"arbiter_events_total{type="impression"} 20000"#), "\(metrics.prefix(2000))")

        // Every malformed line is in the dead-letter topic once, with the reason.
        let letters = try await readTopic("arbiter.dead-letters", broker: broker, expected: malformed.count)
        #expect(letters.count == malformed.count)
        for letter in letters {
            let payload = String(decoding: letter.value, as: UTF8.self)
            #expect(malformed[payload]?.rawValue == letter.headers["arbiter.reason"], "\(payload): \(letter.headers)")
            #expect(letter.headers["arbiter.message"]?.isEmpty == false)
            #expect(letter.key == letter.headers["arbiter.source"])
            #expect(letter.key.hasPrefix(Self.topic + "/"))
        }
        #expect(Set(letters.map { String(decoding: $0.value, as: UTF8.self) }) == Set(malformed.keys))

        // Nothing else lost: the state equals that of a sequential replay of the file.
        try await engine.terminate()
        #expect(try stateDigest(snapshots: dir + "/snapshots").digest == replayDigest(input, partitions: 4))
    }

    @Test func killMinus9MidStreamThenRestartEqualsAnUninterruptedRun() async throws {
        let broker = try brokerWithTopics()
        let dir = Paths.temporary("kill9")
        let producer = try produce(Paths.sampleEvents, to: broker, rate: 2000)

        let first = EngineProcess(broker: broker, group: "crash", snapshots: dir + "/snapshots", name: "first", snapshotIntervalMillis: 200)
        try first.start()
        try await first.eventually(60, "first engine mid-stream") {
            let s = try await first.status()
            return s.accepted > 8_000 && (s["snapshots_written"] as? Int ?? 0) > 0
        }
        let before = try await first.status().accepted
        try await first.kill9()
        #expect(before < 29_081, "the kill must land mid-stream")

        let second = EngineProcess(broker: broker, group: "crash", snapshots: dir + "/snapshots", name: "second", snapshotIntervalMillis: 200)
        try second.start()
        try await waitForExit(producer, 60, "produce")
        try await waitUntilAtEnd(second, of: try await partitionEnds(broker), "restarted engine catches up")
        try await second.terminate()
        let restarted = try stateDigest(snapshots: dir + "/snapshots")
        let events = restarted.json["events"] as! [String: Any]
        #expect(events["accepted"] as? Int == 29_081, "nothing lost, nothing counted twice")

        // The uninterrupted run: a fresh group over the same topic, never killed.
        let clean = EngineProcess(broker: broker, group: "clean", snapshots: dir + "/clean", name: "clean")
        try clean.start()
        try await clean.eventually(90, "uninterrupted run completes") {
            let s = try await clean.status()
            return s.accepted == 29_081 && s.lag == 0
        }
        try await clean.terminate()
        #expect(restarted.digest == (try stateDigest(snapshots: dir + "/clean").digest))
        #expect(restarted.digest == (try replayDigest(Paths.sampleEvents, partitions: 4)))
        #expect(second.tail(400).contains("partition restored from snapshot"))
    }

    @Test func twoProcessesSplitPartitionsAndTheSurvivorTakesOver() async throws {
        let broker = try brokerWithTopics()
        let dir = Paths.temporary("group")
        let producer = try produce(Paths.sampleEvents, to: broker, rate: 3000)
        let a = EngineProcess(broker: broker, group: "pair", snapshots: dir + "/snapshots", name: "a")
        let b = EngineProcess(broker: broker, group: "pair", snapshots: dir + "/snapshots", name: "b")
        try a.start()
        try b.start()
        try await eventually(60, "both engines hold partitions") {
            let (sa, sb) = (try await a.status(), try await b.status())
            return !sa.heldPartitions.isEmpty && !sb.heldPartitions.isEmpty && sa.accepted > 0 && sb.accepted > 0
        }
        let (sa, sb) = (try await a.status(), try await b.status())
        #expect(Set(sa.heldPartitions).isDisjoint(with: sb.heldPartitions))
        #expect(Set(sa.heldPartitions + sb.heldPartitions) == [0, 1, 2, 3])

        try await a.terminate()
        try await b.eventually(60, "survivor holds every partition") { try await b.status().heldPartitions == [0, 1, 2, 3] }
        try await waitForExit(producer, 60, "produce")
        try await waitUntilAtEnd(b, of: try await partitionEnds(broker), "survivor catches up")
        try await b.terminate()
        let merged = try stateDigest(snapshots: dir + "/snapshots")
        #expect(merged.digest == (try replayDigest(Paths.sampleEvents, partitions: 4)))
        #expect(b.tail(400).contains("partition restored from snapshot"))
    }

    @Test func brokerOutageOfThirtySecondsIsSurvivedWithoutLoss() async throws {
        let broker = try brokerWithTopics()
        let inTopic = try await survivesThirtySecondsWithoutTheBroker(broker, name: "outage", down: broker.freeze, up: broker.thaw)
        #expect(inTopic == 29_081, "a hung broker keeps everything")
    }

    /// The broker really stopped and started again (its data kept in S3), not just hung.
    @Test func brokerStoppedForThirtySecondsAndRestartedLosesNothing() async throws {
        let s3 = try S3Server()
        let broker = try brokerWithTopics(s3: s3)
        let inTopic = try await survivesThirtySecondsWithoutTheBroker(broker, name: "restart", down: broker.stop, up: { try? broker.start() })
        if inTopic < 29_081 {
            // Seen with Tansu 0.6.0 on S3: batches acknowledged just before SIGTERM can be
            // missing after the restart, leaving holes in the offsets. The engine is checked
            // against what the topic holds.
            print("note: the broker lost \(29_081 - inTopic) acknowledged messages across its restart")
        }
    }

    /// Takes the broker away for 30 s while `serve` runs and events are produced: the
    /// engine keeps answering /healthz, reports the outage in its metrics, resumes by
    /// itself and ends with exactly the state a sequential replay of the topic's records
    /// gives. Returns how many records the topic holds.
    func survivesThirtySecondsWithoutTheBroker(_ broker: Broker, name: String, down: () -> Void, up: () -> Void) async throws -> Int {
        let dir = Paths.temporary(name)
        let engine = EngineProcess(broker: broker, group: name, snapshots: dir + "/snapshots", name: "e")
        try engine.start()
        let producer = try produce(Paths.sampleEvents, to: broker, rate: 1000)
        try await engine.eventually(60, "consumption under way") { try await engine.status().accepted > 3_000 }

        down()
        let downAt = Date()
        var healthAnswers = 0
        var sawOutageInMetrics = false
        while Date().timeIntervalSince(downAt) < 30 {
            let (code, _) = try await engine.get("/healthz", timeout: 2)
            #expect(code == 200)
            healthAnswers += 1
            let metrics = try await engine.metrics()
            if metrics.contains("arbiter_broker_reachable 0") && !metrics.contains("arbiter_broker_outages 0") {
                sawOutageInMetrics = true
            }
            try await Task.sleep(for: .seconds(1))
        }
        up()
        #expect(healthAnswers >= 20, "healthz answered \(healthAnswers) times in 30 s")
        #expect(sawOutageInMetrics, "metrics never reported the outage")

        try await waitForExit(producer, 180, "produce after the outage")
        // What the topic holds, read back by a fresh consumer; the engine must reach the end
        // of every partition.
        let records = try await readTopic(Self.topic, broker: broker)
        let ends = Self.ends(of: records)
        let inTopic = records.count
        try await waitUntilAtEnd(engine, of: ends, "consumption resumes and reaches the end of every partition", seconds: 180)
        let metrics = try await engine.metrics()
        #expect(metrics.contains("arbiter_broker_reachable 1"))
        try await engine.terminate()

        // The engine's state equals a sequential replay of exactly those records.
        let file = dir + "/topic.jsonl"
        try (records.map { String(decoding: $0.value, as: UTF8.self) }.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let state = try stateDigest(snapshots: dir + "/snapshots")
        #expect((state.json["events"] as! [String: Any])["accepted"] as? Int == inTopic, "nothing lost, nothing counted twice")
        #expect(state.digest == (try replayDigest(file, partitions: 4)))
        return inTopic
    }
}
