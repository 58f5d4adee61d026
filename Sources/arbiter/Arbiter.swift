import ArgumentParser

@main
struct Arbiter: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "arbiter",
        abstract: "A streaming real-time decision engine for marketing.",
        discussion: """
            Arbiter consumes events from Kafka, keeps online learners current and serves \
            decisions over HTTP. Every command reads the same event schema (docs/events.md).
            """,
        subcommands: [Serve.self, Replay.self, Evaluate.self, Mix.self, Produce.self, State.self])
}
