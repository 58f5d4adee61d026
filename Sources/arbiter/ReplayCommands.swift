import ArgumentParser
import Engine
import Foundation
import Logging
import Stream

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay a JSON-lines event file through the engine; write state and dead letters.",
        discussion: """
            Runs the same pipeline as `serve` with the file as a single partition. Writes \
            state.snap (binary state), state.json (summary and digest), dead-letters.jsonl \
            and snapshots/ into the output directory, which must be empty or absent. The \
            same input always gives byte-identical outputs.
            """)

    @Option(name: .shortAndLong, help: "JSON-lines event file.")
    var input: String

    @Option(name: .shortAndLong, help: "Directory for the outputs.")
    var output: String

    @Option(help: "Log format: json or text.")
    var logFormat = "text"

    func run() throws {
        let logger = LogSetup.bootstrap(format: logFormat, level: "warning")
        let outcome = try Engine.Replay.run(input: input, directory: output, logger: logger)
        print("replayed \(outcome.records) records: \(outcome.accepted) accepted, \(outcome.rejected) dead letters; state digest \(outcome.digest)")
    }
}

struct State: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the merged newest state of a snapshot directory as JSON.",
        discussion: """
            Merges the newest intact snapshot of every partition (as several engine \
            processes of one group leave them) and prints the summary with its digest.
            """)

    @Option(help: "Snapshot directory (engine.snapshot_dir).")
    var snapshots: String

    func run() throws {
        let logger = LogSetup.bootstrap(format: "text", level: "warning")
        let (learners, partitions) = Engine.Replay.mergedState(snapshots: snapshots, logger: logger)
        let bytes = StateSummary.json(learners, partitions: partitions)
        FileHandle.standardOutput.write(Data(bytes))
    }
}
