import Bidding
import Common
import Stream
import Yams

/// Why a configuration was refused.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Everything `arbiter serve` runs on: YAML (`config/arbiter.yaml` is the reference),
/// then environment overrides. Every key has a default; unknown keys are errors, so a
/// typo never silently falls back to a default.
///
/// Environment: `ARBITER_` + the key in upper case with dots as underscores
/// (`ARBITER_KAFKA_BOOTSTRAP_SERVERS`, `ARBITER_ENGINE_SNAPSHOT_DIR`); librdkafka
/// properties as `ARBITER_KAFKA_PROPERTY_` + the property name with dots as underscores
/// (`ARBITER_KAFKA_PROPERTY_SECURITY_PROTOCOL=SASL_SSL`).
public struct Configuration: Sendable, Equatable {
    public struct Kafka: Sendable, Equatable {
        public var bootstrapServers = "127.0.0.1:19092"
        public var groupID = "arbiter"
        public var eventsTopic = "arbiter.events"
        public var deadLettersTopic = "arbiter.dead-letters"
        /// Compacted: partition owners' published state, the surface catalogue, members.
        public var stateTopic = "arbiter.state"
        /// Passed to librdkafka unchanged, for consumer and producer alike (security,
        /// timeouts, client id …).
        public var properties: [String: String] = [:]
        public var allowOldLibrdkafka = false
    }

    public struct EngineSettings: Sendable, Equatable {
        /// Local files: partition snapshots (unless `snapshotStore` names an object store)
        /// and the marketing-mix priors file.
        public var snapshotDirectory = "run/snapshots"
        /// Empty: snapshots in `snapshotDirectory`; `s3://BUCKET/PREFIX`: an S3-compatible
        /// object store, which a group needs when its processes share no file system.
        public var snapshotStore = ""
        /// The object store's endpoint (e.g. http://127.0.0.1:9000); empty: AWS S3 in
        /// `s3Region`.
        public var s3Endpoint = ""
        public var s3Region = "us-east-1"
        /// Time between publications of each owned partition's shared state to the state
        /// topic: how fresh every process's view is.
        public var publishIntervalMillis = 1000
        public var snapshotIntervalMillis = 5000
        /// A state larger than `SnapshotSchedule.smallStateBytes` is rewritten only after
        /// this many times its size in new input (`SnapshotSchedule`); 0: every interval.
        public var snapshotInputRatio = 1.0
        public var snapshotMaxIntervalMillis = 600_000
        public var snapshotsKept = 3
        public var maxBufferedBytes = 16 << 20
        public var pollBatchSize = 1000
        public var outputsTimeoutMillis = 30_000
    }

    public struct HTTP: Sendable, Equatable {
        public var host = "127.0.0.1"
        public var port = 8080
        /// Bearer token of the admin API; empty disables it.
        public var adminToken = ""
        /// Larger request bodies are refused with 413.
        public var maxBodyBytes = 65536
        /// Where other processes of the group reach this one (forwarded per-user reads);
        /// empty: http://<host>:<port>.
        public var advertisedURL = ""
    }

    public struct Decisions: Sendable, Equatable {
        /// Mixed into every decision's random seed: replaying with the same seed gives
        /// the same decisions.
        public var seed: UInt64 = 0
        /// Names this process in the decision ids it makes; empty: derived at start.
        public var instance = ""
        /// Open decisions and remembered settled ones the reward join of each partition
        /// keeps at most.
        public var maxPending = 1_000_000
        /// Answer a decision only once the events topic has acknowledged its record.
        public var waitForLog = true
    }

    /// The marketing-mix refit beside the engine (docs/mmm.md).
    public struct MarketingMix: Sendable, Equatable {
        /// Time between refits; 0 never refits (a priors file is still watched).
        public var refitIntervalMillis = 0
        /// `revenue` (purchase revenue) or `conversions` (purchases).
        public var kpi = "revenue"
        /// `day` or `week` (seven-day blocks from the first day with data).
        public var period = "week"
        /// Periods of data before the first refit is attempted.
        public var minimumPeriods = 26
        /// Channels to model (default: every channel with spend).
        public var channels: [String] = []
        /// A `mmm fit` YAML file for the model, priors, lift tests and sampler (its data,
        /// KPI and channel keys are not used).
        public var modelConfig = ""
        /// Where a converged refit writes its priors, and the file watched for new ones
        /// (default: `<snapshot_dir>/mmm-priors.json`).
        public var priorsFile = ""
    }

    public struct Log: Sendable, Equatable {
        public var level = "info"
        /// `json` (one object per line) or `text`.
        public var format = "json"
    }

    public var kafka = Kafka()
    public var engine = EngineSettings()
    public var http = HTTP()
    public var decisions = Decisions()
    public var surfaces: [SurfaceConfiguration] = []
    public var pricing: [PricingConfiguration] = []
    public var bidding = BiddingConfiguration()
    public var mmm = MarketingMix()
    public var log = Log()

    /// The priors file in use: as configured, or in the snapshot directory.
    public var priorsFile: String { mmm.priorsFile.isEmpty ? engine.snapshotDirectory + "/mmm-priors.json" : mmm.priorsFile }

    /// Where other processes reach this one's HTTP server.
    public var advertisedURL: String { http.advertisedURL.isEmpty ? "http://\(http.host):\(http.port)" : http.advertisedURL }

    /// What the partitions' learners are made from, for a stream of `partitions`.
    public func learnerContext(partitions: Int) -> LearnerContext {
        LearnerContext(
            surfaces: surfaces.map { SurfaceDefinition(config: $0).learning }, pricing: pricing.map(\.learning), bidding: bidding.learning, partitions: partitions,
            joinCapacity: decisions.maxPending)
    }

    public init() {}

    /// The keys this build understands, with how each is applied.
    private static let keys: [String: @Sendable (inout Configuration, String) throws(ConfigurationError) -> Void] = [
        "kafka.bootstrap_servers": { c, v throws(ConfigurationError) in c.kafka.bootstrapServers = try nonEmpty(v, "kafka.bootstrap_servers") },
        "kafka.group_id": { c, v throws(ConfigurationError) in c.kafka.groupID = try nonEmpty(v, "kafka.group_id") },
        "kafka.topics.events": { c, v throws(ConfigurationError) in c.kafka.eventsTopic = try nonEmpty(v, "kafka.topics.events") },
        "kafka.topics.dead_letters": { c, v throws(ConfigurationError) in c.kafka.deadLettersTopic = try nonEmpty(v, "kafka.topics.dead_letters") },
        "kafka.topics.state": { c, v throws(ConfigurationError) in c.kafka.stateTopic = try nonEmpty(v, "kafka.topics.state") },
        "kafka.allow_old_librdkafka": { c, v throws(ConfigurationError) in c.kafka.allowOldLibrdkafka = try bool(v, "kafka.allow_old_librdkafka") },
        "engine.snapshot_dir": { c, v throws(ConfigurationError) in c.engine.snapshotDirectory = try nonEmpty(v, "engine.snapshot_dir") },
        "engine.snapshot_store": { c, v throws(ConfigurationError) in
            guard v.isEmpty || (v.hasPrefix("s3://") && v.count > 5) else { throw ConfigurationError("'engine.snapshot_store' must be empty (files in engine.snapshot_dir) or s3://BUCKET/PREFIX, found '\(v)'") }
            c.engine.snapshotStore = v
        },
        "engine.s3_endpoint": { c, v throws(ConfigurationError) in c.engine.s3Endpoint = v },
        "engine.s3_region": { c, v throws(ConfigurationError) in c.engine.s3Region = try nonEmpty(v, "engine.s3_region") },
        "engine.publish_interval_ms": { c, v throws(ConfigurationError) in c.engine.publishIntervalMillis = try int(v, "engine.publish_interval_ms", min: 10, max: 3_600_000) },
        "engine.snapshot_interval_ms": { c, v throws(ConfigurationError) in c.engine.snapshotIntervalMillis = try int(v, "engine.snapshot_interval_ms", min: 0, max: 86_400_000) },
        "engine.snapshot_input_ratio": { c, v throws(ConfigurationError) in c.engine.snapshotInputRatio = try number(v, "engine.snapshot_input_ratio", min: 0, max: 1000) },
        "engine.snapshot_max_interval_ms": { c, v throws(ConfigurationError) in c.engine.snapshotMaxIntervalMillis = try int(v, "engine.snapshot_max_interval_ms", min: 1000, max: 86_400_000) },
        "engine.snapshots_kept": { c, v throws(ConfigurationError) in c.engine.snapshotsKept = try int(v, "engine.snapshots_kept", min: 2, max: 1000) },
        "engine.max_buffered_bytes": { c, v throws(ConfigurationError) in c.engine.maxBufferedBytes = try int(v, "engine.max_buffered_bytes", min: 65536, max: 1 << 36) },
        "engine.poll_batch_size": { c, v throws(ConfigurationError) in c.engine.pollBatchSize = try int(v, "engine.poll_batch_size", min: 1, max: 100_000) },
        "engine.outputs_timeout_ms": { c, v throws(ConfigurationError) in c.engine.outputsTimeoutMillis = try int(v, "engine.outputs_timeout_ms", min: 1, max: 3_600_000) },
        "http.host": { c, v throws(ConfigurationError) in c.http.host = try nonEmpty(v, "http.host") },
        "http.port": { c, v throws(ConfigurationError) in c.http.port = try int(v, "http.port", min: 0, max: 65535) },
        "http.admin_token": { c, v throws(ConfigurationError) in c.http.adminToken = v },
        "http.max_body_bytes": { c, v throws(ConfigurationError) in c.http.maxBodyBytes = try int(v, "http.max_body_bytes", min: 256, max: 64 << 20) },
        "http.advertised_url": { c, v throws(ConfigurationError) in
            guard v.isEmpty || v.hasPrefix("http://") || v.hasPrefix("https://") else { throw ConfigurationError("'http.advertised_url' must be an http:// or https:// URL, found '\(v)'") }
            c.http.advertisedURL = v
        },
        "decisions.seed": { c, v throws(ConfigurationError) in
            guard let n = UInt64(v) else { throw ConfigurationError("'decisions.seed' must be an unsigned integer, found '\(v)'") }
            c.decisions.seed = n
        },
        "decisions.instance": { c, v throws(ConfigurationError) in
            guard v.isEmpty || SurfaceConfiguration.isName(v) else { throw ConfigurationError("'decisions.instance' must be letters, digits, '_', '-' or '.'") }
            c.decisions.instance = v
        },
        "decisions.max_pending": { c, v throws(ConfigurationError) in c.decisions.maxPending = try int(v, "decisions.max_pending", min: 1, max: 1 << 30) },
        "decisions.wait_for_log": { c, v throws(ConfigurationError) in c.decisions.waitForLog = try bool(v, "decisions.wait_for_log") },
        "mmm.refit_interval_ms": { c, v throws(ConfigurationError) in c.mmm.refitIntervalMillis = try int(v, "mmm.refit_interval_ms", min: 0, max: 30 * 86_400_000) },
        "mmm.kpi": { c, v throws(ConfigurationError) in c.mmm.kpi = try oneOf(v, "mmm.kpi", ["revenue", "conversions"]) },
        "mmm.period": { c, v throws(ConfigurationError) in c.mmm.period = try oneOf(v, "mmm.period", ["day", "week"]) },
        "mmm.min_periods": { c, v throws(ConfigurationError) in c.mmm.minimumPeriods = try int(v, "mmm.min_periods", min: 8, max: 100_000) },
        "mmm.channels": { c, v throws(ConfigurationError) in
            c.mmm.channels = v.split(separator: ",").map { String($0.filter { !$0.isWhitespace }) }.filter { !$0.isEmpty }
        },
        "mmm.model_config": { c, v throws(ConfigurationError) in c.mmm.modelConfig = v },
        "mmm.priors_file": { c, v throws(ConfigurationError) in c.mmm.priorsFile = v },
        "log.level": { c, v throws(ConfigurationError) in c.log.level = try oneOf(v, "log.level", ["trace", "debug", "info", "notice", "warning", "error", "critical"]) },
        "log.format": { c, v throws(ConfigurationError) in c.log.format = try oneOf(v, "log.format", ["json", "text"]) },
    ]

    /// Keys of earlier builds that mean nothing now, with what replaced them.
    static let retired: [String: String] = [
        "kafka.topics.decisions": "decisions are logged in the events topic (kafka.topics.events), in the partition of their user, where their rewards are joined",
        "decisions.log_file": "decisions are logged in the events topic, where they are learnt; a file log would teach no policy",
        "decisions.checkpoint_interval_ms": "the reward join and the policies are part of each partition's snapshot (engine.snapshot_interval_ms)",
    ]

    private static let propertiesPrefix = "kafka.properties."
    private static let propertyEnvironmentPrefix = "ARBITER_KAFKA_PROPERTY_"

    /// Loads `path` (when given) over the defaults, then applies `environment`. Keys of
    /// earlier builds are refused, with the reason, unless `ignoringRetiredKeys` (for
    /// `arbiter migrate`, which reads an earlier build's configuration).
    public static func load(path: String?, environment: [String: String], ignoringRetiredKeys: Bool = false) throws(ConfigurationError) -> Configuration {
        var flat: [(String, String)] = []
        var sections: [String: Node] = [:]
        if let path {
            let bytes: [UInt8]
            do { bytes = try FileIO.readAll(path) } catch { throw ConfigurationError("cannot read configuration: \(error)") }
            (flat, sections) = try flatten(yaml: String(decoding: bytes, as: UTF8.self), source: path)
        }
        for (name, value) in environment.sorted(by: { $0.key < $1.key }) where name.hasPrefix("ARBITER_") {
            if name.hasPrefix(propertyEnvironmentPrefix) {
                let property = name.dropFirst(propertyEnvironmentPrefix.count).lowercased().replacing("_", with: ".")
                flat.append((propertiesPrefix + property, value))
            } else if let key = keys.keys.first(where: { environmentName(of: $0) == name }) ?? retired.keys.first(where: { environmentName(of: $0) == name }) {
                flat.append((key, value))
            } else if ["ARBITER_KAFKA_", "ARBITER_ENGINE_", "ARBITER_HTTP_", "ARBITER_LOG_", "ARBITER_DECISIONS_", "ARBITER_MMM_"].contains(where: { name.hasPrefix($0) }) {
                throw ConfigurationError("unknown environment override \(name); known: \(keys.keys.sorted().map(environmentName).joined(separator: ", ")), ARBITER_KAFKA_PROPERTY_*")
            }
        }
        var config = Configuration()
        for (key, value) in flat {
            if key.hasPrefix(propertiesPrefix) {
                config.kafka.properties[String(key.dropFirst(propertiesPrefix.count))] = value
            } else if let apply = keys[key] {
                try apply(&config, value)
            } else if let reason = retired[key] {
                if ignoringRetiredKeys { continue }
                throw ConfigurationError("'\(key)' is no longer a setting: \(reason); remove it")
            } else {
                throw ConfigurationError("unknown configuration key '\(key)'; known keys: \(keys.keys.sorted().joined(separator: ", ")), kafka.properties.*, surfaces, pricing, bidding")
            }
        }
        if let node = sections["surfaces"], let path { config.surfaces = try SurfaceConfiguration.parse(node, source: path) }
        if let node = sections["pricing"], let path { config.pricing = try PricingConfiguration.parse(node, source: path) }
        if let node = sections["bidding"], let path { config.bidding = try BiddingConfiguration.parse(node, source: path) }
        if config.surfaces.contains(where: { $0.name == BiddingLearner.surface }) || config.pricing.contains(where: { $0.name == BiddingLearner.surface }) {
            throw ConfigurationError("'\(BiddingLearner.surface)' names the bidder's logged bids; give the surface another name")
        }
        if let clash = config.pricing.first(where: { p in config.surfaces.contains { $0.name == p.name } }) {
            throw ConfigurationError("'\(clash.name)' is both a surface and a pricing surface; decisions name them alike, so give them different names")
        }
        if let name = config.kafka.properties["partitioner"], Partitioner(rawValue: name) == nil {
            throw ConfigurationError("kafka.properties.partitioner '\(name)' is not one of \(Partitioner.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return config
    }

    /// `ARBITER_` + key in upper case, dots as underscores.
    public static func environmentName(of key: String) -> String {
        "ARBITER_" + key.uppercased().replacing(".", with: "_")
    }

    /// Dotted key/value pairs of a YAML mapping, in document order, and the `surfaces`
    /// `pricing` and `bidding` mappings, which hold lists and are read on their own.
    static func flatten(yaml: String, source: String) throws(ConfigurationError) -> ([(String, String)], [String: Node]) {
        let node: Node?
        do { node = try Yams.compose(yaml: yaml) } catch { throw ConfigurationError("\(source) is not valid YAML: \(error)") }
        guard let node else { return ([], [:]) }
        var out: [(String, String)] = []
        var sections: [String: Node] = [:]
        func walk(_ node: Node, _ prefix: String) throws(ConfigurationError) {
            switch node {
            case .mapping(let mapping):
                for (k, v) in mapping {
                    guard let name = k.string else { throw ConfigurationError("\(source): keys must be strings (under '\(prefix)')") }
                    if prefix.isEmpty, name == "surfaces" || name == "pricing" || name == "bidding" {
                        sections[name] = v
                        continue
                    }
                    try walk(v, prefix.isEmpty ? name : prefix + "." + name)
                }
            case .scalar(let scalar):
                out.append((prefix, scalar.string))
            case .sequence, .alias:
                throw ConfigurationError("\(source): '\(prefix)' must be a single value")
            }
        }
        guard case .mapping = node else { throw ConfigurationError("\(source): the top level must be a mapping") }
        try walk(node, "")
        return (out, sections)
    }

    private static func nonEmpty(_ v: String, _ key: String) throws(ConfigurationError) -> String {
        guard !v.isEmpty else { throw ConfigurationError("'\(key)' must not be empty") }
        return v
    }

    private static func int(_ v: String, _ key: String, min: Int, max: Int = .max) throws(ConfigurationError) -> Int {
        guard let n = Int(v), n >= min, n <= max else {
            throw ConfigurationError("'\(key)' must be an integer between \(min) and \(max), found '\(v)'")
        }
        return n
    }

    private static func number(_ v: String, _ key: String, min: Double, max: Double) throws(ConfigurationError) -> Double {
        guard let x = Double(v), x.isFinite, x >= min, x <= max else {
            throw ConfigurationError("'\(key)' must be a number between \(min) and \(max), found '\(v)'")
        }
        return x
    }

    private static func bool(_ v: String, _ key: String) throws(ConfigurationError) -> Bool {
        switch v.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw ConfigurationError("'\(key)' must be true or false, found '\(v)'")
        }
    }

    private static func oneOf(_ v: String, _ key: String, _ allowed: [String]) throws(ConfigurationError) -> String {
        guard allowed.contains(v) else { throw ConfigurationError("'\(key)' must be one of \(allowed.joined(separator: ", ")), found '\(v)'") }
        return v
    }

    /// librdkafka properties for the engine's consumer.
    public var consumerProperties: KafkaProperties {
        var p = kafka.properties
        p["bootstrap.servers"] = kafka.bootstrapServers
        p["group.id"] = kafka.groupID
        return p
    }

    /// How keys map to partitions (librdkafka's `partitioner` property): the engine must
    /// place decisions where the producers of the events topic place the same user.
    /// murmur2_random, the Java client's (and `arbiter produce`'s), unless configured.
    public var partitioner: Partitioner {
        kafka.properties["partitioner"].flatMap(Partitioner.init(rawValue:)) ?? .murmur2Random
    }

    /// librdkafka properties for the engine's producer (consumer-only ones removed).
    public var producerProperties: KafkaProperties {
        var p = kafka.properties.filter { !Configuration.consumerOnly.contains($0.key) }
        p["bootstrap.servers"] = kafka.bootstrapServers
        p["partitioner"] = partitioner.rawValue
        // An answer that waits for its acknowledgement waits for the batch too: linger for
        // at most a millisecond. Without the wait, librdkafka's default 5 ms batches more
        // decisions per request, which costs the producer's and the broker's CPU less
        // (Benchmarks/README.md, HTTP).
        p["linger.ms"] = p["linger.ms"] ?? (decisions.waitForLog ? "1" : "5")
        return p
    }

    /// Properties librdkafka rejects or ignores with a warning on a producer.
    static let consumerOnly: Set<String> = [
        "group.id", "group.instance.id", "session.timeout.ms", "heartbeat.interval.ms",
        "partition.assignment.strategy", "auto.offset.reset", "max.poll.interval.ms",
        "fetch.min.bytes", "fetch.max.bytes", "fetch.wait.max.ms", "max.partition.fetch.bytes",
        "queued.max.messages.kbytes", "queued.min.messages", "enable.auto.commit",
        "enable.auto.offset.store", "auto.commit.interval.ms", "isolation.level", "group.protocol",
    ]
}
