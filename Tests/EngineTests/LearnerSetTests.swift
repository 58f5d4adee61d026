import Events
import StateFormat
import Stream
import Testing

@testable import Engine

/// On the real sample events (OBD impressions and clicks, CDNOW purchases, MMM spend),
/// state sharded by the Kafka key and merged equals the state of one sequential pass.
@Suite struct LearnerSetTests {
    func sampleEventsInOrder() throws -> [Event] {
        var decoder = EventDecoder()
        var events: [Event] = []
        try FileSource(path: sampleEvents).forEachLine { _, bytes in
            events.append(try decoder.decode(bytes).get())
        }
        return events
    }

    @Test func shardedByKeyAndMergedEqualsSequential() throws {
        let events = try sampleEventsInOrder()
        #expect(events.count == 29_081)
        var sequential = LearnerSet()
        var shards = [LearnerSet](repeating: LearnerSet(), count: 4)
        for e in events {
            sequential.update(e)
            shards[Int(CRC32C.checksum(Array(e.partitionKey.utf8)) % 4)].update(e)
        }
        var merged = LearnerSet()
        for s in shards.shuffled() { merged.merge(s) }
        #expect(merged == sequential)
        #expect(StateSummary.digest(merged) == StateSummary.digest(sequential))
        #expect(sequential.tally.accepted[.impression] == 20_000)
        #expect(sequential.customers.customers.values.filter { $0.purchases > 0 }.count == 2_349)
    }

    @Test func snapshotsRoundTripAndRejectDamage() throws {
        var learners = LearnerSet()
        for e in try sampleEventsInOrder().prefix(5000) { learners.update(e) }
        let snapshot = PartitionSnapshot(stream: "s", partition: 3, nextOffset: 5000, learners: learners)
        let bytes = snapshot.serialized()
        #expect(try PartitionSnapshot(serialized: bytes) == snapshot)
        #expect(snapshot.serialized() == bytes, "serialisation must be canonical")
        var flipped = bytes
        flipped[bytes.count / 2] ^= 0x10
        #expect(throws: StateFormatError.self) { try PartitionSnapshot(serialized: flipped) }
        #expect(throws: StateFormatError.self) { try PartitionSnapshot(serialized: Array(bytes.dropLast(100))) }
    }
}
