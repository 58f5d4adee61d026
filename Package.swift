// swift-tools-version:6.1
import PackageDescription

/// Lets the optimiser inline a module's functions into the modules that use them (the
/// JSON scanner into the event codec, exact sums into the learners): without it every
/// cross-module call stays a call, which cost a third of decoding throughput.
let crossModule: [SwiftSetting] = [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]

let package = Package(
    name: "Arbiter",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "arbiter", targets: ["arbiter"]),
        .executable(name: "arbiter-bench", targets: ["ArbiterBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // C libraries reached through pkg-config.
        .systemLibrary(
            name: "CRdKafka", path: "Sources/CRdKafka", pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(
            name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]),

        // What every layer uses: threads and clocks, file I/O, JSON and CSV, the seeded
        // generator. Learners and models import it instead of Stream (and so librdkafka).
        .target(name: "Common", dependencies: ["CArbiter"], swiftSettings: crossModule),
        // The few C calls Swift's system modules do not export (thread names).
        .target(name: "CArbiter"),
        // HTTP through libcurl (object-store snapshots with AWS Signature V4, forwarded
        // per-user reads): a C wrapper, since curl_easy_setopt is variadic.
        .target(name: "CHTTP", linkerSettings: [.linkedLibrary("curl")]),
        // Versioned, checksummed binary encoding of learner state.
        .target(name: "StateFormat", swiftSettings: crossModule),
        // The event model and the learner contract every layer shares: learners must not
        // import Stream, so the events they consume cannot live there.
        .target(name: "Events", dependencies: ["StateFormat", "Common"], swiftSettings: crossModule),

        .target(
            name: "Stream",
            dependencies: [
                "Events", "Common", "CRdKafka", "CHTTP",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(name: "Bandits", dependencies: ["Events", "StateFormat", "Common", "COpenBLAS"], swiftSettings: crossModule),
        .target(name: "Scoring", dependencies: ["Events", "StateFormat", "Common"]),
        // One target per model family (DESIGN.md's Sources/Models/…).
        .target(name: "Recommenders", dependencies: ["Events", "StateFormat", "Common"], path: "Sources/Models/Recommenders"),
        .target(name: "Bidding", dependencies: ["Events", "StateFormat", "Common"], path: "Sources/Models/Bidding", swiftSettings: [.unsafeFlags(["-O"])]),
        // Prices: ladders and guardrails, demand per price point, Thompson sampling and
        // inventory plans. Optimised in debug builds too: its tests simulate markets.
        .target(
            name: "Pricing", dependencies: ["Bandits", "Events", "StateFormat", "Common", "COpenBLAS"],
            path: "Sources/Models/Pricing", swiftSettings: [.unsafeFlags(["-O"])]),
        // Bayesian marketing-mix model: adstock and saturation, NUTS, diagnostics.
        // Optimised in debug builds too: the sampler's tests run thousands of gradient
        // evaluations, which unoptimised code makes take minutes.
        .target(
            name: "MarketingMix", dependencies: ["Events", "StateFormat", "Common", .product(name: "Yams", package: "Yams")],
            path: "Sources/Models/MarketingMix", swiftSettings: [.unsafeFlags(["-O"])]),
        // Off-policy evaluation of candidate policies on logged bandit data.
        .target(name: "Evaluation", dependencies: ["Bandits", "Stream", "Events", "Common"]),
        .target(
            name: "Engine",
            dependencies: [
                "Events", "StateFormat", "Common", "Stream", "Bandits", "Scoring", "Recommenders", "Bidding", "MarketingMix", "Pricing",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Yams", package: "Yams"),
            ]),
        .target(
            name: "Server",
            dependencies: [
                "Engine", "Bandits", "Events", "Common", "Stream", "Scoring", "Pricing",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .executableTarget(
            name: "arbiter",
            dependencies: [
                "Engine", "Server", "Stream", "Common", "Evaluation", "MarketingMix",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .executableTarget(
            name: "ArbiterBench",
            dependencies: [
                "Engine", "Stream", "Common", "Events", "Bandits", "Evaluation", "MarketingMix", "Pricing", "Bidding", "CRdKafka",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/ArbiterBench"),

        .testTarget(name: "EventsTests", dependencies: ["Events", "StateFormat", "Common"]),
        .testTarget(name: "StateFormatTests", dependencies: ["StateFormat"]),
        .testTarget(name: "StreamTests", dependencies: ["Stream", "Events", "Common"]),
        .testTarget(name: "BanditsTests", dependencies: ["Bandits", "Events", "StateFormat", "Common"]),
        .testTarget(name: "ScoringTests", dependencies: ["Scoring", "Events", "StateFormat"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "Bandits", "Common"]),
        .testTarget(name: "ModelsTests", dependencies: ["Recommenders", "Bidding", "MarketingMix", "Events", "StateFormat", "Common"]),
        .testTarget(name: "MarketingMixTests", dependencies: ["MarketingMix", "Common"]),
        .testTarget(name: "PricingTests", dependencies: ["Pricing", "Bandits", "Events", "StateFormat", "Common"]),
        .testTarget(
            name: "EngineTests",
            dependencies: [
                "Engine", "Stream", "Events", "Common", "StateFormat", "Bandits", "Recommenders", "Bidding", "MarketingMix", "Pricing",
                .product(name: "Logging", package: "swift-log"),
            ],
            // Read by path: the decision-state files of an earlier build.
            exclude: ["Fixtures"]),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "Engine", "Bandits", "Stream", "Events", "Common", "Pricing",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Yams", package: "Yams"),
            ]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["Stream", "Events", "Common", "MarketingMix", .product(name: "Logging", package: "swift-log")]),
    ]
)
