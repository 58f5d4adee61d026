/// The direct method's reward model q̂(a, position): the mean reward of each action in
/// each slot, cross-fitted over `folds` folds (round t is in fold t mod `folds`; its
/// rounds are predicted by the model fitted on the other folds), shrunk towards the
/// other folds' overall mean with the weight of `priorStrength` rounds. Context-free:
/// the OBD contexts are hashed, and a context-free model keeps the estimators exactly
/// comparable with other tools given the same table.
public struct RewardModel: Sendable {
    public let folds: Int
    public let actions: Int
    public let positions: Int
    public let priorStrength: Double
    /// [fold][position][action], flattened.
    public private(set) var table: [Double]

    public init(fitting data: LoggedBandit, folds: Int = 5, priorStrength: Double = 1) {
        precondition(folds >= 2)
        self.folds = folds
        actions = data.actionCount
        positions = data.positionCount
        self.priorStrength = priorStrength
        let cells = actions * positions
        var sums = [Double](repeating: 0, count: folds * cells)
        var counts = [Double](repeating: 0, count: folds * cells)
        for t in 0..<data.count {
            let cell = (t % folds) * cells + Int(data.positions[t]) * actions + Int(data.actions[t])
            sums[cell] += data.rewards[t]
            counts[cell] += 1
        }
        var totalSum = [Double](repeating: 0, count: cells)
        var totalCount = [Double](repeating: 0, count: cells)
        for f in 0..<folds {
            for c in 0..<cells {
                totalSum[c] += sums[f * cells + c]
                totalCount[c] += counts[f * cells + c]
            }
        }
        let grandSum = totalSum.reduce(0, +), grandCount = totalCount.reduce(0, +)
        table = [Double](repeating: 0, count: folds * cells)
        for f in 0..<folds {
            var foldSum = 0.0, foldCount = 0.0
            for c in 0..<cells {
                foldSum += sums[f * cells + c]
                foldCount += counts[f * cells + c]
            }
            let otherCount = grandCount - foldCount
            let prior = otherCount > 0 ? (grandSum - foldSum) / otherCount : 0
            for c in 0..<cells {
                let s = totalSum[c] - sums[f * cells + c]
                let n = totalCount[c] - counts[f * cells + c]
                table[f * cells + c] = (s + priorStrength * prior) / (n + priorStrength)
            }
        }
    }

    /// Sets the table (same layout), e.g. to a model fitted elsewhere.
    mutating func replaceTable(_ values: [Double]) {
        precondition(values.count == table.count)
        table = values
    }

    /// Where q̂(·, position) for round `round` starts in `table`: one value per action.
    @inline(__always)
    func row(round: Int, position: Int) -> Int {
        ((round % folds) * positions + position) * actions
    }
}
