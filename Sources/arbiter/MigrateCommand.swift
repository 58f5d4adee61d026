import ArgumentParser
import Common
import Engine
import Foundation

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Carry what an earlier build's per-process decision state learnt into a configuration.",
        discussion: """
            Builds before partitioned learning kept each process's policies in \
            <snapshot_dir>/decisions/<instance>.snap; this build learns in the partitions \
            and does not read those files. This command reads them (every process's, for a \
            group) and writes the configuration with each arm's observations added to its \
            prior, on surfaces whose policy estimates from reward counts; linear models and \
            EXP3 start fresh. Run it before the group's first start on this build: once the \
            group has published its surfaces on the state topic, their arms' priors come \
            from there. Keys this build no longer has are left out. The output keeps the \
            configuration's other keys and values, not its comments.
            """)

    @Option(name: .shortAndLong, help: "The YAML configuration the group runs.")
    var config: String

    @Option(name: .shortAndLong, help: "Where to write the migrated configuration (not the input).")
    var output: String

    @Argument(help: "Decision-state files or directories of them (default: <snapshot_dir>/decisions of the configuration).")
    var inputs: [String] = []

    func run() throws {
        let settings = try Configuration.load(path: config, environment: ProcessInfo.processInfo.environment, ignoringRetiredKeys: true)
        guard URL(fileURLWithPath: output).standardizedFileURL != URL(fileURLWithPath: config).standardizedFileURL else {
            throw ValidationError("--output must not be the configuration it reads")
        }
        var paths: [String] = []
        for input in inputs.isEmpty ? [settings.engine.snapshotDirectory + "/decisions"] : inputs {
            if FileIO.isDirectory(input) {
                paths += try FileIO.list(input).filter { $0.hasSuffix(".snap") }.sorted().map { "\(input)/\($0)" }
            } else {
                paths.append(input)
            }
        }
        guard !paths.isEmpty else { throw ValidationError("no decision-state files (*.snap) in \(inputs.isEmpty ? settings.engine.snapshotDirectory + "/decisions" : inputs.joined(separator: ", "))") }
        var files: [[LegacyDecisionState.Surface]] = []
        for path in paths {
            do {
                files.append(try LegacyDecisionState.read(try FileIO.readAll(path)))
            } catch {
                throw ValidationError("\(path): not a decision-state file of an earlier build: \(error)")
            }
        }
        let text = String(decoding: try FileIO.readAll(config), as: UTF8.self)
        let (yaml, notes) = try LegacyDecisionState.migrate(yaml: text, source: config, files: files)
        try FileIO.writeAtomically(Array(yaml.utf8), to: output)
        print("read \(paths.count) decision-state file(s); wrote \(output)")
        for note in notes { print("  \(note)") }
    }
}
