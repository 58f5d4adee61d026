import Common
import Testing

@testable import Bandits

#if canImport(Glibc)
import Glibc
#endif

/// A policy by algorithm name and parameters, as configuration makes it.
func makePolicy(_ algorithm: PolicySpec.Algorithm, _ parameters: [String: Double] = [:], dimension: Int = 0, payoff: LinearPayoff = .perArm, estimator: PolicySpec.EstimatorChoice? = nil) -> BanditPolicy {
    try! PolicySpec(algorithm: algorithm, parameters: parameters, payoff: payoff, estimator: estimator).make(dimension: dimension)
}

extension BanditPolicy {
    /// A Thompson sampler's choice distribution estimated from `draws` joint draws.
    func distribution(_ input: DecisionInput, draws: Int, _ random: inout SeededRandom) -> [Double] {
        let ts = exploration as! ThompsonSampling
        return ThompsonSampling(posterior: ts.posterior, propensityDraws: draws, name: ts.name).probabilities(estimator, priors: priors, input, random: &random)
    }

    var isThompson: Bool { exploration is ThompsonSampling }
}

/// Bernoulli arms with known means: the environment the regret tests run in.
struct BernoulliArms {
    var means: [Double]
    var best: Double { means.max()! }

    /// Runs `policy` for `rounds` rounds (decision ids "d<round>"), changing the means to
    /// `after` at `changeAt`, and returns the pseudo-regret and the arms chosen.
    func run(_ policy: inout BanditPolicy, rounds: Int, seed: UInt64, changeAt: Int? = nil, after: [Double]? = nil) -> (regret: Double, picks: [Int]) {
        for _ in means { _ = policy.addArm(prior: .none) }
        var env = SeededRandom(seed: seed)
        var current = means
        var regret = 0.0
        var picks: [Int] = []
        picks.reserveCapacity(rounds)
        let input = DecisionInput(eligible: Array(means.indices))
        for t in 0..<rounds {
            if t == changeAt, let after { current = after }
            var random = SeededRandom(decisionID: "d\(t)", salt: seed)
            let choice = policy.choose(input, random: &random)
            let reward = env.unit() < current[choice.arm] ? 1.0 : 0.0
            regret += current.max()! - current[choice.arm]
            picks.append(choice.arm)
            policy.update(arm: choice.arm, features: [], reward: reward, propensity: choice.propensity)
        }
        return (regret, picks)
    }

    /// Auer, Cesa-Bianchi & Fischer (2002), Theorem 1: UCB1's expected regret after n
    /// rounds is at most Σ 8 ln n / Δᵢ + (1 + π²/3) Σ Δᵢ over suboptimal arms.
    func ucb1Bound(rounds: Int) -> Double {
        let gaps = means.map { best - $0 }.filter { $0 > 0 }
        return gaps.reduce(0) { $0 + 8 * log(Double(rounds)) / $1 } + (1 + Double.pi * Double.pi / 3) * gaps.reduce(0, +)
    }
}

@Suite struct ContextFreePolicyTests {
    static let arms = BernoulliArms(means: [0.1, 0.2, 0.3, 0.4, 0.5, 0.45, 0.35, 0.25, 0.15, 0.05])
    static let rounds = 100_000

    @Test func ucbKLUCBAndThompsonBeatEpsilonGreedyAndStayWithinTheUCB1Bound() {
        var greedy = makePolicy(.epsilonGreedy, ["epsilon": 0.1])
        var ucb = makePolicy(.ucb1)
        var kl = makePolicy(.klUCB)
        var ts = makePolicy(.thompsonBeta, ["propensity_draws": 1])
        let bound = Self.arms.ucb1Bound(rounds: Self.rounds)
        let rGreedy = Self.arms.run(&greedy, rounds: Self.rounds, seed: 1).regret
        let rUCB = Self.arms.run(&ucb, rounds: Self.rounds, seed: 1).regret
        let rKL = Self.arms.run(&kl, rounds: Self.rounds, seed: 1).regret
        let rTS = Self.arms.run(&ts, rounds: Self.rounds, seed: 1).regret
        for (name, r) in [("ucb1", rUCB), ("kl-ucb", rKL), ("thompson", rTS)] {
            #expect(r < rGreedy, "\(name) regret \(r) vs ε-greedy \(rGreedy)")
            #expect(r < bound, "\(name) regret \(r) vs UCB1 bound \(bound)")
        }
        // The refinements must pay off against UCB1 itself.
        #expect(rKL < rUCB && rTS < rUCB, "kl-ucb \(rKL), thompson \(rTS), ucb1 \(rUCB)")
    }

    @Test func discountedVariantsRecoverAfterTheBestArmChanges() {
        // The old best collapses and a middling arm becomes best: plain UCB1 keeps pulling
        // the old best until its long-run mean sinks, which takes about as many rounds as
        // it was pulled before.
        let before = BernoulliArms(means: [0.9, 0.5, 0.4])
        let after = [0.3, 0.6, 0.4]
        let rounds = 40_000
        let change = rounds / 2
        /// Share of the new best arm among the picks in `window` rounds after the change.
        func share(_ p: inout BanditPolicy, _ window: Range<Int>) -> Double {
            let picks = before.run(&p, rounds: rounds, seed: 3, changeAt: change, after: after).picks
            let late = picks[(change + window.lowerBound)..<(change + window.upperBound)]
            return Double(late.filter { $0 == 1 }.count) / Double(late.count)
        }
        var plain = makePolicy(.ucb1)
        var discountedUCB = makePolicy(.ucb1, ["discount": 0.999])
        var discountedTS = makePolicy(.thompsonBeta, ["propensity_draws": 1, "discount": 0.999])
        // Soon after the change (rounds 2,000–5,000), the discounted policies have moved to
        // the new best arm; plain UCB1 is still held back by 20,000 rounds of old evidence.
        let soon = 2_000..<5_000
        let plainShare = share(&plain, soon)
        let ucbShare = share(&discountedUCB, soon)
        let tsShare = share(&discountedTS, soon)
        #expect(ucbShare > 0.8, "discounted UCB picks the new best \(ucbShare) of the time")
        #expect(tsShare > 0.8, "discounted Thompson picks the new best \(tsShare) of the time")
        #expect(plainShare < ucbShare - 0.2, "plain UCB1 \(plainShare) vs discounted \(ucbShare)")
    }

    /// Trains a policy a little, then checks its reported distribution.
    func trained(_ policy: BanditPolicy) -> BanditPolicy {
        var p = policy
        let arms = BernoulliArms(means: [0.2, 0.5, 0.4, 0.45])
        _ = arms.run(&p, rounds: 300, seed: 9)
        return p
    }

    @Test func propensitiesSumToOneAndMatchChoiceFrequencies() {
        let policies: [BanditPolicy] = [
            trained(makePolicy(.epsilonGreedy, ["epsilon": 0.2])), trained(makePolicy(.softmax, ["temperature": 0.1])), trained(makePolicy(.ucb1)),
            trained(makePolicy(.klUCB)), trained(makePolicy(.thompsonBeta, ["propensity_draws": 1])), trained(makePolicy(.thompsonNormal, ["propensity_draws": 1])),
            trained(makePolicy(.exp3, ["gamma": 0.2])),
        ]
        // Arm 2 is not eligible: the distribution is over the eligible arms only.
        let input = DecisionInput(eligible: [0, 1, 3])
        for policy in policies {
            var r = SeededRandom(seed: 42)
            let exact = probabilities(policy, input, &r)
            #expect(abs(exact.reduce(0, +) - 1) < 1e-9, "\(policy.name): \(exact)")
            var counts = [0, 0, 0, 0]
            let trials = 20_000
            var propensityError = 0.0
            for k in 0..<trials {
                var random = SeededRandom(decisionID: "f\(k)")
                let choice = policy.choose(input, random: &random)
                counts[choice.arm] += 1
                #expect(choice.arm != 2)
                let position = input.eligible.firstIndex(of: choice.arm)!
                propensityError = max(propensityError, abs(choice.propensity - exact[position]))
            }
            for (position, arm) in input.eligible.enumerated() {
                let frequency = Double(counts[arm]) / Double(trials)
                #expect(abs(frequency - exact[position]) < 0.015, "\(policy.name) arm \(arm): chosen \(frequency), reported \(exact[position])")
            }
            // Exact policies report exactly the distribution (sampling ones are checked in
            // thompsonPropensityEstimatesConvergeToTheDistribution).
            if !policy.isThompson {
                #expect(propensityError < 1e-12, "\(policy.name)")
            }
        }
    }

    func probabilities(_ policy: BanditPolicy, _ input: DecisionInput, _ r: inout SeededRandom) -> [Double] {
        // Thompson's distribution is estimated: use many draws for the reference.
        if policy.isThompson { return policy.distribution(input, draws: 100_000, &r) }
        return policy.probabilities(input, random: &r)
    }

    @Test func thompsonPropensityEstimatesConvergeToTheDistribution() {
        let policy = trained(makePolicy(.thompsonBeta, ["propensity_draws": 4000]))
        let input = DecisionInput(eligible: [0, 1, 2, 3])
        var r = SeededRandom(seed: 7)
        let reference = policy.distribution(input, draws: 200_000, &r)
        var random = SeededRandom(decisionID: "x")
        let choice = policy.choose(input, random: &random)
        #expect(choice.propensityDraws == 4000)
        #expect(abs(choice.propensity - reference[choice.arm]) < 0.03, "\(choice.propensity) vs \(reference[choice.arm])")
    }

    @Test func theSameDecisionIDGivesTheSameChoice() {
        let policy = trained(makePolicy(.thompsonBeta, ["propensity_draws": 50]))
        let input = DecisionInput(eligible: [0, 1, 2, 3])
        var a = SeededRandom(decisionID: "same")
        var b = SeededRandom(decisionID: "same")
        #expect(policy.choose(input, random: &a) == policy.choose(input, random: &b))
        var c = SeededRandom(decisionID: "same", salt: 1)
        var d = SeededRandom(decisionID: "same", salt: 2)
        let draws1 = (0..<8).map { _ in c.next() }
        let draws2 = (0..<8).map { _ in d.next() }
        #expect(draws1 != draws2)
    }

    @Test func samplersMatchTheirDistributions() {
        var r = SeededRandom(seed: 5)
        let n = 200_000
        var sum = 0.0, squares = 0.0
        for _ in 0..<n {
            let x = r.normal()
            sum += x
            squares += x * x
        }
        #expect(abs(sum / Double(n)) < 0.01)
        #expect(abs(squares / Double(n) - 1) < 0.01)
        for shape in [0.3, 1.0, 2.5, 40.0] {
            var g = 0.0
            for _ in 0..<n { g += r.gamma(shape: shape) }
            #expect(abs(g / Double(n) - shape) < 0.02 * max(1, shape), "gamma(\(shape)) mean \(g / Double(n))")
        }
        var b = 0.0
        for _ in 0..<n { b += r.beta(2, 5) }
        #expect(abs(b / Double(n) - 2.0 / 7) < 0.005)
    }

    @Test func addingAnArmAtRunTimeMakesItEligibleAndExplored() {
        var ucb = trained(makePolicy(.ucb1))
        let new = ucb.addArm(prior: .none)
        var random = SeededRandom(seed: 1)
        #expect(ucb.choose(DecisionInput(eligible: [0, 1, 2, 3, new]), random: &random).arm == new, "an untried arm comes first")
        var primed = trained(makePolicy(.ucb1))
        let known = primed.addArm(prior: ArmPrior(trials: 1000, rewardSum: 10))
        random = SeededRandom(seed: 1)
        #expect(primed.choose(DecisionInput(eligible: [0, 1, 2, 3, known]), random: &random).arm != known, "a prior of 1% success is not explored first")
    }
}
