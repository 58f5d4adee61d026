#if canImport(Glibc)
import Common
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Policies whose whole state is per-arm reward statistics: arms, priors and updates
/// work the same for all of them.
protocol StatisticsPolicy: BanditPolicy {
    var stats: ArmStatistics { get set }
}

extension StatisticsPolicy {
    public var armCount: Int { stats.arms.count }
    public mutating func addArm(prior: ArmPrior) -> Int { stats.addArm(prior: prior) }

    public mutating func update(arm: Int, features: [Double], reward: Double, propensity: Double) {
        stats.record(arm: arm, reward: reward)
    }

    public func scores(_ input: DecisionInput) -> [Double] {
        input.eligible.map { stats.mean($0) ?? 0 }
    }
}

/// Policies with a closed-form choice distribution choose by sampling it, so the
/// propensity they report is exactly the probability they chose with.
protocol DistributionPolicy: BanditPolicy {}

extension DistributionPolicy {
    public func choose(_ input: DecisionInput, random: inout SeededRandom) -> Choice {
        Self.sample(probabilities(input, random: &random), input.eligible, &random)
    }
}

/// ε-greedy: the best empirical mean with probability 1 − ε (ties split evenly), a
/// uniformly random eligible arm otherwise. Untried arms count as mean 0.
public struct EpsilonGreedy: StatisticsPolicy, DistributionPolicy, Equatable {
    public let name = "epsilon-greedy"
    public let epsilon: Double
    public internal(set) var stats: ArmStatistics

    public init(epsilon: Double = 0.1, discount: Double = 1) {
        self.epsilon = epsilon
        stats = ArmStatistics(discount: discount)
    }

    public func probabilities(_ input: DecisionInput, random: inout SeededRandom) -> [Double] {
        let means = input.eligible.map { stats.mean($0) ?? 0 }
        let (_, best) = argmaxes(means)
        let k = Double(input.eligible.count)
        var p = [Double](repeating: epsilon / k, count: input.eligible.count)
        for i in best { p[i] += (1 - epsilon) / Double(best.count) }
        return p
    }
}

/// Softmax (Boltzmann) exploration: arm i with probability ∝ exp(mean_i / τ).
public struct Softmax: StatisticsPolicy, DistributionPolicy, Equatable {
    public let name = "softmax"
    public let temperature: Double
    public internal(set) var stats: ArmStatistics

    public init(temperature: Double = 0.1, discount: Double = 1) {
        self.temperature = temperature
        stats = ArmStatistics(discount: discount)
    }

    public func probabilities(_ input: DecisionInput, random: inout SeededRandom) -> [Double] {
        let scaled = input.eligible.map { (stats.mean($0) ?? 0) / temperature }
        let top = scaled.max() ?? 0
        let weights = scaled.map { exp($0 - top) }
        let total = weights.reduce(0, +)
        return weights.map { $0 / total }
    }
}

/// Index policies choose the eligible arm with the highest index. The choice is
/// deterministic but for ties, which are broken uniformly at random, so the propensity
/// is 1/ties for the chosen arm and exact.
protocol IndexPolicy: BanditPolicy {
    /// The index of every eligible arm, in `input.eligible` order.
    func indices(_ input: DecisionInput) -> [Double]
}

/// Index policies over per-arm statistics; untried arms come first.
protocol ArmIndexPolicy: IndexPolicy, StatisticsPolicy {
    /// The index of arm `i`, given ln of the total (discounted) observations, which is
    /// computed once per decision rather than once per arm.
    func index(_ i: Int, logTotal: Double) -> Double
}

extension ArmIndexPolicy {
    func indices(_ input: DecisionInput) -> [Double] {
        let total = input.eligible.reduce(0) { $0 + stats.count($1) }
        let logTotal = log(max(total, 1))
        return input.eligible.map { stats.count($0) > 0 ? index($0, logTotal: logTotal) : .infinity }
    }
}

extension IndexPolicy {
    public func probabilities(_ input: DecisionInput, random: inout SeededRandom) -> [Double] {
        let (_, best) = argmaxes(indices(input))
        var p = [Double](repeating: 0, count: input.eligible.count)
        for i in best { p[i] = 1 / Double(best.count) }
        return p
    }

    public func choose(_ input: DecisionInput, random: inout SeededRandom) -> Choice {
        // One pass, no second array: a tie replaces the pick with probability 1/ties
        // (reservoir sampling), which picks uniformly among all tied arms.
        var best = -Double.infinity
        var ties = 0
        var pick = 0
        for (k, v) in indices(input).enumerated() {
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

/// UCB1 (Auer et al. 2002): mean + c·√(2 ln n / nᵢ), rewards in [0, 1]. With a discount
/// below 1 this is discounted UCB.
public struct UCB1: ArmIndexPolicy, Equatable {
    public let name = "ucb1"
    public let exploration: Double
    public internal(set) var stats: ArmStatistics

    public init(exploration: Double = 1, discount: Double = 1) {
        self.exploration = exploration
        stats = ArmStatistics(discount: discount)
    }

    func index(_ i: Int, logTotal: Double) -> Double {
        stats.mean(i)! + exploration * (2 * logTotal / stats.count(i)).squareRoot()
    }
}

/// KL-UCB for rewards in [0, 1] (Garivier & Cappé 2011): the largest q ≥ mean with
/// nᵢ·kl(mean, q) ≤ ln n + c·ln ln n, found by bisection.
public struct KLUCB: ArmIndexPolicy, Equatable {
    public let name = "kl-ucb"
    public let c: Double
    public internal(set) var stats: ArmStatistics

    public init(c: Double = 0, discount: Double = 1) {
        self.c = c
        stats = ArmStatistics(discount: discount)
    }

    func index(_ i: Int, logTotal: Double) -> Double {
        let p = min(1, max(0, stats.mean(i)!))
        let bound = (logTotal + c * log(max(logTotal, 1))) / stats.count(i)
        var low = p
        var high = 1.0
        for _ in 0..<32 {
            let mid = (low + high) / 2
            if KLUCB.bernoulliKL(p, mid) > bound { high = mid } else { low = mid }
        }
        return low
    }

    static func bernoulliKL(_ p: Double, _ q: Double) -> Double {
        let eps = 1e-15
        let p = min(max(p, eps), 1 - eps)
        let q = min(max(q, eps), 1 - eps)
        return p * log(p / q) + (1 - p) * log((1 - p) / (1 - q))
    }
}

/// Thompson sampling chooses the arm whose posterior draw is highest. Its propensity has
/// no closed form: it is the share of `propensityDraws` further joint draws (from the same
/// seeded generator) that the chosen arm wins.
protocol SamplingPolicy: BanditPolicy {
    var propensityDraws: Int { get }
    /// The position in `input.eligible` of the arm that wins one joint posterior draw.
    func winner(_ input: DecisionInput, _ random: inout SeededRandom) -> Int
}

/// Sampling policies whose arms have independent posteriors.
protocol ArmSamplingPolicy: SamplingPolicy, StatisticsPolicy {
    /// One posterior draw of arm `i`'s mean reward.
    func draw(_ i: Int, _ random: inout SeededRandom) -> Double
}

extension ArmSamplingPolicy {
    func winner(_ input: DecisionInput, _ random: inout SeededRandom) -> Int {
        var best = -Double.infinity
        var at = 0
        for (k, arm) in input.eligible.enumerated() {
            let v = draw(arm, &random)
            if v > best {
                best = v
                at = k
            }
        }
        return at
    }
}

extension SamplingPolicy {
    public func probabilities(_ input: DecisionInput, random: inout SeededRandom) -> [Double] {
        var wins = [Double](repeating: 0, count: input.eligible.count)
        for _ in 0..<propensityDraws { wins[winner(input, &random)] += 1 }
        return wins.map { $0 / Double(propensityDraws) }
    }

    public func choose(_ input: DecisionInput, random: inout SeededRandom) -> Choice {
        let pick = winner(input, &random)
        // The decision's own draw counts as one of the estimate's draws, so the estimate
        // is never 0 for the arm actually chosen.
        var wins = 1.0
        for _ in 1..<max(1, propensityDraws) where winner(input, &random) == pick { wins += 1 }
        return Choice(arm: input.eligible[pick], propensity: wins / Double(max(1, propensityDraws)), propensityDraws: max(1, propensityDraws))
    }
}

/// Thompson sampling with Beta–Bernoulli posteriors (rewards in [0, 1]; fractional
/// rewards update α and β fractionally). Prior Beta(1, 1) plus the arm's prior.
public struct BetaThompson: ArmSamplingPolicy, Equatable {
    public let name = "thompson-beta"
    public let propensityDraws: Int
    public internal(set) var stats: ArmStatistics

    public init(propensityDraws: Int = 1000, discount: Double = 1) {
        self.propensityDraws = propensityDraws
        stats = ArmStatistics(discount: discount)
    }

    func draw(_ i: Int, _ random: inout SeededRandom) -> Double {
        let n = stats.count(i)
        let successes = n * (stats.mean(i) ?? 0)
        return random.beta(1 + successes, 1 + n - successes)
    }

    public mutating func update(arm: Int, features: [Double], reward: Double, propensity: Double) {
        stats.record(arm: arm, reward: min(1, max(0, reward)))
    }
}

/// Thompson sampling for real-valued rewards: Normal likelihood with unknown mean and
/// variance, Normal–inverse-gamma prior (μ₀, κ₀, α₀, β₀).
public struct NormalThompson: ArmSamplingPolicy, Equatable {
    public let name = "thompson-normal"
    public let propensityDraws: Int
    public let priorMean: Double
    public let priorStrength: Double
    public let priorShape: Double
    public let priorScale: Double
    public internal(set) var stats: ArmStatistics

    public init(propensityDraws: Int = 1000, priorMean: Double = 0, priorStrength: Double = 1, priorShape: Double = 1, priorScale: Double = 1, discount: Double = 1) {
        self.propensityDraws = propensityDraws
        self.priorMean = priorMean
        self.priorStrength = priorStrength
        self.priorShape = priorShape
        self.priorScale = priorScale
        stats = ArmStatistics(discount: discount)
    }

    func draw(_ i: Int, _ random: inout SeededRandom) -> Double {
        let (n, mean, deviations) = stats.moments(i)
        let kappa = priorStrength + n
        let mu = (priorStrength * priorMean + n * mean) / kappa
        let alpha = priorShape + n / 2
        let beta = priorScale + deviations / 2 + priorStrength * n * (mean - priorMean) * (mean - priorMean) / (2 * kappa)
        let variance = beta / random.gamma(shape: alpha)
        return mu + (variance / kappa).squareRoot() * random.normal()
    }
}

/// EXP3 (Auer et al. 2002) for adversarial rewards in [0, 1]: exponential weights mixed
/// with γ of uniform exploration; the observed reward is importance-weighted by the
/// propensity it was chosen with. Weights are kept as logarithms.
public struct EXP3: DistributionPolicy, Equatable {
    public let name = "exp3"
    public let gamma: Double
    public internal(set) var logWeights: [Double] = []

    public init(gamma: Double = 0.1) {
        self.gamma = gamma
    }

    public var armCount: Int { logWeights.count }

    public mutating func addArm(prior: ArmPrior) -> Int {
        // A new arm joins at the current average weight, so it is neither favoured nor
        // starved.
        logWeights.append(logWeights.isEmpty ? 0 : logWeights.reduce(0, +) / Double(logWeights.count))
        return logWeights.count - 1
    }

    public func probabilities(_ input: DecisionInput, random: inout SeededRandom) -> [Double] {
        let lw = input.eligible.map { logWeights[$0] }
        let top = lw.max() ?? 0
        let w = lw.map { exp($0 - top) }
        let total = w.reduce(0, +)
        let k = Double(input.eligible.count)
        return w.map { (1 - gamma) * $0 / total + gamma / k }
    }

    public func scores(_ input: DecisionInput) -> [Double] {
        input.eligible.map { logWeights[$0] }
    }

    public mutating func update(arm: Int, features: [Double], reward: Double, propensity: Double) {
        let estimate = min(1, max(0, reward)) / max(propensity, 1e-12)
        logWeights[arm] += gamma * estimate / Double(logWeights.count)
    }
}
