import Common
import StateFormat
import Testing

@testable import Bandits

/// Every policy survives a snapshot: the restored policy is equal and, given the same
/// decision id, makes the same choice with the same propensity.
@Suite struct PolicyStateTests {
    func roundTrip(_ policy: BanditPolicy, input: DecisionInput, train: (inout BanditPolicy) -> Void) throws {
        var p = policy
        train(&p)
        var w = StateWriter()
        w.write(section: p)
        var r = StateReader(w.bytes)
        let restored = try r.read(section: BanditPolicy.self)
        #expect(restored == p, "\(p.name)")
        var a = SeededRandom(decisionID: "after-restore")
        var b = SeededRandom(decisionID: "after-restore")
        let x = restored.choose(input, random: &a), y = p.choose(input, random: &b)
        if p.estimator is LinearModels {
            // A restored linear model refactors its exact statistics through LAPACK, where the
            // live one updated its factor by rank one: the same choice, the same propensity
            // to rounding. (Views always decide on refactored models, so every process
            // decides alike.)
            #expect(x.arm == y.arm && abs(x.propensity - y.propensity) < 1e-9, "\(p.name): \(x) vs \(y)")
        } else {
            #expect(x == y, "\(p.name)")
        }
        // Truncated state is refused, never half-read.
        var cut = StateReader(Array(w.bytes.dropLast(3)))
        #expect(throws: StateFormatError.self) { try cut.read(section: BanditPolicy.self) }
    }

    @Test func contextFreePoliciesRoundTrip() throws {
        let arms = BernoulliArms(means: [0.2, 0.5, 0.4])
        let input = DecisionInput(eligible: [0, 1, 2])
        func train(_ p: inout BanditPolicy) { _ = arms.run(&p, rounds: 500, seed: 4) }
        try roundTrip(makePolicy(.epsilonGreedy, ["epsilon": 0.2, "discount": 0.99]), input: input, train: train)
        try roundTrip(makePolicy(.softmax, ["temperature": 0.2]), input: input, train: train)
        try roundTrip(makePolicy(.ucb1, ["exploration": 0.7]), input: input, train: train)
        try roundTrip(makePolicy(.klUCB, ["c": 3]), input: input, train: train)
        try roundTrip(makePolicy(.thompsonBeta, ["propensity_draws": 30, "discount": 0.995]), input: input, train: train)
        try roundTrip(makePolicy(.thompsonNormal, ["propensity_draws": 30, "prior_mean": 0.5]), input: input, train: train)
        try roundTrip(makePolicy(.exp3, ["gamma": 0.3]), input: input, train: train)
    }

    @Test func linearPoliciesRoundTrip() throws {
        let env = LinearEnvironment(dimension: 4, arms: 3, seed: 6)
        let perArm = DecisionInput(eligible: [0, 1, 2], features: [0.5, 0.5, 0.5, 0.5])
        func trainPerArm(_ p: inout BanditPolicy) { _ = env.run(&p, rounds: 300, shared: false, seed: 1) }
        try roundTrip(makePolicy(.linUCB, ["alpha": 0.8], dimension: 4), input: perArm, train: trainPerArm)
        try roundTrip(makePolicy(.linearThompson, ["propensity_draws": 20], dimension: 4), input: perArm, train: trainPerArm)
        try roundTrip(makePolicy(.softmax, ["temperature": 0.05], dimension: 4, estimator: .ridge), input: perArm, train: trainPerArm)
        let blocks: [[Double]] = (0..<3).map { a in (0..<3).flatMap { b -> [Double] in b == a ? [0.5, 0.5, 0.5, 0.5] : [0, 0, 0, 0] } }
        let shared = DecisionInput(eligible: [0, 1, 2], armFeatures: blocks)
        func trainShared(_ p: inout BanditPolicy) { _ = env.run(&p, rounds: 300, shared: true, seed: 1) }
        try roundTrip(makePolicy(.linUCB, dimension: 12, payoff: .shared), input: shared, train: trainShared)
        try roundTrip(makePolicy(.linearThompson, ["propensity_draws": 20], dimension: 12, payoff: .shared), input: shared, train: trainShared)
    }

    @Test func stateOfAnotherVersionOrWithForeignSettingsIsRefused() throws {
        var p = makePolicy(.ucb1)
        _ = p.addArm(prior: .none)
        var w = StateWriter()
        w.write(section: p)
        var bytes = w.bytes
        bytes[0] = 1  // the section's version: 1 was the per-algorithm layout
        var r = StateReader(bytes)
        #expect(throws: StateFormatError.self) { try r.read(section: BanditPolicy.self) }
    }
}
