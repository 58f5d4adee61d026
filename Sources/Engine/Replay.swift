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

    /// Replays `input` into `directory`, which must be empty or absent. `context` says
    /// what the learners learn under (the decision points of a configuration, so that
    /// logged decisions teach their policies as in `serve`).
    public static func run(input: String, directory: String, context: LearnerContext, logger: Logger) throws -> Outcome {
        try run(inputs: [input], directory: directory, context: context, logger: logger)
    }

    /// Replays each of `inputs` as one partition of the stream (file k is partition k, in
    /// its own order): the topic's partitions read back one file each replay exactly as
    /// the group learnt them. `state.json` describes the merge of the partitions;
    /// `state.snap` holds it for one input.
    ///
    /// - Parameter partitions: the partition count the stream is learnt as (discounted
    ///   reward counts decay by γ^partitions per update of one partition); default the
    ///   number of inputs. A single file compared with a group's state gives the group's.
    public static func run(inputs: [String], directory: String, context: LearnerContext, partitions: Int? = nil, logger: Logger) throws -> Outcome {
        guard !inputs.isEmpty else { throw ReplayError("nothing to replay: no input file") }
        if FileIO.exists(directory), !(try FileIO.list(directory)).isEmpty {
            throw ReplayError("output directory \(directory) is not empty; replay writes into a fresh directory")
        }
        try FileIO.makeDirectories(directory)
        var context = context
        context.partitions = max(partitions ?? inputs.count, inputs.count)
        let outputs = try FileOutputs(deadLettersPath: directory + "/dead-letters.jsonl")
        let store = FileSnapshotStore(root: directory + "/snapshots", keep: 2)
        var records = 0
        for (k, input) in inputs.enumerated() {
            let source = try FileSource(path: input, streamName: streamName, partition: Int32(k))
            let pipeline = Pipeline(source: source, outputs: outputs, store: store, context: context, settings: .init(snapshotIntervalMillis: 0), logger: logger)
            pipeline.run()
            records += source.recordCount
            guard store.newest(stream: streamName, partition: Int32(k), context: context, logger: logger) != nil else {
                throw ReplayError("replay of \(input) produced no state snapshot (see the log)")
            }
        }
        outputs.close()
        let (state, partitions) = try mergedState(store: store, context: context, logger: logger)
        if inputs.count == 1, let only = store.newest(stream: streamName, partition: 0, context: context, logger: logger) {
            try FileIO.writeAtomically(only.serialized(), to: directory + "/state.snap")
        }
        try FileIO.writeAtomically(StateSummary.json(state, partitions: partitions), to: directory + "/state.json")
        let tally = state.learner(EventTally.self) ?? EventTally()
        return Outcome(records: records, accepted: tally.acceptedTotal, rejected: tally.rejectedTotal, digest: StateSummary.digest(state))
    }

    /// The merged newest state of every partition in a snapshot store.
    public static func mergedState(store: any SnapshotStore, context: LearnerContext, logger: Logger) throws -> (state: PartitionState, partitions: [(partition: Int32, nextOffset: Int64)]) {
        var merged: PartitionState?
        var covered: [(partition: Int32, nextOffset: Int64)] = []
        for snapshot in store.newestOfAll(context: context, logger: logger).sorted(by: { $0.partition < $1.partition }) {
            if merged == nil { merged = snapshot.state } else { merged!.merge(snapshot.state) }
            covered.append((snapshot.partition, snapshot.nextOffset))
        }
        return (try merged ?? PartitionState(context), covered)
    }
}
