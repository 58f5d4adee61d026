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

    func trained() throws -> DecisionService {
        let s = try DecisionService(
            surfaces: [Self.promo, Self.plain], seed: 7, instance: "t", maxPending: 10_000, log: MemoryDecisionLog(), logger: Logger(label: "test"),
            clock: TestClock().read)
        for k in 0..<200 {
            for surface in ["promo", "plain"] {
                let d = try s.decide(DecisionRequest(surface: surface, user: "u\(k)"))
                if k % 3 == 0 { s.observe(Event(timestamp: 0, body: .click(Click(user: "u\(k)", decisionID: d.id)))) }
            }
            s.tick()
        }
        return s
    }

    /// Per surface: version and, per arm, prior and the statistics the prior is not part of.
    func snapshot(_ s: DecisionService) -> [String: (version: Int64, arms: [String: (prior: ArmPrior?, observed: Double)])] {
        var out: [String: (Int64, [String: (ArmPrior?, Double)])] = [:]
        for surface in s.current.surfaces {
            var arms: [String: (ArmPrior?, Double)] = [:]
            for (i, name) in surface.arms.names.enumerated() {
                let prior = surface.policy.prior(arm: i)
                arms[name] = (prior, surface.policy.count(arm: i)! - (prior?.trials ?? 0))
            }
            out[surface.config.name] = (surface.version, arms)
        }
        return out
    }

    @Test func aRefitChangesThePriorsOfMappedArmsAndNothingElse() throws {
        let s = try trained()
        let before = snapshot(s)
        let changes = s.applyChannelPriors(roi: ["tv": 2.0, "search": 500, "radio": 3])
        let after = snapshot(s)
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
        #expect(s.applyChannelPriors(roi: ["tv": 2.0, "search": 500]).isEmpty)
        #expect(snapshot(s)["promo"]!.version == after["promo"]!.version)
        // The new priors are part of the durable state.
        let restored = try DecisionService(
            surfaces: [Self.promo, Self.plain], seed: 7, instance: "t", maxPending: 10_000, log: MemoryDecisionLog(), restoring: s.encodeState(),
            logger: Logger(label: "test"), clock: TestClock().read)
        #expect(snapshot(restored)["promo"]!.arms["tv_offer"]!.prior == ArmPrior(trials: 50, rewardSum: 1))
        // An arm mapped before it exists gets its prior once it is added and a refit follows.
        try s.addArm(surface: "promo", SurfaceConfiguration.Arm(name: "later_offer"))
        #expect(s.applyChannelPriors(roi: ["tv": 2.0, "search": 500]).map(\.arm) == ["later_offer"])
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
