import ArgumentParser
import Common
import Engine
import Foundation
import Hummingbird
import Logging
import MarketingMix
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
            dead-letter topic with their reason. Decision points ('surfaces' in the \
            configuration) answer POST /v1/decide; each decision goes to the decisions \
            topic and learns from the rewards that follow it in the event stream. \
            SIGTERM or SIGINT flushes the decision log and a final snapshot, commits and \
            leaves the group.
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
        let decisions = try makeDecisionService(settings, producer: producer, logger: logger)
        let pipeline = Pipeline(
            source: source, outputs: outputs,
            store: SnapshotStore(root: settings.engine.snapshotDirectory, keep: settings.engine.snapshotsKept),
            settings: .init(snapshotIntervalMillis: settings.engine.snapshotIntervalMillis, outputsTimeoutMillis: settings.engine.outputsTimeoutMillis),
            logger: logger,
            observer: decisions,
            commit: { offsets in
                if let error = source.commit(offsets, synchronously: false) {
                    logger.warning("offset commit failed; the snapshot holds the offsets", metadata: ["error": "\(error)"])
                }
            })

        let refitter = try makeRefitter(settings, pipeline: pipeline, decisions: decisions.service, logger: logger)

        let router = Router()
        StatusRoutes(statistics: pipeline.statistics, health: source.health, registry: registry).register(on: router)
        let eventsTopic = settings.kafka.eventsTopic
        DecisionRoutes(
            service: decisions.service, adminToken: settings.http.adminToken, maxBodyBytes: settings.http.maxBodyBytes,
            submitReward: { event in
                try producer.send(topic: eventsTopic, key: Array(event.partitionKey.utf8), value: EventEncoder.encode(event))
            }
        ).register(on: router)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(settings.http.host, port: settings.http.port), serverName: "arbiter"),
            logger: logger)
        let engine = EngineService(pipeline: pipeline, source: source, outputs: outputs, decisions: decisions, refitter: refitter, logger: logger)
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

    /// The marketing-mix refit and priors watcher, when refits are configured or a
    /// surface maps arms to channels.
    func makeRefitter(_ settings: Configuration, pipeline: Pipeline, decisions: DecisionService, logger: Logger) throws -> MixRefitter? {
        let m = settings.mmm
        guard m.refitIntervalMillis > 0 || settings.surfaces.contains(where: { $0.channelPriors != nil }) else { return nil }
        var model = MixConfiguration()
        if !m.modelConfig.isEmpty {
            let text: String
            do { text = try String(contentsOfFile: m.modelConfig, encoding: .utf8) } catch { throw ValidationError("cannot read mmm.model_config \(m.modelConfig): \(error.localizedDescription)") }
            model = try MixConfiguration.parse(yaml: text, source: m.modelConfig)
            guard model.data == nil, model.kpi == nil, model.date == nil, model.channels.isEmpty, model.controls.isEmpty else {
                throw ValidationError("\(m.modelConfig): the engine's refit reads its data from the event stream; drop data, date, kpi, channels and controls (mmm.kpi and mmm.channels choose them)")
            }
        }
        let refitter = MixRefitter(
            settings: .init(
                intervalMillis: m.refitIntervalMillis, kpi: MixSeries.KPI(rawValue: m.kpi)!, period: MixSeries.Period(rawValue: m.period)!,
                minimumPeriods: m.minimumPeriods, channels: m.channels, model: model, priorsFile: settings.priorsFile),
            ledger: { pipeline.mediaLedger(timeoutMillis: 30_000) },
            apply: { roi in
                for change in decisions.applyChannelPriors(roi: roi) {
                    logger.info("arm prior from the marketing-mix model", metadata: [
                        "surface": "\(change.surface)", "arm": "\(change.arm)", "channel": "\(change.channel)",
                        "trials": "\(change.prior.trials)", "reward_sum": "\(change.prior.rewardSum)",
                    ])
                }
            },
            logger: logger)
        logger.info("marketing-mix refit ready", metadata: [
            "interval_ms": "\(m.refitIntervalMillis)", "kpi": "\(m.kpi)", "period": "\(m.period)", "priors_file": "\(settings.priorsFile)",
        ])
        return refitter
    }

    /// The decision points, restored from this instance's state file when there is one.
    func makeDecisionService(_ settings: Configuration, producer: KafkaProducer, logger: Logger) throws -> DecisionObserver {
        // Stable across restarts (the state file is named after it), distinct per process
        // on one host.
        let instance = settings.decisions.instance.isEmpty
            ? "\(ProcessInfo.processInfo.hostName.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." })-\(settings.http.port)"
            : settings.decisions.instance
        let directory = settings.engine.snapshotDirectory + "/decisions"
        try FileIO.makeDirectories(directory)
        let statePath = "\(directory)/\(instance).snap"
        let restoring = FileIO.exists(statePath) ? try FileIO.readAll(statePath) : nil
        let log: any DecisionLog = settings.decisions.logFile.isEmpty
            ? KafkaDecisionLog(producer: producer, topic: settings.kafka.decisionsTopic)
            : try FileDecisionLog(path: settings.decisions.logFile)
        let service = try DecisionService(
            surfaces: settings.surfaces, seed: settings.decisions.seed, instance: instance, maxPending: settings.decisions.maxPending,
            log: log, restoring: restoring, logger: logger)
        logger.info("decision points ready", metadata: [
            "surfaces": "\(service.surfaceNames)", "instance": "\(instance)", "restored": "\(restoring != nil)",
            "decision_log": "\(settings.decisions.logFile.isEmpty ? settings.kafka.decisionsTopic : settings.decisions.logFile)",
        ])
        return DecisionObserver(service: service, statePath: statePath, intervalMillis: settings.decisions.checkpointIntervalMillis, logger: logger)
    }
}

/// Runs the engine's threads for the lifetime of the service group.
struct EngineService: Service {
    let pipeline: Pipeline
    let source: KafkaSource
    let outputs: KafkaOutputs
    let decisions: DecisionObserver
    let refitter: MixRefitter?
    let logger: Logger

    func run() async throws {
        try source.start()
        pipeline.start()
        refitter?.start()
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
            logger.info("shutting down: flushing the decision log and state")
            decisions.service.close()
            pipeline.stop()
        }
        source.join()
        // Before the decision state is saved, so that priors applied so far are in it.
        refitter?.stop()
        decisions.close()
        if !decisions.service.flushLog(timeoutMillis: 10_000) {
            logger.error("the decision log was not fully flushed before shutdown")
        }
        outputs.close()
        logger.info("engine stopped")
    }
}
