import Foundation
import Testing

@testable import Stream

@Suite struct FileSourceTests {
    func temporaryFile(_ contents: String) throws -> String {
        let path = NSTemporaryDirectory() + "arbiter-filesource-\(UUID().uuidString).jsonl"
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Drains a source as the engine would, replying `start` to the assignment.
    func drain(_ source: FileSource, start: Int64?) -> (records: [(Int64, String)], revoked: Bool) {
        var out: [(Int64, String)] = []
        var revoked = false
        while let d = source.next(timeoutMillis: 0) {
            switch d {
            case .assigned(let p, let reply):
                #expect(p == [0])
                reply.put(start.map { [0: $0] } ?? [:])
            case .records(let batch):
                batch.forEach { out.append(($0.offset, String(decoding: $0.value, as: UTF8.self))) }
                source.release(batch)
            case .revoked(_, let reply):
                revoked = true
                reply.put([:])
            case .end:
                return (out, revoked)
            }
        }
        return (out, revoked)
    }

    @Test func offsetsAreLineNumbersAndBlankLinesAreSkipped() throws {
        let path = try temporaryFile("a\r\n\n  \nb\nc")
        let source = try FileSource(path: path, batchSize: 2)
        let (records, revoked) = drain(source, start: nil)
        #expect(records.map(\.0) == [0, 3, 4])
        #expect(records.map(\.1) == ["a", "b", "c"])
        #expect(revoked)
        #expect(source.endOffset(partition: 0) == 5)
    }

    @Test func resumesFromTheOffsetTheEngineGives() throws {
        let path = try temporaryFile("a\nb\nc\nd\n")
        let (records, _) = drain(try FileSource(path: path), start: 2)
        #expect(records.map(\.1) == ["c", "d"])
    }
}
