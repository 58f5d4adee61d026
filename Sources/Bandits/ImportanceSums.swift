import Events
import StateFormat

/// Importance-weighted reward sums Ŝᵢ = Σ rₜ / pₜ over the decisions that chose arm i
/// (rewards clipped to [0, 1]): the unbiased estimate of each arm's cumulative reward
/// that EXP3 exponentiates. Exact sums, so shards merge bit for bit.
public struct ImportanceSums: Estimator, Equatable {
    public static let kind = "importance"
    public static let stateVersion: UInt16 = 1

    var sums: [ExactSum] = []
    public private(set) var updates: Int64 = 0

    public init() {}

    public var armCount: Int { sums.count }

    public mutating func addArm() -> Int {
        sums.append(ExactSum())
        return sums.count - 1
    }

    public mutating func learn(arm: Int, features: [Double], reward: Double, propensity: Double) {
        sums[arm].add(min(1, max(0, reward)) / max(propensity, 1e-12))
        updates += 1
    }

    public mutating func merge(_ other: ImportanceSums, arms map: [Int]) {
        for (k, s) in other.sums.enumerated() where map[k] >= 0 { sums[map[k]].add(s) }
        updates += other.updates
    }

    public func emptyCopy() -> ImportanceSums { ImportanceSums() }
    public func sameSettings(_ other: ImportanceSums) -> Bool { true }

    /// Ŝᵢ of every eligible arm (EXP3's weights are monotone in them).
    public func means(_ input: DecisionInput, priors: [ArmPrior]) -> [Double] {
        input.eligible.map { sums[$0].value }
    }

    public func encode(to w: inout StateWriter) {
        w.write(updates)
        w.writeVarint(UInt64(sums.count))
        for s in sums { s.encode(to: &w) }
    }

    public init(from r: inout StateReader, version: UInt16) throws(StateFormatError) {
        updates = try r.readInt64()
        for _ in 0..<(try r.readCount(elementSize: 16)) { sums.append(try ExactSum(from: &r)) }
    }
}
