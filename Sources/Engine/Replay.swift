import Common
import Logging
import Stream

/// Why a replay could not run or finish.
public struct ReplayError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// `arbiter replay`: a JSON-lines file through the same pipeline `serve` runs, with the
/// state, its summary and the dead letters written to a directory. Deterministic: the
/// same input gives byte-identical outputs.
public enum Replay {
    public struct Outcome: Sendable {
        public var records: Int
        public var accepted: Int64
        public var rejected: Int64
        public var digest: String
    }

    /// Stream name recorded in replay snapshots and dead letters; fixed, so that outputs do
    /// not depend on where the input file lives.
    public static let streamName = "replay"

    /// Replays `input` into `directory`, which must be empty or absent.
    public static func run(input: String, directory: String, logger: Logger) throws -> Outcome {
        if FileIO.exists(directory), !(try FileIO.list(directory)).isEmpty {
            throw ReplayError("output directory \(directory) is not empty; replay writes into a fresh directory")
        }
        try FileIO.makeDirectories(directory)
        let source = try FileSource(path: input, streamName: streamName)
        let outputs = try FileOutputs(deadLettersPath: directory + "/dead-letters.jsonl")
        let store = SnapshotStore(root: directory + "/snapshots", keep: 2)
        let pipeline = Pipeline(source: source, outputs: outputs, store: store, settings: .init(snapshotIntervalMillis: 0), logger: logger)
        pipeline.run()
        outputs.close()
        guard let final = store.newest(stream: streamName, partition: 0, logger: logger) else {
            throw ReplayError("replay of \(input) produced no state snapshot (see the log)")
        }
        try FileIO.writeAtomically(final.serialized(), to: directory + "/state.snap")
        try FileIO.writeAtomically(StateSummary.json(final.learners, partitions: [(0, final.nextOffset)]), to: directory + "/state.json")
        return Outcome(records: source.recordCount, accepted: final.learners.tally.acceptedTotal, rejected: final.learners.tally.rejectedTotal, digest: StateSummary.digest(final.learners))
    }

    /// The merged newest state of every partition in a snapshot directory.
    public static func mergedState(snapshots root: String, logger: Logger) -> (learners: LearnerSet, partitions: [(partition: Int32, nextOffset: Int64)]) {
        var merged = LearnerSet()
        var covered: [(partition: Int32, nextOffset: Int64)] = []
        for snapshot in SnapshotStore(root: root).newestOfAll(logger: logger).sorted(by: { $0.partition < $1.partition }) {
            merged.merge(snapshot.learners)
            covered.append((snapshot.partition, snapshot.nextOffset))
        }
        return (merged, covered)
    }
}
