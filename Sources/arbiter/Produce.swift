import ArgumentParser
import Foundation
import Engine
import Logging
import Stream

struct Produce: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a JSON-lines event file to a Kafka topic, optionally at a given rate.",
        discussion: """
            Each line becomes one message, keyed by the event's user (else decision, \
            auction or channel id) so a user's events stay in order in one partition. A \
            reward without a user whose decision id Arbiter made (ending in @PARTITION) \
            goes to that partition, where its decision waits. Lines that are not valid \
            events are sent too, keyed by their line number: the engine routes them to the \
            dead-letter topic.
            """)

    @Option(name: .shortAndLong, help: "JSON-lines event file.")
    var input: String

    @Option(help: "Topic to produce to.")
    var topic = "arbiter.events"

    @Option(help: "Kafka bootstrap servers.")
    var bootstrapServers = "127.0.0.1:19092"

    @Option(help: "Messages per second; 0 sends as fast as possible.")
    var rate: Double = 0

    @Option(help: "Send the file this many times.")
    var repeats = 1

    @Option(help: "librdkafka property NAME=VALUE (repeatable), e.g. security.protocol=SASL_SSL.")
    var property: [String] = []

    @Flag(help: "Start even if the loaded librdkafka predates the ApiVersions tagged-field fix.")
    var allowOldLibrdkafka = false

    func run() throws {
        let logger = LogSetup.bootstrap(format: "text", level: "warning")
        try LibrdkafkaVersion.check(allowOld: allowOldLibrdkafka)
        var properties: KafkaProperties = [
            "bootstrap.servers": bootstrapServers,
            "linger.ms": "5",
            "batch.num.messages": "10000",
            // murmur2 matches the Java client's partitioning of keyed messages.
            "partitioner": "murmur2_random",
        ]
        for p in property {
            guard let eq = p.firstIndex(of: "=") else { throw ValidationError("--property takes NAME=VALUE, got '\(p)'") }
            properties[String(p[..<eq])] = String(p[p.index(after: eq)...])
        }
        let producer = try KafkaProducer(properties: properties, logger: logger)
        let routing = UserRouting(partitioner: Partitioner(rawValue: properties["partitioner"]!) ?? .murmur2Random, partitions: producer.partitionCount(topic: topic) ?? 1)
        let file = try FileSource(path: input)
        var decoder = EventDecoder()
        let started = Date()
        var sent = 0
        for _ in 0..<max(1, repeats) {
            try file.forEachLine { number, bytes in
                let key: [UInt8]
                var partition: Int32?
                switch decoder.decode(bytes) {
                case .success(let event):
                    key = Array(event.partitionKey.utf8)
                    if case .reward(let r) = event.body, r.user == nil { partition = routing.partition(ofDecision: r.decisionID) }
                case .failure: key = Array("line-\(number)".utf8)
                }
                try key.withUnsafeBytes { k in
                    _ = try producer.send(topic: topic, partition: partition, key: k, value: bytes)
                }
                sent += 1
                if rate > 0 {
                    let wait = started.addingTimeInterval(Double(sent) / rate).timeIntervalSinceNow
                    if wait > 0 { Thread.sleep(forTimeInterval: wait) }
                }
            }
        }
        producer.close(timeoutMillis: 60_000)
        guard producer.waitForDelivery(through: producer.lastSequence, timeoutMillis: 1) else {
            throw ValidationError("not every message was acknowledged: \(producer.permanentFailure.map { "\($0)" } ?? "timed out")")
        }
        let seconds = Date().timeIntervalSince(started)
        print("produced \(sent) messages to \(topic) in \(String(format: "%.2f", seconds)) s (\(Int(Double(sent) / max(seconds, 1e-9))) msg/s)")
    }
}
