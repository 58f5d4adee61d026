import Common
import Events
import StateFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Per-arm reward statistics — observations, reward sum, squared-reward sum — the
/// estimator of every context-free policy (greedy, ε, softmax, UCB, KL-UCB, Thompson).
///
/// Undiscounted, counts are integers and sums are exact (`ExactSum`), so shards merged
/// in any order equal one sequential pass, bit for bit. With discount γ < 1 every
/// observation's weight decays by γ per update of this estimator (any arm), as in
/// discounted UCB (Garivier & Moulines 2011); decay is applied lazily, so an update costs
/// O(1) however many arms there are. Discounted sums are not exact, and a merged state
/// equals a sequential one only up to rounding and to how updates interleave.
///
/// Priors are not in the statistics: a policy adds its arms' pseudo-observations when it
/// reads them, so a prior counts once however many shards there are, and replacing one
/// never touches what was observed.
public struct RewardCounts: Estimator, Equatable {
    public static let kind = "counts"
    public static let stateVersion: UInt16 = 1

    struct Arm: Sendable, Equatable {
        // Undiscounted (exact), with their values as doubles: decisions read every arm's
        // sums, an update changes one arm's.
        var n: Int64 = 0
        var sum = ExactSum() { didSet { sumValue = sum.value } }
        var squares = ExactSum() { didSet { squaresValue = squares.value } }
        var sumValue: Double = 0
        var squaresValue: Double = 0
        // Discounted: weights and sums as of update `stamp`.
        var weight: Double = 0
        var decayedSum: Double = 0
        var decayedSquares: Double = 0
        var stamp: Int64 = 0
    }

    public let discount: Double
    /// Rewards are clipped to [0, 1] before they are learnt (Bernoulli posteriors).
    public let clipsRewards: Bool
    var arms: [Arm] = []
    /// Updates so far: the clock of the lazy decay.
    public private(set) var updates: Int64 = 0

    public init(discount: Double = 1, clipsRewards: Bool = false) {
        precondition(discount > 0 && discount <= 1, "discount must be in (0, 1]")
        self.discount = discount
        self.clipsRewards = clipsRewards
    }

    public var armCount: Int { arms.count }
    var discounted: Bool { discount < 1 }

    public mutating func addArm() -> Int {
        arms.append(Arm(stamp: updates))
        return arms.count - 1
    }

    public mutating func learn(arm i: Int, features: [Double], reward: Double, propensity: Double) {
        let r = clipsRewards ? min(1, max(0, reward)) : reward
        updates += 1
        if discounted {
            let f = decay(i)
            arms[i].weight = arms[i].weight * f + 1
            arms[i].decayedSum = arms[i].decayedSum * f + r
            arms[i].decayedSquares = arms[i].decayedSquares * f + r * r
            arms[i].stamp = updates
        } else {
            arms[i].n += 1
            arms[i].sum.add(r)
            arms[i].squares.add(r * r)
        }
    }

    public mutating func merge(_ other: RewardCounts, arms map: [Int]) {
        let total = updates + other.updates
        if discounted {
            // Bring both sides up to their own clocks, add, and stamp everything at the
            // merged clock.
            for i in arms.indices {
                let f = decay(i)
                arms[i].weight *= f
                arms[i].decayedSum *= f
                arms[i].decayedSquares *= f
                arms[i].stamp = total
            }
            for (k, a) in other.arms.enumerated() where map[k] >= 0 {
                let f = other.decay(k)
                let i = map[k]
                arms[i].weight += a.weight * f
                arms[i].decayedSum += a.decayedSum * f
                arms[i].decayedSquares += a.decayedSquares * f
            }
        } else {
            for (k, a) in other.arms.enumerated() where map[k] >= 0 {
                let i = map[k]
                arms[i].n += a.n
                arms[i].sum.add(a.sum)
                arms[i].squares.add(a.squares)
            }
        }
        updates = total
    }

    public func emptyCopy() -> RewardCounts { RewardCounts(discount: discount, clipsRewards: clipsRewards) }

    public func sameSettings(_ other: RewardCounts) -> Bool {
        discount == other.discount && clipsRewards == other.clipsRewards
    }

    private func decay(_ i: Int) -> Double {
        discounted ? pow(discount, Double(updates - arms[i].stamp)) : 1
    }

    // MARK: Reading

    /// Arm `i`'s (discounted) number of observations, without its prior.
    public func observations(_ i: Int) -> Double {
        discounted ? arms[i].weight * decay(i) : Double(arms[i].n)
    }

    /// (count, mean, sum of squared deviations) of arm `i` with `prior`'s
    /// pseudo-observations (all at the prior's mean).
    public func moments(_ i: Int, prior: ArmPrior) -> (n: Double, mean: Double, deviations: Double) {
        let f = decay(i)
        let n: Double, sum: Double, squares: Double
        if discounted {
            (n, sum, squares) = (arms[i].weight * f, arms[i].decayedSum * f, arms[i].decayedSquares * f)
        } else {
            (n, sum, squares) = (Double(arms[i].n), arms[i].sumValue, arms[i].squaresValue)
        }
        let total = n + prior.trials
        guard total > 0 else { return (0, 0, 0) }
        let priorSquares = prior.trials > 0 ? prior.rewardSum * prior.rewardSum / prior.trials : 0
        let mean = (sum + prior.rewardSum) / total
        return (total, mean, max(0, squares + priorSquares - total * mean * mean))
    }

    /// Arm `i`'s count with its prior.
    public func count(_ i: Int, prior: ArmPrior) -> Double { observations(i) + prior.trials }

    /// Arm `i`'s mean reward with its prior, or nil before any (pseudo-)observation.
    public func mean(_ i: Int, prior: ArmPrior) -> Double? {
        let m = moments(i, prior: prior)
        return m.n > 0 ? m.mean : nil
    }

    public func means(_ input: DecisionInput, priors: [ArmPrior]) -> [Double] {
        input.eligible.map { mean($0, prior: priors[$0]) ?? 0 }
    }

    public var capabilities: EstimatorCapabilities { [.upperBounds, .posteriorDraws] }

    /// UCB1 (Auer et al. 2002): mean + c·√(2 ln n / nᵢ), n over the eligible arms.
    public func upperBounds(_ input: DecisionInput, priors: [ArmPrior], width c: Double) -> [Double]? {
        // One pass for counts and means, one for the bounds: the log once per decision.
        var counts = [Double](repeating: 0, count: input.eligible.count)
        var means = counts
        var total = 0.0
        for (k, i) in input.eligible.enumerated() {
            let prior = priors[i]
            let n: Double, sum: Double
            if discounted {
                let f = decay(i)
                (n, sum) = (arms[i].weight * f, arms[i].decayedSum * f)
            } else {
                (n, sum) = (Double(arms[i].n), arms[i].sumValue)
            }
            counts[k] = n + prior.trials
            means[k] = counts[k] > 0 ? (sum + prior.rewardSum) / counts[k] : 0
            total += counts[k]
        }
        let logTotal = log(max(total, 1))
        for k in counts.indices {
            means[k] = counts[k] > 0 ? means[k] + c * (2 * logTotal / counts[k]).squareRoot() : .infinity
        }
        return means
    }

    public func draw(_ input: DecisionInput, priors: [ArmPrior], posterior: Posterior, random: inout SeededRandom) -> [Double]? {
        input.eligible.map { i in
            let (n, mean, deviations) = moments(i, prior: priors[i])
            switch posterior {
            case .beta:
                let successes = n * mean
                return random.beta(1 + successes, 1 + n - successes)
            case .normal(let mu0, let kappa0, let alpha0, let beta0):
                let kappa = kappa0 + n
                let mu = (kappa0 * mu0 + n * mean) / kappa
                let alpha = alpha0 + n / 2
                let beta = beta0 + deviations / 2 + kappa0 * n * (mean - mu0) * (mean - mu0) / (2 * kappa)
                let variance = beta / random.gamma(shape: alpha)
                return mu + (variance / kappa).squareRoot() * random.normal()
            case .gaussian:
                return mean
            }
        }
    }
}

extension RewardCounts: StateCodable {
    public func encode(to w: inout StateWriter) {
        w.write(discount)
        w.write(clipsRewards)
        w.write(updates)
        w.writeVarint(UInt64(arms.count))
        for a in arms {
            if discounted {
                w.write(a.weight)
                w.write(a.decayedSum)
                w.write(a.decayedSquares)
                w.write(a.stamp)
            } else {
                w.write(a.n)
                a.sum.encode(to: &w)
                a.squares.encode(to: &w)
            }
        }
    }

    public init(from r: inout StateReader, version: UInt16) throws(StateFormatError) {
        let discount = try r.readDouble()
        guard discount > 0, discount <= 1 else { throw StateFormatError("discount \(discount) out of (0, 1]") }
        self.init(discount: discount, clipsRewards: try r.readBool())
        updates = try r.readInt64()
        let n = try r.readCount(elementSize: 32)
        for _ in 0..<n {
            var a = Arm()
            if discounted {
                a.weight = try r.readDouble()
                a.decayedSum = try r.readDouble()
                a.decayedSquares = try r.readDouble()
                a.stamp = try r.readInt64()
                guard a.weight >= 0, a.weight.isFinite, a.stamp <= updates else { throw StateFormatError("arm statistics out of range") }
            } else {
                a.n = try r.readInt64()
                a.sum = try ExactSum(from: &r)
                a.squares = try ExactSum(from: &r)
                guard a.n >= 0 else { throw StateFormatError("negative arm count") }
            }
            arms.append(a)
        }
    }
}
