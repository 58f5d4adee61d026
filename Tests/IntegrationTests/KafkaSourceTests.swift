import Foundation
import Logging
import Stream
import Testing

/// `KafkaSource` on its own against a real broker: when the engine stops taking records,
/// memory stays bounded and fetching pauses; when it takes them again, every record
/// arrives once, in partition order.
@Suite(.serialized) struct KafkaSourceTests {
    @Test func aStalledEngineKeepsTheBufferBoundedAndPausesFetching() async throws {
        let broker = try Broker()
        let topic = "bounded"
        try broker.createTopic(topic, partitions: 2)
        let dir = Paths.temporary("bounded")
        let events = dir + "/events.jsonl"
        let lines = try String(contentsOfFile: Paths.sampleEvents, encoding: .utf8).split(separator: "\n").prefix(20_000)
        try (lines.joined(separator: "\n") + "\n").write(toFile: events, atomically: true, encoding: .utf8)
        try await waitForExit(try produce(events, to: broker, topic: topic), 60, "produce")

        let budget = 256 * 1024
        let batch = 100
        let source = try KafkaSource(
            settings: .init(
                topic: topic,
                properties: [
                    "bootstrap.servers": broker.bootstrap, "group.id": "bounded",
                    "session.timeout.ms": "6000", "heartbeat.interval.ms": "500",
                    "queued.max.messages.kbytes": "1024",
                ],
                maxBufferedBytes: budget, pollBatchSize: batch, pauseAfterMillis: 500),
            logger: Logger(label: "bounded"))
        try source.start()

        // Take the assignment, then stop taking records: the engine is "slow".
        var pending: [RecordBatch] = []
        while true {
            guard let d = source.next(timeoutMillis: 100) else { continue }
            if case .assigned(_, let reply) = d {
                reply.put([:])
                break
            }
            if case .records(let b) = d { pending.append(b) }
        }
        // Stall for at least 3 s, and on a loaded machine (other suites run alongside)
        // until fetching has paused, up to 30 s: the checks below are about where the
        // buffer stops, not how fast the broker fills it.
        var peak = 0
        let stallStarted = Date()
        while Date().timeIntervalSince(stallStarted) < 3
            || (!source.health.current.paused && Date().timeIntervalSince(stallStarted) < 30)
        {
            peak = max(peak, source.bufferedBytes)
            try await Task.sleep(for: .milliseconds(20))
        }
        // One poll batch may cross the budget before the poll thread sees it is full.
        let largestLine = lines.map(\.utf8.count).max()! + 64
        #expect(peak >= budget, "the stall never filled the buffer (peak \(peak))")
        #expect(peak <= budget + batch * largestLine, "buffer grew to \(peak) bytes")
        #expect(source.health.current.paused, "a stall longer than pauseAfterMillis must pause fetching")

        // Drain: every record exactly once, offsets consecutive per partition.
        var next: [Int32: Int64] = [0: 0, 1: 0]
        var count = 0
        var ordered = true
        func consume(_ b: RecordBatch) {
            b.forEach { r in
                if r.offset != next[r.partition] { ordered = false }
                next[r.partition] = r.offset + 1
                count += 1
            }
            source.release(b)
        }
        pending.forEach(consume)
        let deadline = Date().addingTimeInterval(60)
        while count < lines.count, Date() < deadline {
            guard let d = source.next(timeoutMillis: 100) else { continue }
            switch d {
            case .records(let b): consume(b)
            case .assigned(_, let reply), .revoked(_, let reply): reply.put([:])
            case .end: break
            }
        }
        #expect(count == lines.count)
        #expect(ordered)
        #expect(!source.health.current.paused, "fetching resumes once the queue drains")

        source.stop()
        while let d = source.next(timeoutMillis: 5000) {
            switch d {
            case .records(let b): source.release(b)
            case .assigned(_, let reply), .revoked(_, let reply): reply.put([:])
            case .end:
                source.join()
                return
            }
        }
        Issue.record("source did not end")
    }
}
