import Common
import Foundation
import Stream
import Testing

@testable import Engine

@Suite struct SnapshotStoreTests {
    func snapshot(_ offset: Int64) -> PartitionSnapshot {
        var state = try! PartitionState(LearnerContext())
        state.reject(category: "offset-\(offset)")
        return PartitionSnapshot(stream: "events", partition: 1, nextOffset: offset, state: state)
    }

    @Test func keepsTheNewestAndPrunesOnlyOlderFiles() throws {
        let store = FileSnapshotStore(root: temporaryDirectory("store"), keep: 2)
        for offset: Int64 in [5, 7, 20, 100] { try store.write(snapshot(offset)) }
        #expect(try FileIO.list(store.root + "/events/p1") == ["00000000000000000020.snap", "00000000000000000100.snap"])
        // A writer behind the newest file (a stale owner) never deletes what it wrote or
        // anything newer.
        try store.write(snapshot(50))
        #expect(try FileIO.list(store.root + "/events/p1") == ["00000000000000000020.snap", "00000000000000000050.snap", "00000000000000000100.snap"])
        #expect(store.newest(stream: "events", partition: 1, context: LearnerContext(), logger: CapturedLogs().logger())?.nextOffset == 100)
        #expect(store.newest(stream: "events", partition: 2, context: LearnerContext(), logger: CapturedLogs().logger()) == nil)
        #expect(try FileIO.list(store.root + "/events/p1").allSatisfy { !$0.contains(".tmp") })
    }

    @Test(arguments: ["truncate", "corrupt", "empty", "garbage"])
    func skipsADamagedNewestSnapshotForThePreviousOneWithALogLine(damage: String) throws {
        let store = FileSnapshotStore(root: temporaryDirectory("damaged"), keep: 3)
        try store.write(snapshot(10))
        try store.write(snapshot(20))
        let newest = store.root + "/events/p1/00000000000000000020.snap"
        var bytes = try FileIO.readAll(newest)
        switch damage {
        case "truncate": bytes.removeLast(bytes.count / 2)
        case "corrupt": bytes[bytes.count - 9] ^= 0xFF
        case "empty": bytes = []
        default: bytes = Array("not a snapshot at all".utf8)
        }
        try Data(bytes).write(to: URL(fileURLWithPath: newest))
        let logs = CapturedLogs()
        let restored = store.newest(stream: "events", partition: 1, context: LearnerContext(), logger: logs.logger())
        #expect(restored?.serialized() == snapshot(10).serialized())
        #expect(logs.all.contains { $0.contains("snapshot skipped") && $0.contains("00000000000000000020.snap") }, "\(logs.all)")
    }
}
