import StateFormat

/// The state of one partition of one stream, and the offset it covers up to: applying
/// the partition's records from `nextOffset` on to `state` continues the computation
/// exactly where the snapshot left it.
public struct PartitionSnapshot: Sendable {
    /// 2: the decision points' learning (reward join and estimators) is in the state.
    /// Version 1 has the same layout without that section and still reads.
    public static let stateVersion: UInt16 = 2

    public var stream: String
    public var partition: Int32
    /// The first offset not included.
    public var nextOffset: Int64
    public var state: PartitionState

    public init(stream: String, partition: Int32, nextOffset: Int64, state: PartitionState) {
        self.stream = stream
        self.partition = partition
        self.nextOffset = nextOffset
        self.state = state
    }

    /// The sealed bytes of the snapshot file (equal state gives equal bytes).
    public func serialized() -> [UInt8] {
        var w = StateWriter()
        w.write(PartitionSnapshot.stateVersion)
        w.write(stream)
        w.write(partition)
        w.write(nextOffset)
        state.encode(to: &w)
        return Envelope.seal(w.bytes)
    }

    /// Reads a snapshot file; its learners adopt `context`'s configuration, and `notes`
    /// says what they could not keep.
    public init(serialized bytes: [UInt8], context: LearnerContext, adopt: Bool = true, notes: inout [String]) throws(StateFormatError) {
        var r = StateReader(try Envelope.open(bytes))
        let version = try r.readUInt16()
        guard version <= PartitionSnapshot.stateVersion else {
            throw StateFormatError("snapshot version \(version) is newer than this build reads (\(PartitionSnapshot.stateVersion))")
        }
        stream = try r.readString()
        partition = try r.readInt32()
        nextOffset = try r.readInt64()
        guard nextOffset >= 0 else { throw StateFormatError("negative offset \(nextOffset)") }
        state = try PartitionState(from: &r, context: context, adopt: adopt, notes: &notes)
        guard r.isAtEnd else { throw StateFormatError("\(r.remaining) unread bytes after the learners") }
    }
}
