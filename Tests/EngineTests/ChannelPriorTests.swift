import Bandits
import Events
import Foundation
import Logging
import Testing

@testable import Engine

/// A marketing-mix refit reaches the decisions only through the arms mapped to a
/// channel: their priors change, their observations stay, and nothing else moves.
@Suite struct ChannelPriorTests {
    static let promo = SurfaceConfiguration(
        name: "promo", policy: PolicySpec(algorithm: .thompsonBeta, parameters: ["propensity_draws": 50]),
        arms: ["tv_offer", "search_offer", "house_offer"].map { SurfaceConfiguration.Arm(name: $0) }, reward: .click, attributionWindowMillis: 60_000,
        channelPriors: ChannelPriorMapping(rewardPerROI: 0.01, trials: 50, arms: ["tv_offer": "tv", "search_offer": "search", "later_offer": "tv"]))
    static let plain = SurfaceConfiguration(
        name: "plain", policy: PolicySpec(algorithm: .ucb1), arms: ["x", "y"].map { SurfaceConfiguration.Arm(name: $0, prior: ArmPrior(trials: 3, rewardSum: 1)) },
        reward: .click, attributionWindowMillis: 60_000)

    func trained() async throws -> InProcessEngine {
        let clock = TestClock()
        let e = try InProcessEngine(surfaces: [Self.promo, Self.plain], partitions: 2, seed: 7, instance: "t", logger: Logger(label: "test"), clock: clock.read)
        for k in 0..<200 {
            for surface in ["promo", "plain"] {
                let d = try await e.decisions.decide(DecisionRequest(surface: surface, user: "u\(k)"))
                e.apply(k % 3 == 0 ? [Event(timestamp: clock.millis + 1, body: .click(Click(user: "u\(k)", decisionID: d.id)))] : [])
            }
            clock.advance(10)
        }
        return e
    }

    /// Per surface: version and, per arm, prior and the observations the prior is not part of.
    func snapshot(_ e: InProcessEngine) -> [String: (version: Int64, arms: [String: (prior: ArmPrior?, observed: Double)])] {
        var out: [String: (Int64, [String: (ArmPrior?, Double)])] = [:]
        let view = e.views.view
        for surface in view.surfaces {
            let policy = view.bandits.policies[surface.name]!
            var arms: [String: (ArmPrior?, Double)] = [:]
            for (i, arm) in surface.config.arms.enumerated() {
                let prior = policy.prior(arm: i)
                arms[arm.name] = (prior, policy.count(arm: i)! - (prior?.trials ?? 0))
            }
            out[surface.name] = (surface.version, arms)
        }
        return out
    }

    @Test func aRefitChangesThePriorsOfMappedArmsAndNothingElse() async throws {
        let e = try await trained()
        let s = e.decisions
        let before = snapshot(e)
        let changes = await s.applyChannelPriors(roi: ["tv": 2.0, "search": 500, "radio": 3])
        let after = snapshot(e)
        #expect(Set(changes.map(\.arm)) == ["tv_offer", "search_offer"])
        #expect(after["promo"]!.arms["tv_offer"]!.prior == ArmPrior(trials: 50, rewardSum: 1), "50 trials at 0.01 × ROI 2")
        #expect(after["promo"]!.arms["search_offer"]!.prior == ArmPrior(trials: 50, rewardSum: 50), "a click rate is at most 1")
        for arm in ["tv_offer", "search_offer", "house_offer"] {
            #expect(abs(after["promo"]!.arms[arm]!.observed - before["promo"]!.arms[arm]!.observed) < 1e-9, "\(arm) kept its observations")
            #expect(before["promo"]!.arms[arm]!.observed > 0)
        }
        #expect(after["promo"]!.arms["house_offer"]!.prior == before["promo"]!.arms["house_offer"]!.prior)
        #expect(after["promo"]!.version == before["promo"]!.version + 1)
        #expect(after["plain"]!.version == before["plain"]!.version)
        for arm in ["x", "y"] {
            #expect(after["plain"]!.arms[arm]!.prior == ArmPrior(trials: 3, rewardSum: 1))
            #expect(after["plain"]!.arms[arm]!.observed == before["plain"]!.arms[arm]!.observed)
        }
        // The same posterior again changes nothing, not even the version.
        #expect(await s.applyChannelPriors(roi: ["tv": 2.0, "search": 500]).isEmpty)
        #expect(snapshot(e)["promo"]!.version == after["promo"]!.version)
        // The new priors travel in the catalogue, and a restart with the same
        // configuration keeps them.
        let published = try SurfaceDefinition(serialized: e.views.definition("promo")!.serialized())
        let restarted = SurfaceDefinition.reconciled(config: Self.promo, published: published)
        #expect(restarted.config.arms.first { $0.name == "tv_offer" }?.prior == ArmPrior(trials: 50, rewardSum: 1))
        #expect(restarted.version == published.version, "nothing to publish again")
        // An arm mapped before it exists gets its prior once it is added and a refit follows.
        try await s.addArm(surface: "promo", ArmDefinition(name: "later_offer"))
        #expect(await s.applyChannelPriors(roi: ["tv": 2.0, "search": 500]).map(\.arm) == ["later_offer"])
    }

    @Test(arguments: [
        ("surfaces:\n  s:\n    policy: linucb\n    features: [f]\n    mmm_priors: {reward_per_roi: 1, trials: 5, arms: {a: tv}}\n", "mmm_priors need a policy with per-arm priors"),
        ("surfaces:\n  s:\n    policy: ucb1\n    mmm_priors: {reward_per_roi: 0, trials: 5}\n", "must be positive"),
        ("surfaces:\n  s:\n    policy: ucb1\n    mmm_priors: {reward_per_roi: 1, trial: 5}\n", "unknown key 'trial'"),
        ("surfaces:\n  s:\n    policy: ucb1\n    mmm_priors: {reward_per_roi: 1, trials: 5, arms: [a]}\n", "must map arm names"),
    ])
    func badMappingsAreRefused(yaml: String, message: String) throws {
        let path = temporaryDirectory("mmm-priors") + "/c.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try Configuration.load(path: path, environment: [:])
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(error.description.contains(message), "\(error)")
        }
        try "surfaces:\n  s:\n    policy: thompson-beta\n    arms: [a]\n    mmm_priors: {reward_per_roi: 0.5, trials: 20, arms: {a: tv}}\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let good = try Configuration.load(path: path, environment: [:])
        #expect(good.surfaces[0].channelPriors == ChannelPriorMapping(rewardPerROI: 0.5, trials: 20, arms: ["a": "tv"]))
    }
}
