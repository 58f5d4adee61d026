#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Per-arm reward statistics, optionally discounted for non-stationary rewards.
///
/// With discount γ < 1 every observation's weight decays by γ per update of the policy
/// (any arm), as in discounted UCB (Garivier & Moulines 2011). Decay is applied lazily:
/// an arm's sums are scaled by γ^(elapsed updates) when it is read or updated, so an
/// update costs O(1) however many arms there are.
public struct ArmStatistics: Sendable, Equatable {
    public struct Arm: Sendable, Equatable {
        var weight: Double = 0
        var sum: Double = 0
        var squares: Double = 0
        var stamp: Int = 0
        /// The prior folded into the sums, and the update count when it was, so that it
        /// can be taken out again (decayed as the observations around it) and replaced.
        var prior = ArmPrior.none
        var priorStamp = 0
    }

    public let discount: Double
    public internal(set) var arms: [Arm] = []
    /// Updates so far (the clock of the lazy decay).
    public internal(set) var time = 0

    public init(discount: Double = 1) {
        precondition(discount > 0 && discount <= 1, "discount must be in (0, 1]")
        self.discount = discount
    }

    public mutating func addArm(prior: ArmPrior) -> Int {
        arms.append(Arm(weight: prior.trials, sum: prior.rewardSum, squares: Self.squares(prior), stamp: time, prior: prior, priorStamp: time))
        return arms.count - 1
    }

    /// The prior arm `i` was given (by `addArm` or the latest `setPrior`).
    public func prior(_ i: Int) -> ArmPrior { arms[i].prior }

    /// Replaces arm `i`'s prior and keeps what it has observed: the old prior's
    /// pseudo-observations, decayed as long as they have been in the sums, come out,
    /// the new ones go in. Does not count as an update.
    public mutating func setPrior(arm i: Int, _ prior: ArmPrior) {
        let now = decay(i)
        let old = arms[i].prior
        let aged = discount == 1 ? 1 : pow(discount, Double(time - arms[i].priorStamp))
        arms[i].weight = max(0, arms[i].weight * now - old.trials * aged) + prior.trials
        arms[i].sum = arms[i].sum * now - old.rewardSum * aged + prior.rewardSum
        arms[i].squares = max(0, arms[i].squares * now - Self.squares(old) * aged) + Self.squares(prior)
        // No observation left: whatever rounding kept is noise.
        if arms[i].weight == prior.trials, prior.trials == 0 { (arms[i].sum, arms[i].squares) = (0, 0) }
        arms[i].stamp = time
        arms[i].prior = prior
        arms[i].priorStamp = time
    }

    /// The squared rewards a prior stands for: its trials all at its mean.
    private static func squares(_ prior: ArmPrior) -> Double {
        prior.trials > 0 ? prior.rewardSum * prior.rewardSum / prior.trials : 0
    }

    public mutating func record(arm i: Int, reward: Double) {
        time += 1
        let f = decay(i)
        arms[i].weight = arms[i].weight * f + 1
        arms[i].sum = arms[i].sum * f + reward
        arms[i].squares = arms[i].squares * f + reward * reward
        arms[i].stamp = time
    }

    private func decay(_ i: Int) -> Double {
        discount == 1 ? 1 : pow(discount, Double(time - arms[i].stamp))
    }

    /// The (discounted) number of observations of arm `i`.
    public func count(_ i: Int) -> Double { arms[i].weight * decay(i) }

    /// The (discounted) mean reward of arm `i`, or nil before any observation.
    public func mean(_ i: Int) -> Double? {
        arms[i].weight > 0 ? arms[i].sum / arms[i].weight : nil
    }

    /// (count, mean, sum of squared deviations) of arm `i`, discounted.
    public func moments(_ i: Int) -> (n: Double, mean: Double, deviations: Double) {
        let f = decay(i)
        let n = arms[i].weight * f
        guard n > 0 else { return (0, 0, 0) }
        let mean = arms[i].sum / arms[i].weight
        return (n, mean, max(0, arms[i].squares * f - n * mean * mean))
    }
}
