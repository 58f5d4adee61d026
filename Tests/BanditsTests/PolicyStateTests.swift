import Common
import StateFormat
import Testing

@testable import Bandits

/// Every policy survives a snapshot: the restored policy is equal and, given the same
/// decision id, makes the same choice with the same propensity.
@Suite struct PolicyStateTests {
    func roundTrip<P: BanditPolicy & StateCodable & Equatable>(_ policy: P, input: DecisionInput, train: (inout P) -> Void) throws {
        var p = policy
        train(&p)
        var w = StateWriter()
        w.write(section: p)
        var r = StateReader(w.bytes)
        let restored = try r.read(section: P.self)
        #expect(restored == p, "\(p.name)")
        var a = SeededRandom(decisionID: "after-restore")
        var b = SeededRandom(decisionID: "after-restore")
        #expect(restored.choose(input, random: &a) == p.choose(input, random: &b), "\(p.name)")
        // Truncated state is refused, never half-read.
        var cut = StateReader(Array(w.bytes.dropLast(3)))
        #expect(throws: StateFormatError.self) { try cut.read(section: P.self) }
    }

    @Test func contextFreePoliciesRoundTrip() throws {
        let arms = BernoulliArms(means: [0.2, 0.5, 0.4])
        let input = DecisionInput(eligible: [0, 1, 2])
        func train<P: BanditPolicy>(_ p: inout P) { _ = arms.run(&p, rounds: 500, seed: 4) }
        try roundTrip(EpsilonGreedy(epsilon: 0.2, discount: 0.99), input: input, train: train)
        try roundTrip(Softmax(temperature: 0.2), input: input, train: train)
        try roundTrip(UCB1(exploration: 0.7), input: input, train: train)
        try roundTrip(KLUCB(c: 3), input: input, train: train)
        try roundTrip(BetaThompson(propensityDraws: 30, discount: 0.995), input: input, train: train)
        try roundTrip(NormalThompson(propensityDraws: 30, priorMean: 0.5), input: input, train: train)
        try roundTrip(EXP3(gamma: 0.3), input: input, train: train)
    }

    @Test func linearPoliciesRoundTrip() throws {
        let env = LinearEnvironment(dimension: 4, arms: 3, seed: 6)
        let perArm = DecisionInput(eligible: [0, 1, 2], features: [0.5, 0.5, 0.5, 0.5])
        func trainPerArm<P: BanditPolicy>(_ p: inout P) { _ = env.run(&p, rounds: 300, shared: false, seed: 1) }
        try roundTrip(LinUCB(dimension: 4, alpha: 0.8), input: perArm, train: trainPerArm)
        try roundTrip(LinearThompson(dimension: 4, propensityDraws: 20), input: perArm, train: trainPerArm)
        let blocks: [[Double]] = (0..<3).map { a in (0..<3).flatMap { b -> [Double] in b == a ? [0.5, 0.5, 0.5, 0.5] : [0, 0, 0, 0] } }
        let shared = DecisionInput(eligible: [0, 1, 2], armFeatures: blocks)
        func trainShared<P: BanditPolicy>(_ p: inout P) { _ = env.run(&p, rounds: 300, shared: true, seed: 1) }
        try roundTrip(LinUCB(dimension: 12, payoff: .shared), input: shared, train: trainShared)
        try roundTrip(LinearThompson(dimension: 12, payoff: .shared, propensityDraws: 20), input: shared, train: trainShared)
    }
}
