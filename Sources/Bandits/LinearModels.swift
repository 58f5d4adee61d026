import Common
import StateFormat
/// How a linear bandit relates features to arms.
public enum LinearPayoff: Sendable, Equatable {
    /// One model per arm over the request's shared context (disjoint LinUCB, Li et al.
    /// 2010): `DecisionInput.features` is the context, and an update passes the context.
    case perArm
    /// One model for all arms over per-arm feature vectors (arm and context features
    /// combined by the caller): `DecisionInput.armFeatures` holds a vector per eligible
    /// arm, and an update passes the chosen arm's vector.
    case shared
}

extension LinearPayoff {
    /// The length of the vectors the model learns on: an intercept plus the context,
    /// crossed with an intercept plus the arm's features for the shared payoff (context,
    /// arm features and their pairwise products — Vowpal Wabbit's `-q sa`).
    public func dimension(contextFeatures: Int, armFeatures: Int) -> Int {
        self == .perArm ? 1 + contextFeatures : (1 + contextFeatures) * (1 + armFeatures)
    }

    /// The model's input for `eligible` arms on `context`; `armFeatures[arm]` is each
    /// arm's feature vector (shared payoff only).
    public func input(eligible: [Int], context: [Double], armFeatures: [[Double]]) -> DecisionInput {
        var input = DecisionInput(eligible: eligible)
        switch self {
        case .perArm: input.features = [1] + context
        case .shared: input.armFeatures = eligible.map { Self.crossed(context, armFeatures[$0]) }
        }
        return input
    }

    /// What an update for the arm at `index` of `input.eligible` learns on.
    public func learnVector(_ input: DecisionInput, index: Int) -> [Double] {
        self == .perArm ? input.features : input.armFeatures[index]
    }

    private static func crossed(_ context: [Double], _ arm: [Double]) -> [Double] {
        var x: [Double] = []
        x.reserveCapacity((1 + context.count) * (1 + arm.count))
        for c in [1] + context {
            for a in [1] + arm { x.append(c * a) }
        }
        return x
    }
}

/// One ridge model per arm, or one model shared by the arms: the estimator of the
/// linear (contextual) policies — LinUCB, linear Thompson sampling, and any other
/// exploration over a linear model (ε-greedy over ridge regression is a combination, not
/// a new type).
public struct LinearModels: Estimator, Equatable {
    public static let kind = "ridge"
    public static let stateVersion: UInt16 = 2

    public let payoff: LinearPayoff
    public let dimension: Int
    public let regularization: Double
    var models: [RidgeRegression]
    var arms = 0
    public private(set) var updates: Int64 = 0

    public init(payoff: LinearPayoff = .perArm, dimension: Int, regularization: Double = 1) {
        precondition(dimension > 0)
        self.payoff = payoff
        self.dimension = dimension
        self.regularization = regularization
        models = payoff == .shared ? [RidgeRegression(dimension: dimension, regularization: regularization)] : []
    }

    public var armCount: Int { arms }

    public mutating func addArm() -> Int {
        if payoff == .perArm { models.append(RidgeRegression(dimension: dimension, regularization: regularization)) }
        arms += 1
        return arms - 1
    }

    public mutating func learn(arm: Int, features: [Double], reward: Double, propensity: Double) {
        models[payoff == .perArm ? arm : 0].update(features, reward)
        updates += 1
    }

    public mutating func merge(_ other: LinearModels, arms map: [Int]) {
        switch payoff {
        case .perArm:
            for (k, m) in other.models.enumerated() where m.observations > 0 && map[k] >= 0 { models[map[k]].merge(m) }
        case .shared:
            models[0].merge(other.models[0])
        }
        updates += other.updates
    }

    public func emptyCopy() -> LinearModels { LinearModels(payoff: payoff, dimension: dimension, regularization: regularization) }

    public func sameSettings(_ other: LinearModels) -> Bool {
        payoff == other.payoff && dimension == other.dimension && regularization == other.regularization
    }

    /// The index of the model and the feature vector that score the eligible arm at
    /// `position`.
    func scoring(_ input: DecisionInput, _ position: Int) -> (model: Int, features: [Double]) {
        switch payoff {
        case .perArm: (input.eligible[position], input.features)
        case .shared: (0, input.armFeatures[position])
        }
    }

    /// θᵀx of every eligible arm.
    public func means(_ input: DecisionInput, priors: [ArmPrior]) -> [Double] {
        var means: [Double] = []
        means.reserveCapacity(input.eligible.count)
        for k in input.eligible.indices {
            let (m, x) = scoring(input, k)
            means.append(models[m].predict(x))
        }
        return means
    }

    public var capabilities: EstimatorCapabilities { [.upperBounds, .posteriorDraws] }

    /// LinUCB: θᵀx + α·√(xᵀA⁻¹x).
    public func upperBounds(_ input: DecisionInput, priors: [ArmPrior], width alpha: Double) -> [Double]? {
        // Loops, not `map`: inside a closure `models[m]` copied the model out of the
        // array, a retain and a release of each of its arrays per arm and decision.
        var bounds: [Double] = []
        bounds.reserveCapacity(input.eligible.count)
        for k in input.eligible.indices {
            let (m, x) = scoring(input, k)
            bounds.append(models[m].upperBound(x, width: alpha))
        }
        return bounds
    }

    /// θ̃ᵀx with θ̃ ~ N(θ, v²A⁻¹) (Agrawal & Goyal 2013); the shared model is drawn once
    /// per joint draw, per-arm models once per arm.
    public func draw(_ input: DecisionInput, priors: [ArmPrior], posterior: Posterior, random: inout SeededRandom) -> [Double]? {
        guard case .gaussian(let scale) = posterior else { return means(input, priors: priors) }
        let shared = payoff == .shared ? models[0].sample(scale: scale, &random) : nil
        var draws: [Double] = []
        draws.reserveCapacity(input.eligible.count)
        for k in input.eligible.indices {
            let (m, x) = scoring(input, k)
            let coefficients = shared ?? models[m].sample(scale: scale, &random)
            var v = 0.0
            for j in 0..<x.count { v += coefficients[j] * x[j] }
            draws.append(v)
        }
        return draws
    }
}

extension LinearModels: StateCodable {
    public func encode(to w: inout StateWriter) {
        w.write(payoff == .shared)
        w.writeVarint(UInt64(dimension))
        w.write(regularization)
        w.writeVarint(UInt64(arms))
        w.write(updates)
        w.writeVarint(UInt64(models.count))
        for m in models { w.write(section: m) }
    }

    public init(from r: inout StateReader, version: UInt16) throws(StateFormatError) {
        let shared = try r.readBool()
        let dimension = Int(try r.readVarint())
        let regularization = try r.readDouble()
        guard dimension > 0, dimension <= 1 << 16, regularization > 0 else { throw StateFormatError("invalid linear model settings") }
        self.init(payoff: shared ? .shared : .perArm, dimension: dimension, regularization: regularization)
        arms = Int(try r.readVarint())
        updates = try r.readInt64()
        let n = try r.readCount()
        models = []
        for _ in 0..<n {
            let m = try r.read(section: RidgeRegression.self)
            guard m.dimension == dimension, m.regularization == regularization else { throw StateFormatError("model settings differ from the estimator's") }
            models.append(m)
        }
        guard models.count == (shared ? 1 : arms) else { throw StateFormatError("\(models.count) models for \(arms) arms") }
    }
}
