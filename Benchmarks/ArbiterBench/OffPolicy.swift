import ArgumentParser
import Common
import Evaluation
import Foundation
import Stream

/// Off-policy evaluation throughput: the Open Bandit Dataset log tiled to `rounds`
/// rounds (for speed only), the uniform and a fixed non-uniform candidate, all
/// estimators. Reading the CSV is outside the timed region; the reward model fit and
/// every estimator (with `bootstrap` resamples of at most `bootstrapBlocks` units) are
/// inside.
struct OffPolicyBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "evaluate")
    @Option(help: "An Open Bandit Dataset log.") var obd: String
    @Option(help: "Its item_context.csv.") var items: String
    @Option(help: "Rounds after tiling the log.") var rounds = 10_000_000
    @Option(help: "Bootstrap resamples.") var bootstrap = 0
    @Option(name: .customLong("bootstrap-blocks"), help: "Bootstrap units at most (0: single rounds).") var bootstrapBlocks = 10_000

    func run() throws {
        let sample = try OpenBanditDataset.load(log: obd, items: items)
        var data = sample
        data.actions.reserveCapacity(rounds)
        data.positions.reserveCapacity(rounds)
        data.rewards.reserveCapacity(rounds)
        data.propensities.reserveCapacity(rounds)
        while data.count < rounds {
            let take = min(sample.count, rounds - data.count)
            data.actions += sample.actions[0..<take]
            data.positions += sample.positions[0..<take]
            data.rewards += sample.rewards[0..<take]
            data.propensities += sample.propensities[0..<take]
        }
        // A non-uniform candidate: twice the weight on even items.
        let weights = (0..<data.actionCount).map { $0 % 2 == 0 ? 2.0 : 1.0 }
        let total = weights.reduce(0, +)
        let skewed = FixedPolicy(name: "skewed", probabilities: Array(repeating: weights.map { $0 / total }, count: data.positionCount))
        let candidates: [any CandidatePolicy] = [FixedPolicy.uniform(actions: data.actionCount, positions: data.positionCount), skewed]
        let start = MonotonicClock.nanos
        let model = RewardModel(fitting: data)
        var values: [Double] = []
        for c in candidates {
            let r = OffPolicyEvaluation.evaluate(c, on: data, model: model, settings: EstimatorSettings(bootstrapSamples: bootstrap, bootstrapBlocks: bootstrapBlocks))
            values.append(r.estimates["dr"]!.value)
        }
        let seconds = Double(MonotonicClock.nanos - start) / 1e9
        emit([("benchmark", "evaluate"), ("rounds", data.count), ("candidates", candidates.count), ("bootstrap", bootstrap), ("bootstrap_blocks", bootstrapBlocks),
              ("seconds", seconds), ("rounds_per_s", Double(data.count * candidates.count) / seconds),
              ("dr_uniform", values[0]), ("dr_skewed", values[1])])
    }
}
