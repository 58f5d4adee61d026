import Common
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

        let a = try Replay.run(input: input, directory: first, logger: CapturedLogs().logger())
        let b = try Replay.run(input: input, directory: second, logger: CapturedLogs().logger())
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

    @Test func deadLettersCarryPositionReasonAndPayload() throws {
        let dir = temporaryDirectory("replay-dl")
        let input = dir + "-events.jsonl"
        try "{\"type\":\"view\",\"v\":1,\"ts\":1,\"user\":\"u\",\"item\":\"i\"}\n{\"type\":\"view\"}\n\u{FF}\n".data(using: .isoLatin1)!.write(to: URL(fileURLWithPath: input))
        let outcome = try Replay.run(input: input, directory: dir, logger: CapturedLogs().logger())
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
        #expect(throws: ReplayError.self) { try Replay.run(input: sampleEvents, directory: dir, logger: CapturedLogs().logger()) }
    }
}
