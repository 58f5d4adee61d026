/// A policy to evaluate, as the probability it gives each action in each slot of each
/// logged round. Rounds are visited once each, in order, so a candidate may learn as it
/// goes: after each round it is told what the log showed and whether the replay
/// method's draw for it matched.
public protocol CandidatePolicy: AnyObject {
    var name: String { get }
    /// π(· | round, position): one probability per action, summing to 1.
    func distribution(round: Int, position: Int) -> UnsafeBufferPointer<Double>
    /// Round `round` is done: the log showed `action` with `reward`, and the candidate's
    /// replay draw was that action when `matched`.
    func observe(round: Int, action: Int, reward: Double, matched: Bool)
}

extension CandidatePolicy {
    public func observe(round: Int, action: Int, reward: Double, matched: Bool) {}
}

/// A policy whose distribution does not depend on the round (context-free policies,
/// the uniform policy, a Thompson-sampling policy's batch distribution).
public final class FixedPolicy: CandidatePolicy, @unchecked Sendable {
    public let name: String
    /// [position][action], flattened.
    private let table: UnsafeMutableBufferPointer<Double>
    private let actions: Int

    /// `probabilities[position][action]`.
    public init(name: String, probabilities: [[Double]]) {
        self.name = name
        actions = probabilities.first?.count ?? 0
        table = .allocate(capacity: max(1, probabilities.count * actions))
        for (p, row) in probabilities.enumerated() {
            for (a, v) in row.enumerated() { table[p * actions + a] = v }
        }
    }

    deinit { table.deallocate() }

    /// Every action equally likely in every slot.
    public static func uniform(actions: Int, positions: Int) -> FixedPolicy {
        FixedPolicy(name: "uniform", probabilities: Array(repeating: Array(repeating: 1 / Double(actions), count: actions), count: positions))
    }

    public func distribution(round: Int, position: Int) -> UnsafeBufferPointer<Double> {
        UnsafeBufferPointer(rebasing: table[(position * actions)..<((position + 1) * actions)])
    }
}

/// A distribution given per round (e.g. from another tool), dense:
/// [round][position][action].
public final class PerRoundPolicy: CandidatePolicy, @unchecked Sendable {
    public let name: String
    private let table: UnsafeMutableBufferPointer<Double>
    private let actions: Int
    private let positions: Int

    public init(name: String, rounds: Int, positions: Int, actions: Int) {
        self.name = name
        self.actions = actions
        self.positions = positions
        table = .allocate(capacity: max(1, rounds * positions * actions))
        table.initialize(repeating: 0)
    }

    deinit { table.deallocate() }

    func set(round: Int, position: Int, action: Int, probability: Double) {
        table[(round * positions + position) * actions + action] = probability
    }

    public func distribution(round: Int, position: Int) -> UnsafeBufferPointer<Double> {
        let start = (round * positions + position) * actions
        return UnsafeBufferPointer(rebasing: table[start..<(start + actions)])
    }
}
