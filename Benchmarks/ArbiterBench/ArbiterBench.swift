import ArgumentParser
import Bandits
import CRdKafka
import Common
import Engine
import Events
import Foundation
import Logging
import Stream

/// Measurements for Benchmarks/run.sh. Each subcommand prints one JSON object on
/// stdout; the script runs them in separate processes (so each reports its own peak
/// memory) and interleaves repetitions so machine noise hits all of them alike.
@main
struct ArbiterBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "arbiter-bench",
        abstract: "Arbiter benchmarks (run them with Benchmarks/run.sh).",
        subcommands: [
            Decode.self, Bare.self, PipelineRun.self, BanditDecisions.self, Simulate.self, Logged.self, Regret.self, OffPolicyBench.self, MixFitBench.self,
            MixCoverage.self, GeoMixCoverage.self, SnapshotBench.self, PricingBench.self, BiddingBench.self, BidServingBench.self, ServedBiddingBench.self,
        ])
}

/// Peak resident memory of this process (VmHWM), in bytes.
func peakResidentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
    else { return -1 }
    let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? -1
    return kb * 1024
}

/// `BENCH_PROPERTY_<NAME>` variables, as librdkafka properties, for experiments.
func extraProperties() -> KafkaProperties {
    var p: KafkaProperties = [:]
    for (k, v) in ProcessInfo.processInfo.environment where k.hasPrefix("BENCH_PROPERTY_") {
        p[k.dropFirst("BENCH_PROPERTY_".count).lowercased().replacing("_", with: ".")] = v
    }
    return p
}

func emit(_ fields: [(String, Any)]) {
    let body = fields.map { key, value -> String in
        switch value {
        case let s as String: return "\"\(key)\":\"\(s)\""
        case let d as Double: return "\"\(key)\":\(d.isFinite ? String(format: "%.6g", d) : "null")"
        default: return "\"\(key)\":\(value)"
        }
    }.joined(separator: ",")
    print("{\(body)}")
}

/// Decode alone, and decode + learner update, on one core over the sample events held in
/// memory.
struct Decode: ParsableCommand {
    @Option var input: String
    @Option(help: "Configuration whose surfaces learn (the reference one by default).") var config = "config/arbiter.yaml"
    @Option(help: "Seconds per measurement.") var seconds: Double = 2

    func run() throws {
        let file = try FileSource(path: input)
        var records: [[UInt8]] = []
        file.forEachLine { _, bytes in records.append(Array(bytes)) }
        let totalBytes = records.reduce(0) { $0 + $1.count }

        // The reference configuration's decision points: every learner the engine runs.
        let context = try Configuration.load(path: config, environment: [:]).learnerContext(partitions: 1)
        func measure(_ body: (inout EventDecoder, inout PartitionState, [UInt8]) -> Void) -> (events: Int, nanos: UInt64) {
            var decoder = EventDecoder()
            var learners = try! PartitionState(context)
            var events = 0
            let start = MonotonicClock.nanos
            let budget = UInt64(seconds * 1e9)
            repeat {
                for r in records { body(&decoder, &learners, r) }
                events += records.count
            } while MonotonicClock.nanos - start < budget
            return (events, MonotonicClock.nanos - start)
        }

        let decodeOnly = measure { decoder, _, r in
            if case .failure = decoder.decode(r) { fatalError("sample event rejected") }
        }
        let decodeUpdate = measure { decoder, learners, r in
            if case .success(let e) = decoder.decode(r) { learners.learn(e) }
        }
        let passes = Double(decodeOnly.events) / Double(records.count)
        let elapsed = (decodeOnly: Double(decodeOnly.nanos) / 1e9, decodeUpdate: Double(decodeUpdate.nanos) / 1e9)
        let fields: [(String, Any)] = [
            ("benchmark", "decode"), ("records", records.count), ("bytes_per_record", Double(totalBytes) / Double(records.count)),
            ("decode_events_per_s", Double(decodeOnly.events) / elapsed.decodeOnly),
            ("decode_mb_per_s", passes * Double(totalBytes) / 1e6 / elapsed.decodeOnly),
            ("decode_update_events_per_s", Double(decodeUpdate.events) / elapsed.decodeUpdate),
            ("peak_rss_bytes", peakResidentBytes()),
        ]
        emit(fields)
    }
}

/// The ceiling: a bare librdkafka consume loop doing no work on the same topic.
/// It polls as `KafkaSource` does (batches of 1000, 100 ms timeout): with a 1 s timeout
/// `rd_kafka_consume_batch_queue` waits for full batches and the loop runs at less than
/// half the speed, which would flatter the pipeline.
struct Bare: ParsableCommand {
    @Option var bootstrapServers: String
    @Option var topic: String
    @Option(help: "Messages in the topic.") var expect: Int

    func run() throws {
        let properties: KafkaProperties = [
            "bootstrap.servers": bootstrapServers, "group.id": "bare-\(UUID().uuidString)",
            "auto.offset.reset": "earliest", "enable.auto.commit": "false",
            "session.timeout.ms": "6000", "heartbeat.interval.ms": "1000",
            // The same prefetch settings the engine's consumer uses.
            "queued.max.messages.kbytes": "16384", "fetch.queue.backoff.ms": "10",
        ].merging(extraProperties()) { $1 }
        let conf = rd_kafka_conf_new()!
        for (k, v) in properties { _ = rd_kafka_conf_set(conf, k, v, nil, 0) }
        guard let rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, nil, 0) else { throw ValidationError("consumer") }
        rd_kafka_poll_set_consumer(rk)
        let list = rd_kafka_topic_partition_list_new(1)!
        rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA)
        rd_kafka_subscribe(rk, list)
        rd_kafka_topic_partition_list_destroy(list)
        let queue = rd_kafka_queue_get_consumer(rk)!
        let capacity = 1000
        let messages = UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>.allocate(capacity: capacity)
        var count = 0
        var bytes = 0
        var first: UInt64 = 0
        while count < expect {
            let n = rd_kafka_consume_batch_queue(queue, 100, messages, capacity)
            guard n > 0 else { continue }
            if first == 0 { first = MonotonicClock.nanos }
            for i in 0..<n {
                if messages[i]!.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                    count += 1
                    bytes += messages[i]!.pointee.len
                }
                rd_kafka_message_destroy(messages[i])
            }
        }
        let seconds = Double(MonotonicClock.nanos - first) / 1e9
        messages.deallocate()
        rd_kafka_queue_destroy(queue)
        rd_kafka_consumer_close(rk)
        rd_kafka_destroy(rk)
        emit([
            ("benchmark", "bare_consume"), ("messages", count), ("seconds", seconds),
            ("events_per_s", Double(count) / seconds), ("mb_per_s", Double(bytes) / 1e6 / seconds),
            ("peak_rss_bytes", peakResidentBytes()),
        ])
    }
}

/// The whole pipeline: KafkaSource → decode → learners (the reference configuration's
/// decision points included) → periodic snapshot → commit, and every second each
/// changed partition's state published to the state topic, as `serve` runs it, on the
/// same topic.
struct PipelineRun: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pipeline")

    @Option var bootstrapServers: String
    @Option var topic: String
    @Option(help: "Messages in the topic.") var expect: Int
    @Option(help: "Snapshot directory (must be fresh).") var snapshots: String
    @Option var snapshotIntervalMillis = 200
    @Option(help: "Compacted state topic to publish to (none: nothing is published).") var stateTopic: String?
    @Option(help: "Configuration whose surfaces learn.") var config = "config/arbiter.yaml"

    func run() throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        // ARBITER_* variables of the caller apply too, for experiments with settings; the
        // fresh group and the topic always win.
        let config = try Configuration.load(path: self.config, environment: ProcessInfo.processInfo.environment.merging([
            "ARBITER_KAFKA_BOOTSTRAP_SERVERS": bootstrapServers,
            "ARBITER_KAFKA_GROUP_ID": "pipeline-\(UUID().uuidString)",
            "ARBITER_KAFKA_TOPICS_EVENTS": topic,
            "ARBITER_KAFKA_PROPERTY_SESSION_TIMEOUT_MS": "6000",
            "ARBITER_KAFKA_PROPERTY_HEARTBEAT_INTERVAL_MS": "1000",
        ]) { _, bench in bench })
        let producer = try KafkaProducer(properties: config.producerProperties, logger: logger)
        let outputs = KafkaOutputs(producer: producer, deadLetterTopic: config.kafka.deadLettersTopic)
        let source = try KafkaSource(
            settings: .init(topic: topic, properties: config.consumerProperties, maxBufferedBytes: config.engine.maxBufferedBytes, pollBatchSize: config.engine.pollBatchSize),
            logger: logger)
        let committed = CommitLog()
        let partitions = Int(producer.partitionCount(topic: topic) ?? 1)
        let context = config.learnerContext(partitions: partitions)
        var publisher: StateTopic?
        if let stateTopic {
            let views = try ViewBuilder(context: context, surfaces: config.surfaces.map { SurfaceDefinition(config: $0) }, logger: logger)
            publisher = try StateTopic(
                topic: stateTopic, producer: producer, readerProperties: config.consumerProperties, views: views, context: context, instance: "bench",
                address: "", logger: logger)
            try publisher!.start()
        }
        let pipeline = Pipeline(
            source: source, outputs: outputs, store: FileSnapshotStore(root: snapshots), context: context, publisher: publisher,
            settings: .init(snapshotIntervalMillis: snapshotIntervalMillis), logger: logger,
            commit: { offsets in
                _ = source.commit(offsets, synchronously: false)
                committed.record(offsets)
            })
        try source.start()
        pipeline.start()
        var first: UInt64 = 0
        var applied: UInt64 = 0
        while true {
            let r = pipeline.statistics.current
            let done = Int(r.totalAccepted + r.totalRejected)
            if first == 0, done > 0 { first = MonotonicClock.nanos }
            if done >= expect {
                applied = MonotonicClock.nanos
                break
            }
            usleep(500)
        }
        // Until a snapshot covering everything is durable and the commit of its offsets is
        // issued (asynchronously: the broker's acknowledgement is not awaited).
        while committed.total < Int64(expect) { usleep(500) }
        let durable = MonotonicClock.nanos
        pipeline.stop()
        pipeline.join()
        source.join()
        outputs.close()
        let reading = pipeline.statistics.current
        emit([
            ("benchmark", "pipeline"), ("messages", expect),
            ("seconds_to_apply", Double(applied - first) / 1e9),
            ("events_per_s", Double(expect) / (Double(applied - first) / 1e9)),
            ("seconds_to_durable", Double(durable - first) / 1e9),
            ("committed_events_per_s", Double(expect) / (Double(durable - first) / 1e9)),
            ("snapshots", reading.snapshotsWritten), ("dead_letters", reading.totalRejected),
            ("peak_rss_bytes", peakResidentBytes()),
        ])
    }
}

/// The offsets whose commit the pipeline issued after a durable snapshot, per partition.
final class CommitLog: @unchecked Sendable {
    private let lock = NSLock()
    private var offsets: [Int32: Int64] = [:]

    func record(_ o: [Int32: Int64]) {
        lock.lock()
        offsets.merge(o) { max($0, $1) }
        lock.unlock()
    }

    var total: Int64 {
        lock.lock()
        defer { lock.unlock() }
        return offsets.values.reduce(0, +)
    }
}

/// In-process decide + update per second on one thread, for each policy family.
struct BanditDecisions: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bandits")
    @Option(help: "Seconds per measurement.") var seconds: Double = 1
    @Option(help: "Only this policy (ucb1, thompson-beta, linucb, linucb-shared, linear-thompson), e.g. to profile it.")
    var only: String?

    func run() throws {
        func measure(_ label: String, _ policy: @autoclosure () throws -> BanditPolicy, arms: Int, dimension: Int, shared: Bool = false) rethrows {
            if let only, only != label { return }
            var p = try policy()
            for _ in 0..<arms { _ = p.addArm(prior: .none) }
            var env = SeededRandom(seed: 1)
            let eligible = Array(0..<arms)
            var rounds = 0
            let start = MonotonicClock.nanos
            let budget = UInt64(seconds * 1e9)
            while MonotonicClock.nanos - start < budget {
                for _ in 0..<256 {
                    let x = (0..<dimension).map { _ in env.normal() }
                    let perArm = shared ? eligible.map { _ in x } : []
                    let input = DecisionInput(eligible: eligible, features: shared ? [] : x, armFeatures: perArm)
                    var random = SeededRandom(seed: UInt64(rounds))
                    let choice = p.choose(input, random: &random)
                    p.update(arm: choice.arm, features: x, reward: env.unit() < 0.3 ? 1 : 0, propensity: choice.propensity)
                    rounds += 1
                }
            }
            emit([("benchmark", "bandits"), ("policy", label), ("arms", arms), ("dimension", dimension),
                  ("decide_update_per_s", Double(rounds) / (Double(MonotonicClock.nanos - start) / 1e9))])
        }
        for arms in [10, 100, 10_000] {
            try measure("ucb1", try make(.ucb1), arms: arms, dimension: 0)
            try measure("thompson-beta", try make(.thompsonBeta, ["propensity_draws": 1]), arms: arms, dimension: 0)
        }
        for d in [20, 100] {
            try measure("linucb", try make(.linUCB, dimension: d), arms: 10, dimension: d)
            try measure("linucb-shared", try make(.linUCB, dimension: d, payoff: .shared), arms: 10, dimension: d, shared: true)
            try measure("linear-thompson", try make(.linearThompson, ["propensity_draws": 1], dimension: d), arms: 10, dimension: d)
        }
    }
}
