import Common
import StateFormat
import Testing

@testable import Bandits

@Suite struct RankingAndSpecTests {
    @Test func rankedListsPutTheChoiceFirstThenTheBestScores() {
        var ucb = makePolicy(.ucb1)
        let means = (0..<5000).map { Double(($0 * 7919) % 5000) / 5000 }
        for m in means { _ = ucb.addArm(prior: ArmPrior(trials: 100, rewardSum: 100 * m)) }
        let eligible = Array(stride(from: 0, to: 5000, by: 3))
        let input = DecisionInput(eligible: eligible)
        var random = SeededRandom(seed: 3)
        let choice = ucb.choose(input, random: &random)
        let ranking = ucb.ranking(input, first: choice.arm, count: 10)
        let expected = eligible.filter { $0 != choice.arm }.sorted { means[$0] > means[$1] }.prefix(9)
        #expect(ranking == [choice.arm] + expected)
        #expect(ucb.ranking(input, first: choice.arm, count: 1) == [choice.arm])
        // Asking for more than there are gives them all, each once.
        let small = DecisionInput(eligible: [4, 8, 15])
        #expect(Set(ucb.ranking(small, first: 8, count: 99)) == [4, 8, 15])
    }

    @Test func topKKeepsTheLargestInOrderWithTiesByPosition() {
        var heap = TopK(capacity: 3)
        for (k, v) in [5.0, 1, 9, 5, 7, .nan, 9].enumerated() { heap.offer(score: v, position: k) }
        #expect(heap.descending() == [2, 6, 4])
    }

    @Test func specsValidateAndRetuningKeepsTheLearntState() throws {
        #expect(throws: PolicySpecError.self) { try PolicySpec(algorithm: .ucb1, parameters: ["alpha": 1]).validate() }
        #expect(throws: PolicySpecError.self) { try PolicySpec(algorithm: .thompsonBeta, parameters: ["propensity_draws": 2.5]).validate() }
        #expect(throws: PolicySpecError.self) { try PolicySpec(algorithm: .linUCB).make(dimension: 0) }
        #expect(throws: PolicySpecError.self) { try PolicySpec(algorithm: .ucb1, estimator: .ridge).validate() }
        #expect(try PolicySpec(algorithm: .epsilonGreedy, estimator: .ridge).make(dimension: 2).name == "epsilon-greedy+ridge")
        var policy = try PolicySpec(algorithm: .epsilonGreedy, parameters: ["epsilon": 0.2]).make(dimension: 0)
        for _ in 0..<3 { _ = policy.addArm(prior: .none) }
        for k in 0..<30 { policy.update(arm: k % 3, features: [], reward: k % 3 == 1 ? 1 : 0, propensity: 1) }
        let tuned = try policy.retuned(PolicySpec(algorithm: .epsilonGreedy, parameters: ["epsilon": 0]), dimension: 0)
        var r = SeededRandom(seed: 1)
        #expect(tuned.probabilities(DecisionInput(eligible: [0, 1, 2]), random: &r) == [0, 1, 0], "the learnt means stay, exploration is off")
        #expect(throws: PolicySpecError.self) { try policy.retuned(PolicySpec(algorithm: .ucb1), dimension: 0) }
        #expect(throws: PolicySpecError.self) { try policy.retuned(PolicySpec(algorithm: .epsilonGreedy, parameters: ["discount": 0.9]), dimension: 0) }
        // Every algorithm round-trips through the state format under its own name.
        for algorithm in PolicySpec.Algorithm.allCases {
            var p = try PolicySpec(algorithm: algorithm).make(dimension: 3)
            for _ in 0..<2 { _ = p.addArm(prior: ArmPrior(trials: 2, rewardSum: 1)) }
            p.update(arm: 1, features: [1, 0.5, -1], reward: 1, propensity: 0.5)
            var w = StateWriter()
            p.encode(to: &w)
            var reader = StateReader(w.bytes)
            let back = try BanditPolicy(from: &reader, version: BanditPolicy.stateVersion)
            var again = StateWriter()
            back.encode(to: &again)
            #expect(back.name == algorithm.rawValue && again.bytes == w.bytes)
        }
    }
}
