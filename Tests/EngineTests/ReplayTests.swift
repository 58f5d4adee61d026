import Bandits
import Common
import Events
import Foundation
import Stream
import Testing

@testable import Engine

@Suite struct ReplayTests {
    @Test func replayingTheSameFileTwiceGivesByteIdenticalOutputs() throws {
        let first = temporaryDirectory("replay-a")
        let second = temporaryDirectory("replay-b")
        let input = temporaryDirectory("replay-in") + "/events.jsonl"
        // The sample plus malformed lines, so that dead letters are compared too.
        var text = try String(contentsOfFile: sampleEvents, encoding: .utf8)
        text += "{\"type\":\"view\"}\nnot json\n{\"type\":\"spend\",\"v\":1,\"ts\":1,\"channel\":\"tv\",\"amount\":-1,\"day\":\"2019-01-01\"}\n"
        try text.write(toFile: input, atomically: true, encoding: .utf8)

        let a = try Replay.run(input: input, directory: first, context: LearnerContext(), logger: CapturedLogs().logger())
        let b = try Replay.run(input: input, directory: second, context: LearnerContext(), logger: CapturedLogs().logger())
        #expect(a.digest == b.digest)
        #expect(a.accepted == 29_081 && a.rejected == 3)
        let files = ["state.snap", "state.json", "dead-letters.jsonl", "snapshots/replay/p0/00000000000000029084.snap"]
        for name in files {
            let x = try FileIO.readAll(first + "/" + name)
            let y = try FileIO.readAll(second + "/" + name)
            #expect(!x.isEmpty, "\(name) is empty")
            #expect(x == y, "\(name) differs")
        }
        #expect(try FileIO.list(first) == FileIO.list(second))
    }

    @Test func replayingEachPartitionsRecordsReproducesTheGroupsPolicies() async throws {
        let surfaces = [DecisionServiceTests.banner, DecisionServiceTests.offer]
        let clock = TestClock()
        let e = try InProcessEngine(surfaces: surfaces, partitions: 3, seed: 1, clock: clock.read)
        for k in 0..<600 {
            let surface = k % 2 == 0 ? "banner" : "offer"
            let d = try await e.decisions.decide(DecisionRequest(surface: surface, user: "u\(k % 90)", context: surface == "offer" ? ["recency": Double(k % 7)] : [:]))
            var events: [Event] = []
            if k % 4 == 0 { events.append(Event(timestamp: clock.millis + 3, body: .click(Click(user: d.user, decisionID: d.id)))) }
            if k % 5 == 0 {
                let price = Money(units: Double(k % 13))!
                events.append(Event(timestamp: clock.millis + 4, body: .purchase(Purchase(user: d.user, orderID: "o\(k)", items: [.init(item: "i", price: price, quantity: 1)], revenue: price, currency: "EUR"))))
            }
            if k % 7 == 0 { events.append(Event(timestamp: clock.millis + 2, body: .reward(Reward(decisionID: d.id, value: 0.5)))) }
            e.apply(events)
            clock.advance(50)
        }
        // Every partition's clock passes the last windows, so revenue surfaces learn too.
        e.apply((Int32(0)..<3).map { p in
            let user = (0..<1000).map { "closing-\($0)" }.first { e.routing.partition(of: $0) == p }!
            return Event(timestamp: clock.millis + 3_600_000, body: .click(Click(user: user)))
        })
        let dir = temporaryDirectory("replay-partitions")
        var inputs: [String] = []
        for p in Int32(0)..<3 {
            let path = dir + "/p\(p).jsonl"
            let lines = e.records(partition: p).map { String(decoding: $0, as: UTF8.self) }
            #expect(!lines.isEmpty)
            try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            inputs.append(path)
        }
        let config = Configuration()
        var withSurfaces = config
        withSurfaces.surfaces = surfaces
        _ = try Replay.run(inputs: inputs, directory: dir + "/out", context: withSurfaces.learnerContext(partitions: 3), logger: CapturedLogs().logger())
        let (replayed, covered) = try Replay.mergedState(store: FileSnapshotStore(root: dir + "/out/snapshots"), context: e.context, logger: CapturedLogs().logger())
        #expect(covered.map(\.partition) == [0, 1, 2])
        let group = e.views.view.bandits.shared!
        let replay = replayed.learner(BanditLearner.self)!.shared!
        #expect(StateSummary.digest(replay) == StateSummary.digest(group), "replay of the partitions' records learns exactly the group's policies")
        #expect(group.surfaces.allSatisfy { $0.estimator.updates > 100 }, "\(group.surfaces.map(\.estimator.updates))")
    }

    @Test func deadLettersCarryPositionReasonAndPayload() throws {
        let dir = temporaryDirectory("replay-dl")
        let input = dir + "-events.jsonl"
        try "{\"type\":\"view\",\"v\":1,\"ts\":1,\"user\":\"u\",\"item\":\"i\"}\n{\"type\":\"view\"}\n\u{FF}\n".data(using: .isoLatin1)!.write(to: URL(fileURLWithPath: input))
        let outcome = try Replay.run(input: input, directory: dir, context: LearnerContext(), logger: CapturedLogs().logger())
        #expect(outcome.accepted == 1 && outcome.rejected == 2)
        let lines = try String(contentsOfFile: dir + "/dead-letters.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
        #expect(first["offset"] as? Int == 1)
        #expect(first["reason"] as? String == "missing_field")
        #expect(first["message"] as? String == "missing field 'v' (schema version)")
        #expect(first["payload"] as? String == "{\"type\":\"view\"}")
        let second = try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as! [String: Any]
        #expect(second["reason"] as? String == "not_json")
        #expect(second["payload_base64"] as? String == "/w==")
    }

    @Test func refusesANonEmptyOutputDirectory() throws {
        let dir = temporaryDirectory("replay-busy")
        try "x".write(toFile: dir + "/keep", atomically: true, encoding: .utf8)
        #expect(throws: ReplayError.self) { try Replay.run(input: sampleEvents, directory: dir, context: LearnerContext(), logger: CapturedLogs().logger()) }
    }
}
