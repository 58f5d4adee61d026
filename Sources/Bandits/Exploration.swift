import Common

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The deciding half of a bandit policy: how the estimator's view of the arms becomes a
/// choice, and the probability of that choice (what off-policy evaluation needs).
///
/// A strategy reads only what its estimator offers: greedy, ε and softmax need point
/// estimates (every estimator), UCB needs upper confidence bounds, Thompson sampling
/// needs posterior draws, KL-UCB per-arm counts and EXP3 importance-weighted sums.
public protocol Exploration: Sendable {
    /// Names the policy in decision records ("ucb1", "linucb", …).
    var name: String { get }
    /// Whether this strategy can explore over `estimator`.
    func supports(_ estimator: any Estimator) -> Bool
    /// The probability of each eligible arm (in `input.eligible` order): exact where the
    /// strategy has a closed form, else estimated from draws of `random`.
    func probabilities(_ estimator: any Estimator, priors: [ArmPrior], _ input: DecisionInput, random: inout SeededRandom) -> [Double]
    /// Chooses one of `input.eligible`, which must not be empty, with its propensity.
    func choose(_ estimator: any Estimator, priors: [ArmPrior], _ input: DecisionInput, random: inout SeededRandom) -> Choice
}

/// Strategies with a closed-form distribution choose by sampling it, so the propensity
/// they report is exactly the probability they chose with.
protocol DistributionExploration: Exploration {}

extension DistributionExploration {
    public func choose(_ estimator: any Estimator, priors: [ArmPrior], _ input: DecisionInput, random: inout SeededRandom) -> Choice {
        let p = probabilities(estimator, priors: priors, input, random: &random)
        var u = random.unit()
        for (k, pk) in p.enumerated() {
            if u < pk || k == p.count - 1 { return Choice(arm: input.eligible[k], propensity: pk) }
            u -= pk
        }
        return Choice(arm: input.eligible[input.eligible.count - 1], propensity: p[p.count - 1])
    }
}

/// ε-greedy: the best point estimate with probability 1 − ε (ties split evenly), a
/// uniformly random eligible arm otherwise. ε = 0 is greedy.
public struct EpsilonGreedy: DistributionExploration, Equatable {
    public let name: String
    public let epsilon: Double

    public init(epsilon: Double, name: String = "epsilon-greedy") {
        self.epsilon = epsilon
        self.name = name
    }

    public func supports(_ estimator: any Estimator) -> Bool { true }

    public func probabilities(_ estimator: any Estimator, priors: [ArmPrior], _ input: DecisionInput, random: inout SeededRandom) -> [Double] {
        let (_, best) = argmaxes(estimator.means(input, priors: priors))
        let k = Double(input.eligible.count)
        var p = [Double](repeating: epsilon / k, count: input.eligible.count)
        for i in best { p[i] += (1 - epsilon) / Double(best.count) }
        return p
    }
}

/// Softmax (Boltzmann) exploration: arm i with probability ∝ exp(estimateᵢ / τ).
public struct Softmax: DistributionExploration, Equatable {
    public let name: String
    public let temperature: Double

    public init(temperature: Double, name: String = "softmax") {
        self.temperature = temperature
        self.name = name
    }

    public func supports(_ estimator: any Estimator) -> Bool { true }

    public func probabilities(_ estimator: any Estimator, priors: [ArmPrior], _ input: DecisionInput, random: inout SeededRandom) -> [Double] {
        let scaled = estimator.means(input, priors: priors).map { $0 / temperature }
        let top = scaled.max() ?? 0
        let weights = scaled.map { exp($0 - top) }
        let total = weights.reduce(0, +)
        return weights.map { $0 / total }
    }
}

/// Index strategies choose the eligible arm with the highest index. The choice is
/// deterministic but for ties, which are broken uniformly at random, so the propensity
/// is 1/ties for the chosen arm and exact.
protocol IndexExploration: Exploration {
    func indices(_ estimator: any Estimator, priors: [ArmPrior], _ input: DecisionInput) -> [Double]
}

extension IndexExploration {
    public func probabilities(_ estimator: any Estimator, priors: [ArmPrior], _ input: DecisionInput, random: inout SeededRandom) -> [Double] {
        let (_, best) = argmaxes(indices(estimator, priors: priors, input))
        var p = [Double](repeating: 0, count: input.eligible.count)
        for i in best { p[i] = 1 / Double(best.count) }
        return p
    }

    public func choose(_ estimator: any Estimator, priors: [ArmPrior], _ input: DecisionInput, random: inout SeededRandom) -> Choice {
        // One pass: a tie replaces the pick with probability 1/ties (reservoir sampling),
        // which picks uniformly among all tied arms.
        var best = -Double.infinity
        var ties = 0
        var pick = 0
        for (k, v) in indices(estimator, priors: priors, input).enumerated() {
            if v > best {
                best = v
                ties = 1
                pick = k
            } else if v == best {
                ties += 1
                if random.next() % UInt64(ties) == 0 { pick = k }
            }
        }
        return Choice(arm: input.eligible[pick], propensity: 1 / Double(max(ties, 1)))
    }
}

/// Optimism in the face of uncertainty: the highest upper confidence bound. Over reward
/// counts this is UCB1 (Auer et al. 2002; discounted UCB with a discount), over linear
/// models LinUCB (Li et al. 2010); untried arms come first.
public struct UpperConfidence: IndexExploration, Equatable {
    public let name: String
    /// c of UCB1, α of LinUCB.
    public let width: Double

    public init(width: Double, name: String = "ucb1") {
        self.width = width
        self.name = name
    }

    public func supports(_ estimator: any Estimator) -> Bool { estimator.capabilities.contains(.upperBounds) }

    func indices(_ estimator: any Estimator, priors: [ArmPrior], _ input: DecisionInput) -> [Double] {
        estimator.upperBounds(input, priors: priors, width: width)!
    }
}

/// KL-UCB for rewards in [0, 1] (Garivier & Cappé 2011): the largest q ≥ mean with
/// nᵢ·kl(mean, q) ≤ ln n + c·ln ln n, found by bisection.
public struct KLUpperConfidence: IndexExploration, Equatable {
    public let name = "kl-ucb"
    public let c: Double

    public init(c: Double) { self.c = c }

    public func supports(_ estimator: any Estimator) -> Bool { estimator is RewardCounts }

    func indices(_ estimator: any Estimator, priors: [ArmPrior], _ input: DecisionInput) -> [Double] {
        let counts = estimator as! RewardCounts
        let total = input.eligible.reduce(0) { $0 + counts.count($1, prior: priors[$1]) }
        let logTotal = log(max(total, 1))
        return input.eligible.map { i in
            let (n, mean, _) = counts.moments(i, prior: priors[i])
            guard n > 0 else { return .infinity }
            let p = min(1, max(0, mean))
            let bound = (logTotal + c * log(max(logTotal, 1))) / n
            var low = p
            var high = 1.0
            for _ in 0..<32 {
                let mid = (low + high) / 2
                if Self.bernoulliKL(p, mid) > bound { high = mid } else { low = mid }
            }
            return low
        }
    }

    static func bernoulliKL(_ p: Double, _ q: Double) -> Double {
        let eps = 1e-15
        let p = min(max(p, eps), 1 - eps)
        let q = min(max(q, eps), 1 - eps)
        return p * log(p / q) + (1 - p) * log((1 - p) / (1 - q))
    }
}

/// Thompson sampling: the arm whose posterior draw is highest. Its propensity has no
/// closed form: it is the share of `propensityDraws` further joint draws (from the same
/// seeded generator) that the chosen arm wins, the decision's own draw counting as one.
public struct ThompsonSampling: Exploration, Equatable {
    public let name: String
    public let posterior: Posterior
    public let propensityDraws: Int

    public init(posterior: Posterior, propensityDraws: Int, name: String) {
        self.posterior = posterior
        self.propensityDraws = propensityDraws
        self.name = name
    }

    public func supports(_ estimator: any Estimator) -> Bool {
        switch posterior {
        case .beta, .normal: estimator is RewardCounts
        case .gaussian: estimator is LinearModels
        }
    }

    /// The position in `input.eligible` of the arm that wins one joint posterior draw.
    func winner(_ estimator: any Estimator, _ priors: [ArmPrior], _ input: DecisionInput, _ random: inout SeededRandom) -> Int {
        var best = -Double.infinity
        var at = 0
        for (k, v) in estimator.draw(input, priors: priors, posterior: posterior, random: &random)!.enumerated() where v > best {
            best = v
            at = k
        }
        return at
    }

    public func probabilities(_ estimator: any Estimator, priors: [ArmPrior], _ input: DecisionInput, random: inout SeededRandom) -> [Double] {
        var wins = [Double](repeating: 0, count: input.eligible.count)
        for _ in 0..<propensityDraws { wins[winner(estimator, priors, input, &random)] += 1 }
        return wins.map { $0 / Double(propensityDraws) }
    }

    public func choose(_ estimator: any Estimator, priors: [ArmPrior], _ input: DecisionInput, random: inout SeededRandom) -> Choice {
        let pick = winner(estimator, priors, input, &random)
        var wins = 1.0
        for _ in 1..<max(1, propensityDraws) where winner(estimator, priors, input, &random) == pick { wins += 1 }
        return Choice(arm: input.eligible[pick], propensity: wins / Double(max(1, propensityDraws)), propensityDraws: max(1, propensityDraws))
    }
}

/// EXP3 (Auer et al. 2002) for adversarial rewards in [0, 1]: exponential weights
/// wᵢ = exp(γ·Ŝᵢ / K) over the importance-weighted reward sums, mixed with γ of uniform
/// exploration.
public struct ExponentialWeights: DistributionExploration, Equatable {
    public let name = "exp3"
    public let gamma: Double

    public init(gamma: Double) { self.gamma = gamma }

    public func supports(_ estimator: any Estimator) -> Bool { estimator is ImportanceSums }

    public func probabilities(_ estimator: any Estimator, priors: [ArmPrior], _ input: DecisionInput, random: inout SeededRandom) -> [Double] {
        let k = Double(max(1, estimator.armCount))
        let lw = estimator.means(input, priors: priors).map { gamma * $0 / k }
        let top = lw.max() ?? 0
        let w = lw.map { exp($0 - top) }
        let total = w.reduce(0, +)
        let n = Double(input.eligible.count)
        return w.map { (1 - gamma) * $0 / total + gamma / n }
    }
}
