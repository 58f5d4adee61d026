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
        arms.append(Arm(weight: prior.trials, sum: prior.rewardSum, squares: prior.trials > 0 ? prior.rewardSum * prior.rewardSum / prior.trials : 0, stamp: time))
        return arms.count - 1
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
