import ArgumentParser
import Bandits
import Common
import Foundation
import Stream

/// Regret curves on environments with a known optimum, as CSV (one column per policy,
/// one row per checkpoint): Bernoulli arms, an abrupt change of the best arm, and linear
/// contextual rewards. The tests assert the same properties at fixed points; this tool
/// draws the whole curves.
struct Regret: ParsableCommand {
    @Option(help: "Directory for bernoulli.csv, change.csv and linear.csv.") var out: String
    @Option(help: "Rounds per environment.") var rounds: Int = 100_000
    @Option(help: "Rows per curve.") var points: Int = 100
    @Option var seed: UInt64 = 1

    func run() throws {
        try FileIO.makeDirectories(out)
        let means = [0.1, 0.2, 0.3, 0.4, 0.5, 0.45, 0.35, 0.25, 0.15, 0.05]
        let bernoulli: [(String, BanditPolicy)] = [
            ("epsilon-greedy", try make(.epsilonGreedy, ["epsilon": 0.1])), ("softmax", try make(.softmax, ["temperature": 0.05])), ("ucb1", try make(.ucb1)),
            ("kl-ucb", try make(.klUCB)), ("thompson-beta", try make(.thompsonBeta, ["propensity_draws": 1])), ("exp3", try make(.exp3, ["gamma": 0.05])),
        ]
        try write("bernoulli", bernoulli.map { ($0.0, curve($0.1, means: means, change: nil)) })
        let change = (at: rounds / 2, to: [0.3, 0.6, 0.4])
        let changing: [(String, BanditPolicy)] = [
            ("ucb1", try make(.ucb1)), ("ucb1-discount-0.999", try make(.ucb1, ["discount": 0.999])),
            ("thompson-beta", try make(.thompsonBeta, ["propensity_draws": 1])), ("thompson-beta-discount-0.999", try make(.thompsonBeta, ["propensity_draws": 1, "discount": 0.999])),
        ]
        try write("change", changing.map { ($0.0, curve($0.1, means: [0.9, 0.5, 0.4], change: change)) })
        let linear: [(String, BanditPolicy)] = [
            ("linucb", try make(.linUCB, dimension: 6)), ("linear-thompson", try make(.linearThompson, ["scale": 0.3, "propensity_draws": 1], dimension: 6)),
            ("epsilon-greedy over ridge", try make(.epsilonGreedy, ["epsilon": 0.1], dimension: 6, estimator: .ridge)),
            ("epsilon-greedy (context-free)", try make(.epsilonGreedy, ["epsilon": 0.1])),
        ]
        try write("linear", linear.map { ($0.0, linearCurve($0.1)) })
    }

    /// Cumulative pseudo-regret at each checkpoint.
    func curve(_ policy: BanditPolicy, means: [Double], change: (at: Int, to: [Double])?) -> [Double] {
        var p = policy
        for _ in means { _ = p.addArm(prior: .none) }
        var env = SeededRandom(seed: seed)
        var current = means
        var regret = 0.0
        var out: [Double] = []
        let input = DecisionInput(eligible: Array(means.indices))
        for t in 0..<rounds {
            if let change, t == change.at { current = change.to }
            var random = SeededRandom(decisionID: "d\(t)", salt: seed)
            let c = p.choose(input, random: &random)
            regret += current.max()! - current[c.arm]
            p.update(arm: c.arm, features: [], reward: env.unit() < current[c.arm] ? 1 : 0, propensity: c.propensity)
            if (t + 1) % max(1, rounds / points) == 0 { out.append(regret) }
        }
        return out
    }

    /// Linear contextual rewards: 5 arms, context of 5 features plus an intercept, click
    /// probability θₖᵀx with θₖ fixed by the seed.
    func linearCurve(_ policy: BanditPolicy) -> [Double] {
        var p = policy
        let arms = 5, d = 6
        var setup = SeededRandom(seed: seed &+ 99)
        let theta = (0..<arms).map { _ in (0..<d).map { _ in setup.unit() / Double(d) } }
        for _ in 0..<arms { _ = p.addArm(prior: .none) }
        var env = SeededRandom(seed: seed)
        var regret = 0.0
        var out: [Double] = []
        for t in 0..<rounds {
            let x = [1] + (0..<(d - 1)).map { _ in env.unit() }
            let expected = theta.map { th in zip(th, x).reduce(0) { $0 + $1.0 * $1.1 } }
            var random = SeededRandom(decisionID: "c\(t)", salt: seed)
            let c = p.choose(DecisionInput(eligible: Array(0..<arms), features: x), random: &random)
            regret += expected.max()! - expected[c.arm]
            p.update(arm: c.arm, features: x, reward: env.unit() < expected[c.arm] ? 1 : 0, propensity: c.propensity)
            if (t + 1) % max(1, rounds / points) == 0 { out.append(regret) }
        }
        return out
    }

    func write(_ name: String, _ curves: [(String, [Double])]) throws {
        var text = "round," + curves.map(\.0).joined(separator: ",") + "\n"
        let step = max(1, rounds / points)
        for i in 0..<(curves.first?.1.count ?? 0) {
            text += "\((i + 1) * step)," + curves.map { String(format: "%.3f", $0.1[i]) }.joined(separator: ",") + "\n"
        }
        try FileIO.writeAtomically(Array(text.utf8), to: "\(out)/\(name).csv")
        let last = curves.map { "\($0.0) \(String(format: "%.1f", $0.1.last ?? 0))" }.joined(separator: ", ")
        FileHandle.standardError.write(Data("[regret] \(name): final regret \(last)\n".utf8))
    }
}

/// A policy as configuration makes it.
func make(_ algorithm: PolicySpec.Algorithm, _ parameters: [String: Double] = [:], dimension: Int = 0, payoff: LinearPayoff = .perArm, estimator: PolicySpec.EstimatorChoice? = nil) throws -> BanditPolicy {
    try PolicySpec(algorithm: algorithm, parameters: parameters, payoff: payoff, estimator: estimator).make(dimension: dimension)
}
