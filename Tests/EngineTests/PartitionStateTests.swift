import Bandits
import Events
import StateFormat
import Stream
import Testing

@testable import Engine

/// On the real sample events (OBD impressions and clicks, CDNOW purchases, MMM spend),
/// state sharded by the Kafka key and merged equals the state of one sequential pass,
/// for every learner of the registry.
@Suite struct PartitionStateTests {
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
        let context = LearnerContext()
        var sequential = try PartitionState(context)
        var shards = try (0..<4).map { _ in try PartitionState(context) }
        for e in events {
            sequential.learn(e)
            shards[Int(CRC32C.checksum(Array(e.partitionKey.utf8)) % 4)].learn(e)
        }
        var merged = shards[2]
        for k in [0, 3, 1] { merged.merge(shards[k]) }
        #expect(merged.bytes == sequential.bytes)
        #expect(StateSummary.digest(merged) == StateSummary.digest(sequential))
        #expect(sequential.learner(EventTally.self)!.accepted[.impression] == 20_000)
        #expect(sequential.learners.count == LearnerRegistry.all.count, "every registered learner is in the state")
    }

    @Test func snapshotsRoundTripAndRejectDamage() throws {
        var state = try PartitionState(LearnerContext())
        for e in try sampleEventsInOrder().prefix(5000) { state.learn(e) }
        let snapshot = PartitionSnapshot(stream: "s", partition: 3, nextOffset: 5000, state: state)
        let bytes = snapshot.serialized()
        var notes: [String] = []
        #expect(try PartitionSnapshot(serialized: bytes, context: LearnerContext(), notes: &notes).serialized() == bytes, "serialisation must be canonical")
        var flipped = bytes
        flipped[bytes.count / 2] ^= 0x10
        #expect(throws: StateFormatError.self) { try PartitionSnapshot(serialized: flipped, context: LearnerContext(), notes: &notes) }
        #expect(throws: StateFormatError.self) { try PartitionSnapshot(serialized: Array(bytes.dropLast(100)), context: LearnerContext(), notes: &notes) }
    }

    @Test func aSnapshotOfTheFirstVersionStillReadsWithFreshDecisionLearning() throws {
        // Version 1: the same layout, six learners, no decision section.
        var state = try PartitionState(LearnerContext())
        for e in try sampleEventsInOrder().prefix(1000) { state.learn(e) }
        var w = StateWriter()
        w.write(UInt16(1))
        w.write("events")
        w.write(Int32(0))
        w.write(Int64(1000))
        let old = state.learners.filter { !($0 is BanditLearner) }
        w.writeVarint(UInt64(old.count))
        for l in old {
            func section<L: Learner>(_ l: L) {
                w.write(L.name)
                w.write(section: l)
            }
            section(l)
        }
        var notes: [String] = []
        let surfaces = [SurfaceLearning(name: "s", policy: PolicySpec(algorithm: .ucb1), features: [], armFeatureCount: 0, reward: .click, attributionWindowMillis: 10)]
        let read = try PartitionSnapshot(serialized: Envelope.seal(w.bytes), context: LearnerContext(surfaces: surfaces), notes: &notes)
        #expect(read.nextOffset == 1000 && notes.isEmpty)
        #expect(read.state.learner(EventTally.self) == state.learner(EventTally.self))
        #expect(read.state.learner(BanditLearner.self)?.surfaces.map(\.learning.name) == ["s"])
    }
}
