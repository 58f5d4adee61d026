import Common
import StateFormat
import Testing

@testable import Bandits

/// Replacing an arm's prior keeps what the arm observed: taking the prior out leaves
/// exactly the statistics of an arm that never had one, with or without discounting.
@Suite struct ArmPriorTests {
    @Test(arguments: [1.0, 0.9])
    func aReplacedPriorLeavesTheObservationsAsTheyWere(discount: Double) throws {
        var withPrior = ArmStatistics(discount: discount), without = ArmStatistics(discount: discount)
        _ = withPrior.addArm(prior: ArmPrior(trials: 10, rewardSum: 5))
        _ = withPrior.addArm(prior: ArmPrior(trials: 4, rewardSum: 1))
        _ = without.addArm(prior: .none)
        _ = without.addArm(prior: ArmPrior(trials: 4, rewardSum: 1))
        var random = SeededRandom(seed: 3)
        for _ in 0..<40 {
            let arm = random.unit() < 0.6 ? 0 : 1
            let reward = random.unit()
            withPrior.record(arm: arm, reward: reward)
            without.record(arm: arm, reward: reward)
        }
        withPrior.setPrior(arm: 0, .none)
        let (n, mean, deviations) = withPrior.moments(0), (n0, mean0, deviations0) = without.moments(0)
        #expect(abs(n - n0) < 1e-9 && abs(mean - mean0) < 1e-9 && abs(deviations - deviations0) < 1e-9, "\((n, mean, deviations)) vs \((n0, mean0, deviations0))")
        // The other arm is untouched, and a new prior adds its pseudo-observations.
        #expect(withPrior.arms[1] == without.arms[1])
        withPrior.setPrior(arm: 0, ArmPrior(trials: 20, rewardSum: 2))
        #expect(abs(withPrior.count(0) - (n0 + 20)) < 1e-9)
        #expect(abs(withPrior.mean(0)! - (mean0 * n0 + 2) / (n0 + 20)) < 1e-9)
        #expect(withPrior.prior(0) == ArmPrior(trials: 20, rewardSum: 2))
        // Later observations decay the prior with them; replacing it again still recovers the rest.
        withPrior.record(arm: 0, reward: 1)
        without.record(arm: 0, reward: 1)
        withPrior.setPrior(arm: 0, .none)
        #expect(abs(withPrior.count(0) - without.count(0)) < 1e-9 && abs(withPrior.mean(0)! - without.mean(0)!) < 1e-9)
    }

    @Test func priorsSurviveASnapshotAndPolicyStateFromBeforeThemStillReads() throws {
        var p = BetaThompson(propensityDraws: 30)
        _ = p.addArm(prior: ArmPrior(trials: 8, rewardSum: 2))
        p.update(arm: 0, features: [], reward: 1, propensity: 1)
        var policy = SurfacePolicy(p)
        #expect(policy.usesArmPriors && policy.prior(arm: 0) == ArmPrior(trials: 8, rewardSum: 2))
        let replaced = policy.setPrior(arm: 0, ArmPrior(trials: 3, rewardSum: 3))
        #expect(replaced)
        var w = StateWriter()
        w.write(section: policy)
        var r = StateReader(w.bytes)
        let restored = try r.read(section: SurfacePolicy.self)
        #expect(restored.prior(arm: 0) == ArmPrior(trials: 3, rewardSum: 3))
        var linear = SurfacePolicy(LinUCB(dimension: 2))
        _ = linear.addArm(prior: .none)
        let linearReplaced = linear.setPrior(arm: 0, ArmPrior(trials: 1, rewardSum: 1))
        #expect(!linear.usesArmPriors && !linearReplaced)

        // Version 1 statistics (no priors recorded) read with their sums as they were.
        var v1 = StateWriter()
        v1.write(1.0)
        v1.write(Int64(1))
        v1.writeVarint(1)
        for v in [9.0, 3.0, 1.5] { v1.write(v) }
        v1.write(Int64(1))
        var old = StateReader(v1.bytes)
        let stats = try ArmStatistics(from: &old, version: 1)
        #expect(stats.count(0) == 9 && stats.mean(0) == 3.0 / 9 && stats.prior(0) == .none)
    }
}
