import ArgumentParser
import Common
import Engine
import Events
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
        let environment = ProcessInfo.processInfo.environment
        let settings = try Configuration.load(path: config, environment: environment)
        let logger = LogSetup.bootstrap(format: settings.log.format, level: settings.log.level)
        try LibrdkafkaVersion.check(allowOld: allowOldLibrdkafka || settings.kafka.allowOldLibrdkafka)
        // Stable across restarts, distinct per process on one host: names this process in
        // decision ids and in the group's member list.
        let instance = settings.decisions.instance.isEmpty
            ? "\(ProcessInfo.processInfo.hostName.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." })-\(settings.http.port)"
            : settings.decisions.instance
        logger.info("starting", metadata: [
            "librdkafka": "\(LibrdkafkaVersion.loadedText)", "bootstrap_servers": "\(settings.kafka.bootstrapServers)",
            "topic": "\(settings.kafka.eventsTopic)", "group": "\(settings.kafka.groupID)", "instance": "\(instance)",
        ])

        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        try FileIO.makeDirectories(settings.engine.snapshotDirectory)
        let legacy = settings.engine.snapshotDirectory + "/decisions"
        if FileIO.isDirectory(legacy), let files = try? FileIO.list(legacy), files.contains(where: { $0.hasSuffix(".snap") }) {
            logger.warning("""
                decision state of an earlier build found and not used: policies now learn in the partitions of the event \
                stream (their snapshots), where per-process state has no place; `arbiter migrate` carries their reward counts \
                into the configuration's arm priors; remove the directory once this build runs
                """, metadata: ["directory": "\(legacy)", "files": "\(files.count)"])
        }
        let producer = try KafkaProducer(properties: settings.producerProperties, logger: logger)
        guard let partitions = producer.partitionCount(topic: settings.kafka.eventsTopic, timeoutMillis: 30_000) else {
            throw ValidationError("topic \(settings.kafka.eventsTopic) not found on \(settings.kafka.bootstrapServers): create it (and \(settings.kafka.stateTopic), compacted) first")
        }
        let context = settings.learnerContext(partitions: Int(partitions))
        let routing = UserRouting(partitioner: settings.partitioner, partitions: partitions)
        let views = try ViewBuilder(context: context, surfaces: settings.surfaces.map { SurfaceDefinition(config: $0) }, logger: logger)
        let stateTopic = try StateTopic(
            topic: settings.kafka.stateTopic, producer: producer, readerProperties: settings.consumerProperties, views: views, context: context,
            instance: instance, address: settings.advertisedURL, logger: logger)
        try stateTopic.start()
        // The catalogue as the group left it, with what this configuration adds.
        for config in settings.surfaces {
            let reconciled = SurfaceDefinition.reconciled(config: config, published: views.definition(config.name))
            if reconciled != views.definition(config.name) { try await stateTopic.publish(surface: reconciled) }
            views.receive(surface: reconciled)
        }
        views.rebuild()

        let outputs = KafkaOutputs(producer: producer, deadLetterTopic: settings.kafka.deadLettersTopic)
        let source = try KafkaSource(
            settings: .init(
                topic: settings.kafka.eventsTopic, properties: settings.consumerProperties,
                maxBufferedBytes: settings.engine.maxBufferedBytes, pollBatchSize: settings.engine.pollBatchSize),
            logger: logger)
        let store: any SnapshotStore = settings.engine.snapshotStore.isEmpty
            ? FileSnapshotStore(root: settings.engine.snapshotDirectory, keep: settings.engine.snapshotsKept)
            : try ObjectSnapshotStore(
                url: settings.engine.snapshotStore, endpoint: settings.engine.s3Endpoint, region: settings.engine.s3Region, environment: environment,
                keep: settings.engine.snapshotsKept)
        let pipeline = Pipeline(
            source: source, outputs: outputs, store: store, context: context, publisher: stateTopic,
            settings: .init(
                snapshotIntervalMillis: settings.engine.snapshotIntervalMillis,
                snapshotSchedule: SnapshotSchedule(inputRatio: settings.engine.snapshotInputRatio, maxIntervalMillis: settings.engine.snapshotMaxIntervalMillis),
                outputsTimeoutMillis: settings.engine.outputsTimeoutMillis,
                publishIntervalMillis: settings.engine.publishIntervalMillis),
            logger: logger,
            commit: { offsets in
                if let error = source.commit(offsets, synchronously: false) {
                    logger.warning("offset commit failed; the snapshot holds the offsets", metadata: ["error": "\(error)"])
                }
            })
        let decisionLog = KafkaDecisionLog(producer: producer, topic: settings.kafka.eventsTopic)
        let decisions = DecisionService(
            views: views, log: decisionLog, publisher: stateTopic, routing: routing,
            seed: settings.decisions.seed, instance: instance, waitForLog: settings.decisions.waitForLog, logger: logger)
        let prices = try PricingService(
            configurations: settings.pricing, views: views, log: decisionLog, partitions: pipeline, routing: routing, seed: settings.decisions.seed,
            idPrefix: decisions.idPrefix + "p.", waitForLog: settings.decisions.waitForLog)
        let bids = BiddingService(
            configuration: settings.bidding, views: views, log: decisionLog, publisher: stateTopic, partitions: pipeline, routing: routing, seed: settings.decisions.seed,
            idPrefix: decisions.idPrefix + "b.", waitForLog: settings.decisions.waitForLog)
        logger.info("decision points ready", metadata: [
            "surfaces": "\(decisions.surfaceNames)", "pricing": "\(prices.names)", "campaigns": "\(settings.bidding.campaigns.map(\.id))", "decision_log": "\(settings.kafka.eventsTopic)", "partitions": "\(partitions)",
            "snapshots": "\(store.location)", "wait_for_log": "\(settings.decisions.waitForLog)",
        ])

        let refitter = try makeRefitter(settings, views: views, decisions: decisions, bids: bids, instance: instance, logger: logger)

        let router = Router()
        StatusController(statistics: pipeline.statistics, health: source.health, registry: registry, views: views, instance: instance).register(on: router)
        let eventsTopic = settings.kafka.eventsTopic
        let submit: @Sendable (Event, Int32) throws -> Void = { event, partition in
            try producer.send(topic: eventsTopic, partition: partition, key: Array(event.partitionKey.utf8), value: EventEncoder.encode(event))
        }
        DecisionController(service: decisions, maxBodyBytes: settings.http.maxBodyBytes, submitReward: submit).register(on: router)
        let forwarder = Forwarder(instance: instance)
        BidController(
            service: bids, maxBodyBytes: settings.http.maxBodyBytes,
            noticeURL: settings.bidding.noticeURL.isEmpty ? settings.advertisedURL : settings.bidding.noticeURL, instance: instance,
            adminToken: settings.http.adminToken, forwarder: forwarder,
            submit: submit
        ).register(on: router)
        PriceController(service: prices, maxBodyBytes: settings.http.maxBodyBytes, instance: instance, forwarder: forwarder).register(on: router)
        SurfaceController(service: decisions, adminToken: settings.http.adminToken, maxBodyBytes: settings.http.maxBodyBytes).register(on: router)
        UserController(partitions: pipeline, views: views, routing: routing, instance: instance, forwarder: forwarder).register(on: router)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(settings.http.host, port: settings.http.port), serverName: "arbiter"),
            logger: logger)
        let engine = EngineService(pipeline: pipeline, source: source, outputs: outputs, decisions: decisions, stateTopic: stateTopic, refitter: refitter, logger: logger)
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
    /// surface maps arms to channels. Every process watches its priors file; only the
    /// owner of partition 0 refits (every process would fit the same view), and the
    /// priors it applies reach the whole group through the catalogue.
    func makeRefitter(_ settings: Configuration, views: ViewBuilder, decisions: DecisionService, bids: BiddingService, instance: String, logger: Logger) throws -> MixRefitter? {
        let m = settings.mmm
        guard m.refitIntervalMillis > 0 || settings.surfaces.contains(where: { $0.channelPriors != nil }) || settings.bidding.campaigns.contains(where: { $0.channel != nil })
        else { return nil }
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
            ledger: {
                let view = views.view
                guard view.owner(of: 0)?.instance == instance else { return nil }
                return view.merged.learner(MediaLedger.self)
            },
            apply: { channels in
                // The refit thread waits for the changes to reach the group.
                let done = Mailbox<([DecisionService.PriorChange], [BiddingService.ChannelValueChange])>()
                Task { done.put((await decisions.applyChannelPriors(roi: channels.roi), await bids.applyChannelValues(marginalROI: channels.marginalROI))) }
                let (priors, values) = done.take(timeoutMillis: 60_000) ?? ([], [])
                for change in priors {
                    logger.info("arm prior from the marketing-mix model", metadata: [
                        "surface": "\(change.surface)", "arm": "\(change.arm)", "channel": "\(change.channel)",
                        "trials": "\(change.prior.trials)", "reward_sum": "\(change.prior.rewardSum)",
                    ])
                }
                for change in values {
                    logger.info("campaign goal valued by the marketing-mix model", metadata: [
                        "campaign": "\(change.campaign)", "channel": "\(change.channel)", "marginal_roi": "\(change.marginalROI)", "goal_value": "\(change.goalValue)",
                    ])
                }
            },
            logger: logger)
        logger.info("marketing-mix refit ready", metadata: [
            "interval_ms": "\(m.refitIntervalMillis)", "kpi": "\(m.kpi)", "period": "\(m.period)", "priors_file": "\(settings.priorsFile)",
        ])
        return refitter
    }
}

/// Runs the engine's threads for the lifetime of the service group.
struct EngineService: Service {
    let pipeline: Pipeline
    let source: KafkaSource
    let outputs: KafkaOutputs
    let decisions: DecisionService
    let stateTopic: StateTopic
    let refitter: MixRefitter?
    let logger: Logger

    func run() async throws {
        try source.start()
        pipeline.start()
        refitter?.start()
        // Cancellation too (another service failed, e.g. the HTTP port was taken) stops
        // the engine cleanly, so the process exits with the error instead of lingering.
        await withTaskCancellationOrGracefulShutdownHandler {
            // The shutdown's joins and flushes block: on their own thread, so the HTTP
            // event loops (which run this task) keep answering while they finish.
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                _ = WorkerThread(name: "engine-join") {
                    pipeline.join()
                    source.join()
                    refitter?.stop()
                    if !decisions.flushLog(timeoutMillis: 10_000) {
                        logger.error("the decision log was not fully flushed before shutdown")
                    }
                    stateTopic.stop()
                    outputs.close()
                    done.resume()
                }
            }
        } onCancelOrGracefulShutdown: {
            logger.info("shutting down: flushing the decision log and state")
            decisions.close()
            pipeline.stop()
        }
        logger.info("engine stopped")
    }
}
