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
        public var decisionsTopic = "arbiter.decisions"
        /// Passed to librdkafka unchanged, for consumer and producer alike (security,
        /// timeouts, client id …).
        public var properties: [String: String] = [:]
        public var allowOldLibrdkafka = false
    }

    public struct EngineSettings: Sendable, Equatable {
        public var snapshotDirectory = "run/snapshots"
        public var snapshotIntervalMillis = 5000
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
    }

    public struct Decisions: Sendable, Equatable {
        /// Mixed into every decision's random seed: replaying with the same seed gives
        /// the same decisions.
        public var seed: UInt64 = 0
        /// Names this process in the decision ids it makes; empty: derived at start.
        public var instance = ""
        /// Open decisions and remembered settled ones the reward join keeps at most.
        public var maxPending = 1_000_000
        /// Decision log as JSON lines in this file instead of the decisions topic.
        public var logFile = ""
        /// Time between saves of the decision state (policies and reward join).
        public var checkpointIntervalMillis = 60_000
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
    public var mmm = MarketingMix()
    public var log = Log()

    /// The priors file in use: as configured, or in the snapshot directory.
    public var priorsFile: String { mmm.priorsFile.isEmpty ? engine.snapshotDirectory + "/mmm-priors.json" : mmm.priorsFile }

    public init() {}

    /// The keys this build understands, with how each is applied.
    private static let keys: [String: @Sendable (inout Configuration, String) throws(ConfigurationError) -> Void] = [
        "kafka.bootstrap_servers": { c, v throws(ConfigurationError) in c.kafka.bootstrapServers = try nonEmpty(v, "kafka.bootstrap_servers") },
        "kafka.group_id": { c, v throws(ConfigurationError) in c.kafka.groupID = try nonEmpty(v, "kafka.group_id") },
        "kafka.topics.events": { c, v throws(ConfigurationError) in c.kafka.eventsTopic = try nonEmpty(v, "kafka.topics.events") },
        "kafka.topics.dead_letters": { c, v throws(ConfigurationError) in c.kafka.deadLettersTopic = try nonEmpty(v, "kafka.topics.dead_letters") },
        "kafka.topics.decisions": { c, v throws(ConfigurationError) in c.kafka.decisionsTopic = try nonEmpty(v, "kafka.topics.decisions") },
        "kafka.allow_old_librdkafka": { c, v throws(ConfigurationError) in c.kafka.allowOldLibrdkafka = try bool(v, "kafka.allow_old_librdkafka") },
        "engine.snapshot_dir": { c, v throws(ConfigurationError) in c.engine.snapshotDirectory = try nonEmpty(v, "engine.snapshot_dir") },
        "engine.snapshot_interval_ms": { c, v throws(ConfigurationError) in c.engine.snapshotIntervalMillis = try int(v, "engine.snapshot_interval_ms", min: 0, max: 86_400_000) },
        "engine.snapshots_kept": { c, v throws(ConfigurationError) in c.engine.snapshotsKept = try int(v, "engine.snapshots_kept", min: 2, max: 1000) },
        "engine.max_buffered_bytes": { c, v throws(ConfigurationError) in c.engine.maxBufferedBytes = try int(v, "engine.max_buffered_bytes", min: 65536, max: 1 << 36) },
        "engine.poll_batch_size": { c, v throws(ConfigurationError) in c.engine.pollBatchSize = try int(v, "engine.poll_batch_size", min: 1, max: 100_000) },
        "engine.outputs_timeout_ms": { c, v throws(ConfigurationError) in c.engine.outputsTimeoutMillis = try int(v, "engine.outputs_timeout_ms", min: 1, max: 3_600_000) },
        "http.host": { c, v throws(ConfigurationError) in c.http.host = try nonEmpty(v, "http.host") },
        "http.port": { c, v throws(ConfigurationError) in c.http.port = try int(v, "http.port", min: 0, max: 65535) },
        "http.admin_token": { c, v throws(ConfigurationError) in c.http.adminToken = v },
        "http.max_body_bytes": { c, v throws(ConfigurationError) in c.http.maxBodyBytes = try int(v, "http.max_body_bytes", min: 256, max: 64 << 20) },
        "decisions.seed": { c, v throws(ConfigurationError) in
            guard let n = UInt64(v) else { throw ConfigurationError("'decisions.seed' must be an unsigned integer, found '\(v)'") }
            c.decisions.seed = n
        },
        "decisions.instance": { c, v throws(ConfigurationError) in
            guard v.isEmpty || SurfaceConfiguration.isName(v) else { throw ConfigurationError("'decisions.instance' must be letters, digits, '_', '-' or '.'") }
            c.decisions.instance = v
        },
        "decisions.max_pending": { c, v throws(ConfigurationError) in c.decisions.maxPending = try int(v, "decisions.max_pending", min: 1, max: 1 << 30) },
        "decisions.log_file": { c, v throws(ConfigurationError) in c.decisions.logFile = v },
        "decisions.checkpoint_interval_ms": { c, v throws(ConfigurationError) in c.decisions.checkpointIntervalMillis = try int(v, "decisions.checkpoint_interval_ms", min: 100, max: 86_400_000) },
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

    private static let propertiesPrefix = "kafka.properties."
    private static let propertyEnvironmentPrefix = "ARBITER_KAFKA_PROPERTY_"

    /// Loads `path` (when given) over the defaults, then applies `environment`.
    public static func load(path: String?, environment: [String: String]) throws(ConfigurationError) -> Configuration {
        var flat: [(String, String)] = []
        var surfacesNode: Node?
        if let path {
            let bytes: [UInt8]
            do { bytes = try FileIO.readAll(path) } catch { throw ConfigurationError("cannot read configuration: \(error)") }
            (flat, surfacesNode) = try flatten(yaml: String(decoding: bytes, as: UTF8.self), source: path)
        }
        for (name, value) in environment.sorted(by: { $0.key < $1.key }) where name.hasPrefix("ARBITER_") {
            if name.hasPrefix(propertyEnvironmentPrefix) {
                let property = name.dropFirst(propertyEnvironmentPrefix.count).lowercased().replacing("_", with: ".")
                flat.append((propertiesPrefix + property, value))
            } else if let key = keys.keys.first(where: { environmentName(of: $0) == name }) {
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
            } else {
                throw ConfigurationError("unknown configuration key '\(key)'; known keys: \(keys.keys.sorted().joined(separator: ", ")), kafka.properties.*, surfaces")
            }
        }
        if let surfacesNode, let path { config.surfaces = try SurfaceConfiguration.parse(surfacesNode, source: path) }
        return config
    }

    /// `ARBITER_` + key in upper case, dots as underscores.
    public static func environmentName(of key: String) -> String {
        "ARBITER_" + key.uppercased().replacing(".", with: "_")
    }

    /// Dotted key/value pairs of a YAML mapping, in document order, and the `surfaces`
    /// mapping, which holds lists and is read on its own.
    static func flatten(yaml: String, source: String) throws(ConfigurationError) -> ([(String, String)], Node?) {
        let node: Node?
        do { node = try Yams.compose(yaml: yaml) } catch { throw ConfigurationError("\(source) is not valid YAML: \(error)") }
        guard let node else { return ([], nil) }
        var out: [(String, String)] = []
        var surfaces: Node?
        func walk(_ node: Node, _ prefix: String) throws(ConfigurationError) {
            switch node {
            case .mapping(let mapping):
                for (k, v) in mapping {
                    guard let name = k.string else { throw ConfigurationError("\(source): keys must be strings (under '\(prefix)')") }
                    if prefix.isEmpty, name == "surfaces" {
                        surfaces = v
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
        return (out, surfaces)
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

    /// librdkafka properties for the engine's producer (consumer-only ones removed).
    public var producerProperties: KafkaProperties {
        var p = kafka.properties.filter { !Configuration.consumerOnly.contains($0.key) }
        p["bootstrap.servers"] = kafka.bootstrapServers
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
