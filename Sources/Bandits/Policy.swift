import Common
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

/// An arm as configured: its name, the pseudo-observations it starts with
/// (configuration now, MMM priors later), and its feature values (the shared linear
/// payoff's arm features, in the surface's order).
public struct ArmDefinition: Sendable, Equatable {
    public var name: String
    public var prior: ArmPrior
    public var features: [Double]

    public init(name: String, prior: ArmPrior = .none, features: [Double] = []) {
        self.name = name
        self.prior = prior
        self.features = features
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

/// A bandit policy: an estimator combined with an exploration strategy (Vowpal Wabbit's
/// reductions), and each arm's prior. Arms are added at run time; a decision chooses
/// among eligible arms with a seeded generator (the same seed gives the same choice);
/// an observed reward updates the estimator.
///
/// Priors are pseudo-observations the policy adds when it reads per-arm counts; they are
/// not in the estimator, so they count once however many shards the estimator was learnt
/// in, and replacing one keeps every observation.
public struct BanditPolicy: Sendable {
    /// What the policy was made from (`PolicySpec.make`).
    public let spec: PolicySpec
    public internal(set) var estimator: any Estimator
    public let exploration: any Exploration
    public internal(set) var priors: [ArmPrior] = []

    init(spec: PolicySpec, estimator: any Estimator, exploration: any Exploration) {
        precondition(exploration.supports(estimator), "\(exploration.name) cannot explore over \(type(of: estimator).kind)")
        self.spec = spec
        self.estimator = estimator
        self.exploration = exploration
    }

    /// Names the policy in decision records, e.g. "ucb1".
    public var name: String { exploration.name }
    public var armCount: Int { estimator.armCount }

    /// Adds an arm with its prior and returns its index.
    public mutating func addArm(prior: ArmPrior) -> Int {
        priors.append(prior)
        return estimator.addArm()
    }

    public func choose(_ input: DecisionInput, random: inout SeededRandom) -> Choice {
        exploration.choose(estimator, priors: priors, input, random: &random)
    }

    /// The probability of each eligible arm (in `input.eligible` order).
    public func probabilities(_ input: DecisionInput, random: inout SeededRandom) -> [Double] {
        exploration.probabilities(estimator, priors: priors, input, random: &random)
    }

    /// The estimate of every eligible arm without exploration: what a ranked list orders
    /// the unchosen arms by.
    public func scores(_ input: DecisionInput) -> [Double] {
        estimator.means(input, priors: priors)
    }

    /// A ranked list of up to `count` arms: the chosen arm first, then the other eligible
    /// arms by their score, best first. Only the top `count − 1` are ordered (a bounded
    /// heap, O(n log count)), so a short list from thousands of arms costs one pass.
    public func ranking(_ input: DecisionInput, first: Int, count: Int) -> [Int] {
        guard count > 1 else { return [first] }
        let scores = scores(input)
        var heap = TopK(capacity: count - 1)
        for (k, arm) in input.eligible.enumerated() where arm != first {
            heap.offer(score: scores[k], position: k)
        }
        return [first] + heap.descending().map { input.eligible[$0] }
    }

    /// Learns `reward` for `arm`, which was chosen with `propensity`.
    public mutating func update(arm: Int, features: [Double], reward: Double, propensity: Double) {
        estimator.learn(arm: arm, features: features, reward: reward, propensity: propensity)
    }

    /// Whether the policy reads per-arm priors (estimators with per-arm counts).
    public var usesArmPriors: Bool { estimator is RewardCounts }

    /// Arm `arm`'s prior, when the policy uses priors.
    public func prior(arm: Int) -> ArmPrior? { usesArmPriors ? priors[arm] : nil }

    /// Arm `arm`'s count of observations and pseudo-observations, when the estimator
    /// keeps per-arm counts.
    public func count(arm: Int) -> Double? { (estimator as? RewardCounts)?.count(arm, prior: priors[arm]) }

    /// Replaces arm `arm`'s prior, keeping its observations; false when the policy uses
    /// no priors.
    public mutating func setPrior(arm: Int, _ prior: ArmPrior) -> Bool {
        guard usesArmPriors else { return false }
        priors[arm] = prior
        return true
    }

    /// This policy deciding on `estimator` instead (a merged or restored one with the same
    /// settings and arms).
    public func with(estimator e: any Estimator) -> BanditPolicy {
        var p = self
        p.estimator = e
        return p
    }
}

/// The `capacity` largest scores seen, as a min-heap on (score, then earlier position
/// first) so that ties keep the eligible order.
struct TopK {
    private var items: [(score: Double, position: Int)] = []
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        items.reserveCapacity(capacity)
    }

    /// True when a ranks below b.
    private static func below(_ a: (score: Double, position: Int), _ b: (score: Double, position: Int)) -> Bool {
        a.score < b.score || (a.score == b.score && a.position > b.position)
    }

    mutating func offer(score: Double, position: Int) {
        let item = (score: score.isNaN ? -Double.infinity : score, position: position)
        if items.count < capacity {
            items.append(item)
            var i = items.count - 1
            while i > 0 {
                let parent = (i - 1) / 2
                guard TopK.below(items[i], items[parent]) else { break }
                items.swapAt(i, parent)
                i = parent
            }
        } else if capacity > 0, TopK.below(items[0], item) {
            items[0] = item
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var least = i
                if l < items.count, TopK.below(items[l], items[least]) { least = l }
                if r < items.count, TopK.below(items[r], items[least]) { least = r }
                if least == i { break }
                items.swapAt(i, least)
                i = least
            }
        }
    }

    /// The kept positions, best first.
    func descending() -> [Int] {
        items.sorted { TopK.below($1, $0) }.map(\.position)
    }
}

/// The maximum of `values` and the positions holding it (ties).
public func argmaxes(_ values: [Double]) -> (best: Double, at: [Int]) {
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
