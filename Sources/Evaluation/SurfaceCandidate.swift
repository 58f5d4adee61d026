import Bandits
import Common

/// An engine bandit policy as a candidate, with its configured arms and priors: in each
/// round it gives its distribution over the arms that are actions of the log (arms
/// matched by name; a logged action it has no arm for gets probability 0), on that
/// round's context when it is contextual.
///
/// A learning candidate learns as it would have live, in the manner of Li et al.'s replay
/// method: from the rounds where its replay draw matched the logged action, with the
/// logged reward. Every estimator then follows the same trajectory, so IPS, DR and the
/// rest estimate the mean value of the policy over the log as it learnt (each round's
/// distribution depends only on earlier rounds, which keeps them unbiased); replay is
/// Li et al.'s estimate of the reward it would have earned. A frozen candidate keeps its
/// priors throughout. A candidate is used for one evaluation: it keeps what it learnt.
public final class SurfaceCandidate: CandidatePolicy {
    public let name: String
    private var policy: BanditPolicy
    private let payoff: LinearPayoff?
    private let learns: Bool
    private let data: LoggedBandit
    /// The policy's arms that are actions of the log, and those actions.
    private let eligible: [Int]
    private let eligibleActions: [Int]
    /// Log action → its place in `eligible` (nil: the policy has no such arm).
    private let eligibleIndexOfAction: [Int?]
    private let armFeatures: [[Double]]
    /// Where each of the policy's context features sits in the log's context.
    private let contextColumns: [Int]
    private var random: SeededRandom
    private let row: UnsafeMutableBufferPointer<Double>
    private var input = DecisionInput(eligible: [])
    private var current = -1
    private var stale = true

    /// - Parameters:
    ///   - policy: a fresh policy (the arms are added here, with their priors).
    ///   - payoff: the linear payoff of a contextual policy; nil for context-free ones.
    ///   - features: the contextual policy's context features, each of which must be one
    ///     of `data.contextNames`.
    ///   - learns: learn from matched rounds (false: keep the priors).
    ///   - seed: for the draws by which Thompson sampling's distribution is estimated.
    public init(
        name: String, policy: BanditPolicy, payoff: LinearPayoff?, arms: [ArmDefinition], features: [String], data: LoggedBandit,
        learns: Bool, seed: UInt64
    ) throws(EvaluationError) {
        guard !arms.isEmpty else { throw EvaluationError("\(name) has no arms") }
        var policy = policy
        for arm in arms { _ = policy.addArm(prior: arm.prior) }
        let action = Dictionary(uniqueKeysWithValues: data.actionNames.enumerated().map { ($1, $0) })
        eligible = arms.indices.filter { action[arms[$0].name] != nil }
        eligibleActions = eligible.map { action[arms[$0].name]! }
        var indexOfAction = [Int?](repeating: nil, count: data.actionCount)
        for (i, a) in eligibleActions.enumerated() { indexOfAction[a] = i }
        eligibleIndexOfAction = indexOfAction
        guard !eligible.isEmpty else {
            throw EvaluationError("\(name): none of its arms (\(arms.prefix(5).map(\.name).joined(separator: ", "))…) is an action of the log")
        }
        contextColumns = try features.map { (f) throws(EvaluationError) in
            guard let k = data.contextNames.firstIndex(of: f) else { throw EvaluationError("\(name): the log was read without context feature '\(f)'") }
            return k
        }
        let missing = arms.count - eligible.count
        self.name = name + (learns ? "" : ", frozen") + (missing > 0 ? " (\(missing) of \(arms.count) arms not in the log)" : "")
        self.policy = policy
        self.payoff = payoff
        self.learns = learns
        self.data = data
        armFeatures = arms.map(\.features)
        random = SeededRandom(seed: seed)
        row = .allocate(capacity: data.actionCount)
        row.initialize(repeating: 0)
    }

    deinit { row.deallocate() }

    /// The same distribution serves every slot of a round.
    public func distribution(round: Int, position: Int) -> UnsafeBufferPointer<Double> {
        // A context-free policy's distribution changes only when it learns.
        if round != current && (payoff != nil || stale) {
            if let payoff {
                let context = data.context(round: round)
                let features = contextColumns.map { context[context.startIndex + $0] }
                input = payoff.input(eligible: eligible, context: features, armFeatures: armFeatures)
            } else {
                input = DecisionInput(eligible: eligible)
            }
            let p = policy.probabilities(input, random: &random)
            for (i, a) in eligibleActions.enumerated() { row[a] = p[i] }
            stale = false
        }
        current = round
        return UnsafeBufferPointer(row)
    }

    public func observe(round: Int, action: Int, reward: Double, matched: Bool) {
        guard learns, matched, let index = eligibleIndexOfAction[action] else { return }
        let features = payoff?.learnVector(input, index: index) ?? []
        policy.update(arm: eligible[index], features: features, reward: reward, propensity: row[action])
        stale = true
    }
}
