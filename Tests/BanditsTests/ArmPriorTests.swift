import Common
import StateFormat
import Testing

@testable import Bandits

/// Priors are pseudo-observations the policy adds when it reads the counts: replacing
/// one leaves exactly what the arm observed, with or without discounting, and a prior
/// counts once however many shards learnt the arm.
@Suite struct ArmPriorTests {
    @Test(arguments: [1.0, 0.9])
    func aReplacedPriorLeavesTheObservationsAsTheyWere(discount: Double) throws {
        var withPrior = makePolicy(.ucb1, ["discount": discount]), without = makePolicy(.ucb1, ["discount": discount])
        _ = withPrior.addArm(prior: ArmPrior(trials: 10, rewardSum: 5))
        _ = withPrior.addArm(prior: ArmPrior(trials: 4, rewardSum: 1))
        _ = without.addArm(prior: .none)
        _ = without.addArm(prior: ArmPrior(trials: 4, rewardSum: 1))
        var random = SeededRandom(seed: 3)
        for _ in 0..<40 {
            let arm = random.unit() < 0.6 ? 0 : 1
            let reward = random.unit()
            withPrior.update(arm: arm, features: [], reward: reward, propensity: 1)
            without.update(arm: arm, features: [], reward: reward, propensity: 1)
        }
        let cleared = withPrior.setPrior(arm: 0, .none)
        #expect(cleared)
        let a = withPrior.estimator as! RewardCounts, b = without.estimator as! RewardCounts
        #expect(a.moments(0, prior: .none) == b.moments(0, prior: .none))
        #expect(withPrior.count(arm: 0) == without.count(arm: 0) && withPrior.count(arm: 1) == without.count(arm: 1))
        // A new prior adds its pseudo-observations to what was observed.
        let replaced = withPrior.setPrior(arm: 0, ArmPrior(trials: 20, rewardSum: 2))
        #expect(replaced)
        let n0 = without.count(arm: 0)!, mean0 = (without.estimator as! RewardCounts).mean(0, prior: .none)!
        #expect(abs(withPrior.count(arm: 0)! - (n0 + 20)) < 1e-9)
        #expect(abs((withPrior.estimator as! RewardCounts).mean(0, prior: withPrior.prior(arm: 0)!)! - (mean0 * n0 + 2) / (n0 + 20)) < 1e-9)
        #expect(withPrior.prior(arm: 0) == ArmPrior(trials: 20, rewardSum: 2))
    }

    @Test func priorsSurviveASnapshotAndLinearPoliciesKeepNone() throws {
        var p = makePolicy(.thompsonBeta, ["propensity_draws": 30])
        _ = p.addArm(prior: ArmPrior(trials: 8, rewardSum: 2))
        p.update(arm: 0, features: [], reward: 1, propensity: 1)
        #expect(p.usesArmPriors && p.prior(arm: 0) == ArmPrior(trials: 8, rewardSum: 2))
        let set = p.setPrior(arm: 0, ArmPrior(trials: 3, rewardSum: 3))
        #expect(set)
        var w = StateWriter()
        w.write(section: p)
        var r = StateReader(w.bytes)
        let restored = try r.read(section: BanditPolicy.self)
        #expect(restored.prior(arm: 0) == ArmPrior(trials: 3, rewardSum: 3))
        #expect(restored.count(arm: 0) == 4)
        var linear = makePolicy(.linUCB, dimension: 2)
        _ = linear.addArm(prior: .none)
        let linearSet = linear.setPrior(arm: 0, ArmPrior(trials: 1, rewardSum: 1))
        #expect(!linear.usesArmPriors && !linearSet)
    }
}
