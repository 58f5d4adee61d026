import Bandits

/// An engine bandit policy as a candidate: the distribution it would choose with, given
/// its configured priors, over the log's actions (arms matched by name; a logged action
/// the policy has no arm for gets probability 0). Context-free policies only: their
/// distribution is the same in every round. The same distribution serves every slot.
public enum BanditCandidate {
    public static func make(
        name: String, policy: SurfacePolicy, armNames: [String], data: LoggedBandit, seed: UInt64
    ) throws(EvaluationError) -> FixedPolicy {
        guard let algorithm = PolicySpec.Algorithm(rawValue: policy.name), !algorithm.isContextual else {
            throw EvaluationError("\(name): \(policy.name) needs each round's context, which this log does not carry; only context-free policies can be candidates")
        }
        let arms = Dictionary(uniqueKeysWithValues: armNames.enumerated().map { ($1, $0) })
        let eligible = Array(armNames.indices)
        guard !eligible.isEmpty else { throw EvaluationError("\(name) has no arms") }
        var random = SeededRandom(seed: seed)
        let p = policy.probabilities(DecisionInput(eligible: eligible), random: &random)
        let row = data.actionNames.map { arms[$0].map { p[$0] } ?? 0 }
        let total = row.reduce(0, +)
        guard total > 0 else { throw EvaluationError("\(name): none of its arms (\(armNames.prefix(5).joined(separator: ", "))…) is an action of the log") }
        // Mass on arms the log never shows cannot be evaluated; the rest is renormalised,
        // and how much was dropped is part of the policy's name in the results.
        let kept = row.map { $0 / total }
        let label = total < 1 - 1e-9 ? "\(name) (\(Int(((1 - total) * 100).rounded())) % of its mass on arms not in the log, renormalised)" : name
        return FixedPolicy(name: label, probabilities: Array(repeating: kept, count: data.positionCount))
    }
}
