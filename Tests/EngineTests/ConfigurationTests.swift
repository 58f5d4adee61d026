import Bandits
import Bidding
import Foundation
import Pricing
import Testing

@testable import Engine

@Suite struct ConfigurationTests {
    @Test func theReferenceFileLoadsAndMatchesTheDefaults() throws {
        let c = try Configuration.load(path: repositoryRoot + "/config/arbiter.yaml", environment: [:])
        var expected = Configuration()
        expected.kafka.properties = ["client.id": "arbiter", "session.timeout.ms": "6000", "heartbeat.interval.ms": "1000", "partition.assignment.strategy": "roundrobin"]
        #expect(c.surfaces.map(\.name) == ["home_banner", "offer", "checkout_upsell"])
        #expect(c.surfaces[1].arms[1] == SurfaceConfiguration.Arm(name: "free_gift", prior: ArmPrior(trials: 20, rewardSum: 2)))
        #expect(c.surfaces[1].dimension == 4 && c.surfaces[2].reward == .revenue)
        expected.surfaces = c.surfaces
        #expect(c.pricing.map(\.name) == ["catalogue", "clearance", "outlet"] && c.pricing[2].strategy == .dynamicProgram(episode: 1) && c.pricing[0].learning.products[0].ladder.count == 8)
        #expect(c.pricing[0].guardrails[1].endings == [990_000] && c.pricing[1].stock[0]?.units == 500)
        #expect(c.pricing[0].guardrails[1].sameUserSeconds == 900, "a product's guardrails replace the surface's key by key")
        expected.pricing = c.pricing
        #expect(c.bidding.campaigns.map(\.id) == ["spring-shoes", "app-install", "car-video"] && c.bidding.campaigns[1].goal == .perAction(value: 4))
        #expect(c.bidding.campaigns[0].frequencyCap?.impressions == 5 && c.bidding.campaigns[2].targeting.categories.contains("IAB2-1"))
        expected.bidding = c.bidding
        #expect(c == expected)
    }

    @Test func environmentOverridesTheFile() throws {
        let c = try Configuration.load(path: repositoryRoot + "/config/arbiter.yaml", environment: [
            "ARBITER_KAFKA_BOOTSTRAP_SERVERS": "kafka-1:9092,kafka-2:9092",
            "ARBITER_ENGINE_SNAPSHOT_INTERVAL_MS": "250",
            "ARBITER_KAFKA_PROPERTY_SECURITY_PROTOCOL": "SASL_SSL",
            "ARBITER_KAFKA_PROPERTY_SASL_MECHANISMS": "PLAIN",
            "ARBITER_HTTP_PORT": "0",
            "UNRELATED": "x",
        ])
        #expect(c.kafka.bootstrapServers == "kafka-1:9092,kafka-2:9092")
        #expect(c.engine.snapshotIntervalMillis == 250)
        #expect(c.http.port == 0)
        #expect(c.consumerProperties["security.protocol"] == "SASL_SSL")
        #expect(c.producerProperties["sasl.mechanisms"] == "PLAIN")
        #expect(c.producerProperties["session.timeout.ms"] == nil, "consumer-only properties stay off the producer")
        #expect(c.consumerProperties["group.id"] == "arbiter")
    }

    @Test(arguments: [
        ("kafka:\n  bootstrap_server: x\n", "unknown configuration key 'kafka.bootstrap_server'"),
        ("engine:\n  snapshot_interval_ms: soon\n", "'engine.snapshot_interval_ms' must be an integer"),
        ("engine:\n  outputs_timeout_ms: 99999999999999\n", "'engine.outputs_timeout_ms' must be an integer between 1 and 3600000"),
        ("engine:\n  snapshot_input_ratio: -1\n", "'engine.snapshot_input_ratio' must be a number between 0.0 and 1000.0"),
        ("engine:\n  snapshot_input_ratio: nan\n", "'engine.snapshot_input_ratio' must be a number"),
        ("engine:\n  snapshot_max_interval_ms: 10\n", "'engine.snapshot_max_interval_ms' must be an integer between 1000 and 86400000"),
        ("log:\n  format: xml\n", "'log.format' must be one of json, text"),
        ("- a\n- b\n", "the top level must be a mapping"),
        ("kafka: [1, 2]\n", "'kafka' must be a single value"),
        ("surfaces:\n  s:\n    policy: ucb2\n", "policy 'ucb2' is not one of"),
        ("surfaces:\n  s:\n    policy: ucb1\n    parameters: { epsilon: 0.1 }\n", "ucb1 has no parameter 'epsilon'"),
        ("surfaces:\n  s:\n    policy: exp3\n    parameters: { gamma: 2 }\n", "parameter 'gamma' must be in"),
        ("surfaces:\n  s:\n    policy: ucb1\n    arms: [a, a]\n", "arm 'a' is listed twice"),
        ("surfaces:\n  s:\n    policy: ucb1\n    features: [x]\n", "does not use features"),
        ("surfaces:\n  s:\n    policy: linucb\n    reward: likes\n", "reward must be click, purchase"),
        ("surfaces:\n  s:\n    policy: linucb\n    arm_features: [size]\n", "'arm_features' need 'payoff: shared'"),
        ("surfaces:\n  s:\n    policy: linucb\n    payoff: shared\n    arm_features: [size]\n    arms: [a]\n", "value for each arm feature"),
        ("surfaces:\n  s:\n    polcy: linucb\n", "unknown key 'polcy'"),
        ("surfaces:\n  s:\n    policy: ucb1\n    estimator: ridge\n    features: [x]\n", "ucb1 cannot explore over 'ridge'"),
        ("surfaces:\n  s:\n    policy: softmax\n    estimator: trees\n", "estimator must be one of counts, ridge, importance"),
        ("kafka:\n  topics:\n    decisions: arbiter.decisions\n", "'kafka.topics.decisions' is no longer a setting: decisions are logged in the events topic"),
        ("decisions:\n  checkpoint_interval_ms: 60000\n", "part of each partition's snapshot"),
        ("engine:\n  snapshot_store: /mnt/shared\n", "must be empty (files in engine.snapshot_dir) or s3://"),
        ("kafka:\n  properties:\n    partitioner: random\n", "kafka.properties.partitioner 'random' is not one of"),
    ])
    func badFilesAreRefusedWithAMessage(yaml: String, message: String) throws {
        let path = temporaryDirectory("config") + "/bad.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try Configuration.load(path: path, environment: [:])
            Issue.record("accepted \(yaml)")
        } catch {
            #expect(error.description.contains(message), "\(error)")
        }
    }

    @Test func anExplorationOverARidgeModelIsAConfigurationNotANewType() throws {
        let path = temporaryDirectory("config") + "/ridge.yaml"
        try "surfaces:\n  s:\n    policy: epsilon-greedy\n    estimator: ridge\n    parameters: { epsilon: 0.05, regularization: 2 }\n    features: [x, y]\n    arms: [a, b]\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let c = try Configuration.load(path: path, environment: [:])
        #expect(c.surfaces[0].policy.name == "epsilon-greedy+ridge" && c.surfaces[0].dimension == 3)
        #expect(c.partitioner == .murmur2Random && c.producerProperties["partitioner"] == "murmur2_random", "the Java client's partitioner, as arbiter produce uses")
    }

    @Test func producerLingersLessWhenAnswersWaitForTheLog() throws {
        let waiting = try Configuration.load(path: nil, environment: [:])
        let notWaiting = try Configuration.load(path: nil, environment: ["ARBITER_DECISIONS_WAIT_FOR_LOG": "false"])
        let configured = try Configuration.load(path: nil, environment: ["ARBITER_KAFKA_PROPERTY_LINGER_MS": "20"])
        #expect(waiting.producerProperties["linger.ms"] == "1")
        #expect(notWaiting.producerProperties["linger.ms"] == "5")
        #expect(configured.producerProperties["linger.ms"] == "20", "an operator's linger.ms wins")
    }

    @Test func unknownEnvironmentOverridesAreRefused() {
        #expect(throws: ConfigurationError.self) {
            try Configuration.load(path: nil, environment: ["ARBITER_ENGINE_SNAPSHOT_DIRECTORY": "/x"])
        }
    }
}
