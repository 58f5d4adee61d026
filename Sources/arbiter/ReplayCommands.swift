import ArgumentParser
import Engine
import Foundation
import Logging
import Stream

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay a JSON-lines event file through the engine; write state and dead letters.",
        discussion: """
            Runs the same pipeline as `serve` with the file as a single partition (or each \
            file as one partition, merged at the end, when --input is repeated). With \
            --config, the configuration's decision points learn from the decisions \
            (impression events naming a surface) and rewards in the file, as they do in \
            `serve`. Writes state.snap (binary state), state.json (summary and digests), \
            dead-letters.jsonl and snapshots/ into the output directory, which must be \
            empty or absent. The same input always gives byte-identical outputs.
            """)

    @Option(name: .shortAndLong, help: "JSON-lines event file; given several times, file k is partition k (a topic read back one file per partition).")
    var input: [String]

    @Option(name: .shortAndLong, help: "Directory for the outputs.")
    var output: String

    @Option(name: .shortAndLong, help: "YAML configuration whose surfaces learn (optional).")
    var config: String?

    @Option(help: "Learn as a stream of this many partitions (discounted counts decay per partition update); default the number of inputs.")
    var partitions: Int?

    @Option(help: "Log format: json or text.")
    var logFormat = "text"

    func run() throws {
        let logger = LogSetup.bootstrap(format: logFormat, level: "warning")
        let settings = try Configuration.load(path: config, environment: [:])
        if let partitions, partitions < input.count { throw ValidationError("--partitions \(partitions) is fewer than the \(input.count) inputs") }
        let outcome = try Engine.Replay.run(inputs: input, directory: output, context: settings.learnerContext(partitions: input.count), partitions: partitions, logger: logger)
        print("replayed \(outcome.records) records: \(outcome.accepted) accepted, \(outcome.rejected) dead letters; state digest \(outcome.digest)")
    }
}

struct State: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the merged newest state of a snapshot store as JSON.",
        discussion: """
            Merges the newest intact snapshot of every partition (as the processes of one \
            group leave them) and prints the summary with its digests. The store is a \
            directory (engine.snapshot_dir) or s3://BUCKET/PREFIX (credentials from \
            AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY).
            """)

    @Option(help: "Snapshot directory, or s3://BUCKET/PREFIX.")
    var snapshots: String

    @Option(name: .shortAndLong, help: "YAML configuration (its surfaces and S3 settings).")
    var config: String?

    @Option(help: "Object store endpoint for s3:// (default: engine.s3_endpoint of the configuration).")
    var s3Endpoint: String?

    func run() throws {
        let logger = LogSetup.bootstrap(format: "text", level: "warning")
        let settings = try Configuration.load(path: config, environment: ProcessInfo.processInfo.environment)
        let store: any SnapshotStore = snapshots.hasPrefix("s3://")
            ? try ObjectSnapshotStore(url: snapshots, endpoint: s3Endpoint ?? settings.engine.s3Endpoint, region: settings.engine.s3Region, environment: ProcessInfo.processInfo.environment)
            : FileSnapshotStore(root: snapshots)
        let (state, partitions) = try Engine.Replay.mergedState(store: store, context: settings.learnerContext(partitions: 1), logger: logger)
        let bytes = StateSummary.json(state, partitions: partitions)
        FileHandle.standardOutput.write(Data(bytes))
    }
}
