import ArgumentParser
import Engine
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import Server
import ServiceLifecycle
import Stream

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Consume events from Kafka, keep the learners current and serve HTTP.",
        discussion: """
            Joins the consumer group, restores each assigned partition from its newest \
            snapshot and resumes from the offsets it covers. Rejected events go to the \
            dead-letter topic with their reason. SIGTERM or SIGINT flushes a final \
            snapshot, commits and leaves the group.
            """)

    @Option(name: .shortAndLong, help: "YAML configuration (environment variables override it).")
    var config: String?

    @Flag(help: "Start even if the loaded librdkafka predates the ApiVersions tagged-field fix.")
    var allowOldLibrdkafka = false

    func run() async throws {
        let settings = try Configuration.load(path: config, environment: ProcessInfo.processInfo.environment)
        let logger = LogSetup.bootstrap(format: settings.log.format, level: settings.log.level)
        try LibrdkafkaVersion.check(allowOld: allowOldLibrdkafka || settings.kafka.allowOldLibrdkafka)
        logger.info("starting", metadata: [
            "librdkafka": "\(LibrdkafkaVersion.loadedText)", "bootstrap_servers": "\(settings.kafka.bootstrapServers)",
            "topic": "\(settings.kafka.eventsTopic)", "group": "\(settings.kafka.groupID)",
        ])

        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        try FileIO.makeDirectories(settings.engine.snapshotDirectory)
        let producer = try KafkaProducer(properties: settings.producerProperties, logger: logger)
        let outputs = KafkaOutputs(producer: producer, deadLetterTopic: settings.kafka.deadLettersTopic)
        let source = try KafkaSource(
            settings: .init(
                topic: settings.kafka.eventsTopic, properties: settings.consumerProperties,
                maxBufferedBytes: settings.engine.maxBufferedBytes, pollBatchSize: settings.engine.pollBatchSize),
            logger: logger)
        let pipeline = Pipeline(
            source: source, outputs: outputs,
            store: SnapshotStore(root: settings.engine.snapshotDirectory, keep: settings.engine.snapshotsKept),
            settings: .init(snapshotIntervalMillis: settings.engine.snapshotIntervalMillis, outputsTimeoutMillis: settings.engine.outputsTimeoutMillis),
            logger: logger,
            commit: { offsets in
                if let error = source.commit(offsets, synchronously: false) {
                    logger.warning("offset commit failed; the snapshot holds the offsets", metadata: ["error": "\(error)"])
                }
            })

        let router = Router()
        StatusRoutes(statistics: pipeline.statistics, health: source.health, registry: registry).register(on: router)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(settings.http.host, port: settings.http.port), serverName: "arbiter"),
            logger: logger)
        let engine = EngineService(pipeline: pipeline, source: source, outputs: outputs, logger: logger)
        // Services stop in reverse order: the engine flushes while HTTP still answers.
        let group = ServiceGroup(configuration: .init(
            services: [
                .init(service: app),
                .init(service: engine, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
        if let fatal = pipeline.statistics.current.fatalError {
            throw ValidationError("engine stopped: \(fatal)")
        }
    }
}

/// Runs the engine's threads for the lifetime of the service group.
struct EngineService: Service {
    let pipeline: Pipeline
    let source: KafkaSource
    let outputs: KafkaOutputs
    let logger: Logger

    func run() async throws {
        try source.start()
        pipeline.start()
        // Cancellation too (another service failed, e.g. the HTTP port was taken) stops
        // the engine cleanly, so the process exits with the error instead of lingering.
        await withTaskCancellationOrGracefulShutdownHandler {
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                _ = WorkerThread(name: "engine-join") {
                    pipeline.join()
                    done.resume()
                }
            }
        } onCancelOrGracefulShutdown: {
            logger.info("shutting down: flushing state")
            pipeline.stop()
        }
        source.join()
        outputs.close()
        logger.info("engine stopped")
    }
}
