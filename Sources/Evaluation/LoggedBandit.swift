/// Logged bandit feedback, column-wise: in round t the logging policy showed action
/// `actions[t]` in slot `positions[t]` with probability `propensities[t]` and observed
/// `rewards[t]`. Actions and positions are dense indices; `actionNames` maps them back.
/// Contexts are kept only for the features some candidate reads (`contextNames`), row
/// by row in `contexts`.
public struct LoggedBandit: Sendable {
    public var actions: [Int32] = []
    public var positions: [Int32] = []
    public var rewards: [Double] = []
    public var propensities: [Double] = []
    public var actionNames: [String] = []
    public var positionCount = 1
    public var contextNames: [String] = []
    /// [round][feature], flattened.
    public var contexts: [Double] = []
    /// Rows that could not be used, by reason (never used in any estimate).
    public var rejected: [String: Int] = [:]
    /// Propensity problems among the rows kept.
    public var propensityIssues = PropensityIssues()

    public init() {}

    public var count: Int { actions.count }
    public var actionCount: Int { actionNames.count }

    /// Round `t`'s values of `contextNames`.
    public func context(round t: Int) -> ArraySlice<Double> {
        let width = contextNames.count
        return contexts[(t * width)..<((t + 1) * width)]
    }

    /// The mean reward the logging policy observed.
    public var observedMean: Double { rewards.isEmpty ? 0 : rewards.reduce(0, +) / Double(rewards.count) }
}

/// What was wrong with logged propensities. Rows with a missing, zero, negative or
/// non-finite propensity are rejected (no importance weight exists for them); values
/// above 1 are clipped to 1 and counted; `clippedBelow` counts propensities raised to the
/// configured floor.
public struct PropensityIssues: Sendable, Equatable {
    public var missing = 0
    public var zero = 0
    public var aboveOne = 0
    public var clippedBelow = 0

    public init() {}

    public var any: Bool { missing + zero + aboveOne + clippedBelow > 0 }
}

/// Builds `LoggedBandit` row by row, validating each row.
public struct LoggedBanditBuilder {
    public private(set) var data = LoggedBandit()
    private var actionIndex: [String: Int32] = [:]
    /// Known actions only (unknown ones are rejected), or any action when nil.
    private let knownActions: Set<String>?
    private let propensityFloor: Double

    /// - Parameters:
    ///   - positionCount: slots per round; a row's position must be below it.
    ///   - knownActions: when given, rows naming other actions are rejected.
    ///   - propensityFloor: propensities below it are raised to it (and counted).
    ///   - features: the context features to keep for each row.
    public init(positionCount: Int, knownActions: [String]? = nil, propensityFloor: Double = 0, features: [String] = []) {
        data.positionCount = positionCount
        data.contextNames = features
        self.knownActions = knownActions.map(Set.init)
        self.propensityFloor = propensityFloor
        for a in knownActions ?? [] { _ = index(of: a) }
    }

    private mutating func index(of action: String) -> Int32 {
        if let i = actionIndex[action] { return i }
        let i = Int32(data.actionNames.count)
        actionIndex[action] = i
        data.actionNames.append(action)
        return i
    }

    public mutating func reject(_ reason: String) { data.rejected[reason, default: 0] += 1 }

    /// Adds one row, or rejects it with a reason. `propensity` nil means the row had none;
    /// `context` holds the value of each of `features`, in order.
    public mutating func add(action: String, position: Int, reward: Double?, propensity: Double?, context: [Double] = []) {
        precondition(context.count == data.contextNames.count, "one value per context feature")
        guard !action.isEmpty else { return reject("missing action") }
        if let known = knownActions, !known.contains(action) { return reject("unknown action") }
        guard position >= 0, position < data.positionCount else { return reject("position out of range") }
        guard let reward, reward.isFinite else { return reject("missing or non-numeric reward") }
        guard var p = propensity else {
            data.propensityIssues.missing += 1
            return reject("missing propensity")
        }
        guard p.isFinite, p > 0 else {
            data.propensityIssues.zero += 1
            return reject("zero, negative or non-finite propensity")
        }
        if p > 1 {
            data.propensityIssues.aboveOne += 1
            p = 1
        }
        if p < propensityFloor {
            data.propensityIssues.clippedBelow += 1
            p = propensityFloor
        }
        data.actions.append(index(of: action))
        data.positions.append(Int32(position))
        data.rewards.append(reward)
        data.propensities.append(p)
        data.contexts.append(contentsOf: context)
    }
}
