/// When a partition's periodic snapshot is due.
///
/// A snapshot rewrites the partition's whole state, and the engine thread copies that
/// state at its next change. A state that has grown large — decisions wait for their
/// rewards for the whole attribution window, a day on the reference "offer" surface, up
/// to `decisions.max_pending` per partition — rewritten every interval for a few new
/// records would cost more than learning them. So a large state is rewritten only once
/// the partition has consumed `inputRatio` times its size in new records: snapshot work
/// stays proportional to input, and a restart replays at most that much. Small states
/// are written every interval as always; `maxIntervalMillis` bounds how far back a
/// restart may have to read, which must stay within the topic's retention.
public struct SnapshotSchedule: Sendable, Equatable {
    /// Below this size a snapshot costs a few milliseconds: written every interval.
    public static let smallStateBytes = 1 << 20

    /// New input, as a multiple of the last snapshot's size, before a large state is
    /// rewritten; 0 rewrites every interval whatever the size.
    public var inputRatio: Double
    /// Longest time between snapshots of a changed partition.
    public var maxIntervalMillis: Int

    public init(inputRatio: Double = 1, maxIntervalMillis: Int = 600_000) {
        self.inputRatio = inputRatio
        self.maxIntervalMillis = maxIntervalMillis
    }

    /// Whether a changed partition should be snapshotted now.
    /// - Parameters:
    ///   - snapshotBytes: size of its newest snapshot (0: none written by this process).
    ///   - inputBytes: bytes of records it applied since the state that snapshot holds.
    ///   - millisSinceSnapshot: time since that snapshot was taken.
    public func isDue(snapshotBytes: Int, inputBytes: Int, millisSinceSnapshot: Int) -> Bool {
        snapshotBytes < Self.smallStateBytes
            || Double(inputBytes) >= inputRatio * Double(snapshotBytes)
            || millisSinceSnapshot >= maxIntervalMillis
    }
}
