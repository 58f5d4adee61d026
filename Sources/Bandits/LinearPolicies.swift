import Common
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

/// What linear policies share: the models and how an arm's score input is found.
struct LinearModels: Sendable, Equatable {
    let payoff: LinearPayoff
    let dimension: Int
    let regularization: Double
    var models: [RidgeRegression]
    var arms = 0

    init(payoff: LinearPayoff, dimension: Int, regularization: Double) {
        self.payoff = payoff
        self.dimension = dimension
        self.regularization = regularization
        models = payoff == .shared ? [RidgeRegression(dimension: dimension, regularization: regularization)] : []
    }

    mutating func addArm() -> Int {
        if payoff == .perArm { models.append(RidgeRegression(dimension: dimension, regularization: regularization)) }
        arms += 1
        return arms - 1
    }

    /// The model and feature vector that score the eligible arm at `position`.
    func scoring(_ input: DecisionInput, _ position: Int) -> (RidgeRegression, [Double]) {
        switch payoff {
        case .perArm: (models[input.eligible[position]], input.features)
        case .shared: (models[0], input.armFeatures[position])
        }
    }

    /// θᵀx of every eligible arm.
    func predictions(_ input: DecisionInput) -> [Double] {
        (0..<input.eligible.count).map { k in
            let (model, x) = scoring(input, k)
            return model.predict(x)
        }
    }

    mutating func update(arm: Int, features: [Double], reward: Double) {
        models[payoff == .perArm ? arm : 0].update(features, reward)
    }
}

/// LinUCB: the arm with the highest θᵀx + α·√(xᵀA⁻¹x). Deterministic but for ties.
public struct LinUCB: IndexPolicy, Equatable {
    public let name = "linucb"
    public let alpha: Double
    var linear: LinearModels

    public init(dimension: Int, payoff: LinearPayoff = .perArm, alpha: Double = 1, regularization: Double = 1) {
        self.alpha = alpha
        linear = LinearModels(payoff: payoff, dimension: dimension, regularization: regularization)
    }

    public var armCount: Int { linear.arms }
    public mutating func addArm(prior: ArmPrior) -> Int { linear.addArm() }

    func indices(_ input: DecisionInput) -> [Double] {
        (0..<input.eligible.count).map { k in
            let (model, x) = linear.scoring(input, k)
            return model.predict(x) + alpha * model.width(x).squareRoot()
        }
    }

    public func scores(_ input: DecisionInput) -> [Double] { linear.predictions(input) }

    public mutating func update(arm: Int, features: [Double], reward: Double, propensity: Double) {
        linear.update(arm: arm, features: features, reward: reward)
    }
}

/// Linear Thompson sampling (Agrawal & Goyal 2013): draw θ̃ ~ N(θ, v²A⁻¹) and choose the
/// arm with the highest θ̃ᵀx. In the per-arm form each arm's model is drawn separately.
public struct LinearThompson: SamplingPolicy, Equatable {
    public let name = "linear-thompson"
    public let scale: Double
    public let propensityDraws: Int
    var linear: LinearModels

    public init(dimension: Int, payoff: LinearPayoff = .perArm, scale: Double = 0.5, regularization: Double = 1, propensityDraws: Int = 100) {
        self.scale = scale
        self.propensityDraws = propensityDraws
        linear = LinearModels(payoff: payoff, dimension: dimension, regularization: regularization)
    }

    public var armCount: Int { linear.arms }
    public mutating func addArm(prior: ArmPrior) -> Int { linear.addArm() }

    func winner(_ input: DecisionInput, _ random: inout SeededRandom) -> Int {
        // The shared model is drawn once per joint draw; per-arm models once per arm.
        let shared = linear.payoff == .shared ? linear.models[0].sample(scale: scale, &random) : nil
        var best = -Double.infinity
        var at = 0
        for k in 0..<input.eligible.count {
            let (model, x) = linear.scoring(input, k)
            let coefficients = shared ?? model.sample(scale: scale, &random)
            var v = 0.0
            for j in 0..<x.count { v += coefficients[j] * x[j] }
            if v > best {
                best = v
                at = k
            }
        }
        return at
    }

    public func scores(_ input: DecisionInput) -> [Double] { linear.predictions(input) }

    public mutating func update(arm: Int, features: [Double], reward: Double, propensity: Double) {
        linear.update(arm: arm, features: features, reward: reward)
    }
}
