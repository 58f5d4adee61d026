/// What a decision is asked about: the arms allowed for this request (indices into the
/// policy's arms) and, for contextual policies, the context features.
public struct DecisionInput: Sendable {
    public var eligible: [Int]
    /// The request's context (per-arm linear models score every arm on it).
    public var features: [Double]
    /// One feature vector per eligible arm, for models shared across arms.
    public var armFeatures: [[Double]]

    public init(eligible: [Int], features: [Double] = [], armFeatures: [[Double]] = []) {
        self.eligible = eligible
        self.features = features
        self.armFeatures = armFeatures
    }
}

/// A policy's answer: the arm and the probability with which the policy chooses it for
/// this input — what off-policy evaluation needs from the decision log.
public struct Choice: Sendable, Equatable {
    public var arm: Int
    public var propensity: Double
    /// nil when `propensity` is exact; otherwise the number of posterior draws it was
    /// estimated from (Thompson sampling has no closed form).
    public var propensityDraws: Int?

    public init(arm: Int, propensity: Double, propensityDraws: Int? = nil) {
        self.arm = arm
        self.propensity = propensity
        self.propensityDraws = propensityDraws
    }
}

/// Prior knowledge about a new arm, as pseudo-observations: `trials` observations whose
/// rewards sum to `rewardSum`. Zero trials means no prior (an untried arm).
public struct ArmPrior: Sendable, Equatable {
    public var trials: Double
    public var rewardSum: Double

    public init(trials: Double = 0, rewardSum: Double = 0) {
        self.trials = trials
        self.rewardSum = rewardSum
    }

    public static let none = ArmPrior()
}

/// The surface every bandit policy has: arms are added at run time, a decision chooses
/// among eligible arms with a seeded generator (the same seed gives the same choice),
/// and an observed reward updates the chosen arm.
public protocol BanditPolicy: Sendable {
    /// Names the algorithm in decision records, e.g. "ucb1".
    var name: String { get }
    var armCount: Int { get }
    /// Adds an arm and returns its index.
    mutating func addArm(prior: ArmPrior) -> Int
    /// Chooses one of `input.eligible`, which must not be empty.
    func choose(_ input: DecisionInput, random: inout SeededRandom) -> Choice
    /// The probability of each eligible arm (in `input.eligible` order), exact where the
    /// policy has a closed form, else estimated from draws of `random`.
    func probabilities(_ input: DecisionInput, random: inout SeededRandom) -> [Double]
    /// Folds in `reward` for `arm`, which was chosen with `propensity`.
    mutating func update(arm: Int, features: [Double], reward: Double, propensity: Double)
}

extension BanditPolicy {
    /// The arm a probability vector picks for one uniform draw (inverse CDF), with its
    /// probability: how policies with a closed-form distribution choose.
    static func sample(_ probabilities: [Double], _ eligible: [Int], _ random: inout SeededRandom) -> Choice {
        var u = random.unit()
        for (k, p) in probabilities.enumerated() {
            if u < p || k == probabilities.count - 1 { return Choice(arm: eligible[k], propensity: p) }
            u -= p
        }
        return Choice(arm: eligible[eligible.count - 1], propensity: probabilities[probabilities.count - 1])
    }
}

/// The maximum of `values` and the positions holding it (ties).
func argmaxes(_ values: [Double]) -> (best: Double, at: [Int]) {
    var best = -Double.infinity
    var at: [Int] = []
    for (k, v) in values.enumerated() {
        if v > best {
            best = v
            at = [k]
        } else if v == best {
            at.append(k)
        }
    }
    return (best, at)
}
