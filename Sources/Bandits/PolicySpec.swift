import StateFormat

/// Why a policy specification was refused.
public struct PolicySpecError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A policy a decision point runs on, as configuration and the admin API give it: an
/// exploration strategy by its algorithm name, the estimator it explores over (each
/// algorithm has its own by default), and their parameters by name. `make` validates and
/// builds; ε-greedy or softmax over a ridge model is `estimator: ridge`, not a new type.
public struct PolicySpec: Sendable, Equatable {
    public enum Algorithm: String, Sendable, CaseIterable {
        case epsilonGreedy = "epsilon-greedy"
        case softmax
        case ucb1
        case klUCB = "kl-ucb"
        case thompsonBeta = "thompson-beta"
        case thompsonNormal = "thompson-normal"
        case exp3
        case linUCB = "linucb"
        case linearThompson = "linear-thompson"

        /// The estimator the algorithm explores over unless configured otherwise.
        public var defaultEstimator: EstimatorChoice {
            switch self {
            case .linUCB, .linearThompson: .ridge
            case .exp3: .importance
            default: .counts
            }
        }

        /// The estimators the algorithm can explore over.
        public var estimators: [EstimatorChoice] {
            switch self {
            case .epsilonGreedy, .softmax: [.counts, .ridge]
            default: [defaultEstimator]
            }
        }

        /// The exploration parameters, with default and allowed range.
        var explorationParameters: [Parameter] {
            let draws = Parameter("propensity_draws", 1000, 1...1_000_000)
            switch self {
            case .epsilonGreedy: return [.init("epsilon", 0.1, 0...1)]
            case .softmax: return [.init("temperature", 0.1, 1e-9...1e9)]
            case .ucb1: return [.init("exploration", 1, 0...1e6)]
            case .klUCB: return [.init("c", 0, 0...1e6)]
            case .thompsonBeta: return [draws]
            case .thompsonNormal:
                return [draws, .init("prior_mean", 0, -1e12...1e12), .init("prior_strength", 1, 1e-9...1e12), .init("prior_shape", 1, 1e-9...1e12), .init("prior_scale", 1, 1e-9...1e12)]
            case .exp3: return [.init("gamma", 0.1, 1e-9...1)]
            case .linUCB: return [.init("alpha", 1, 0...1e6)]
            case .linearThompson: return [.init("scale", 0.5, 0...1e6), .init("propensity_draws", 100, 1...1_000_000)]
            }
        }
    }

    /// An estimator as configuration names it.
    public enum EstimatorChoice: String, Sendable, CaseIterable {
        case counts, ridge, importance

        /// The estimator's parameters: they define its state and cannot change at run time.
        var parameters: [Parameter] {
            switch self {
            case .counts: [.init("discount", 1, 1e-6...1)]
            case .ridge: [.init("regularization", 1, 1e-9...1e9)]
            case .importance: []
            }
        }
    }

    /// A parameter's name, default and allowed range.
    public struct Parameter: Sendable {
        public var name: String
        public var defaultValue: Double
        public var range: ClosedRange<Double>
        init(_ name: String, _ defaultValue: Double, _ range: ClosedRange<Double>) {
            self.name = name
            self.defaultValue = defaultValue
            self.range = range
        }
    }

    public var algorithm: Algorithm
    /// Only the parameters given; the rest take their defaults.
    public var parameters: [String: Double]
    /// For linear models: one model per arm, or one model over context × arm features.
    public var payoff: LinearPayoff
    /// nil: the algorithm's default estimator.
    public var estimatorChoice: EstimatorChoice?

    public init(algorithm: Algorithm, parameters: [String: Double] = [:], payoff: LinearPayoff = .perArm, estimator: EstimatorChoice? = nil) {
        self.algorithm = algorithm
        self.parameters = parameters
        self.payoff = payoff
        self.estimatorChoice = estimator
    }

    /// The estimator in use.
    public var estimator: EstimatorChoice { estimatorChoice ?? algorithm.defaultEstimator }

    /// True when the policy decides on context features (a linear model).
    public var isContextual: Bool { estimator == .ridge }

    /// Names the policy in decision records: the algorithm, and the estimator when it is
    /// not the algorithm's own ("epsilon-greedy+ridge").
    public var name: String {
        estimator == algorithm.defaultEstimator ? algorithm.rawValue : "\(algorithm.rawValue)+\(estimator.rawValue)"
    }

    /// Every parameter the policy takes: the strategy's, then the estimator's (for the
    /// linear algorithms the regularization comes second, as it always has).
    public var parameterList: [Parameter] {
        let explore = algorithm.explorationParameters
        let estimate = estimator.parameters
        if algorithm == .linearThompson { return [explore[0]] + estimate + [explore[1]] }
        return explore + estimate
    }

    /// Checks the estimator, every parameter's name and range.
    public func validate() throws(PolicySpecError) {
        guard algorithm.estimators.contains(estimator) else {
            throw PolicySpecError("\(algorithm.rawValue) cannot explore over '\(estimator.rawValue)'; it takes \(algorithm.estimators.map(\.rawValue).joined(separator: " or "))")
        }
        let known = parameterList
        for (name, value) in parameters.sorted(by: { $0.key < $1.key }) {
            guard let p = known.first(where: { $0.name == name }) else {
                throw PolicySpecError("\(self.name) has no parameter '\(name)'; it takes \(known.map(\.name).joined(separator: ", "))")
            }
            guard value.isFinite, p.range.contains(value) else {
                throw PolicySpecError("\(self.name) parameter '\(name)' must be in \(p.range.lowerBound)...\(p.range.upperBound), found \(value)")
            }
            if name == "propensity_draws", value != value.rounded() {
                throw PolicySpecError("\(self.name) parameter 'propensity_draws' must be a whole number, found \(value)")
            }
        }
    }

    /// The value of parameter `name` (given or default; 0 if the policy has none).
    public func value(_ name: String) -> Double {
        parameters[name] ?? parameterList.first { $0.name == name }?.defaultValue ?? 0
    }

    /// A new estimator with no arms; `dimension` is the feature count of linear models.
    public func makeEstimator(dimension: Int) throws(PolicySpecError) -> any Estimator {
        try validate()
        switch estimator {
        case .counts:
            return RewardCounts(discount: value("discount"), clipsRewards: algorithm == .thompsonBeta)
        case .ridge:
            guard dimension >= 1 else { throw PolicySpecError("\(name) needs at least one feature") }
            return LinearModels(payoff: payoff, dimension: dimension, regularization: value("regularization"))
        case .importance:
            return ImportanceSums()
        }
    }

    /// The exploration strategy.
    public func makeExploration() throws(PolicySpecError) -> any Exploration {
        try validate()
        let draws = Int(value("propensity_draws"))
        switch algorithm {
        case .epsilonGreedy: return EpsilonGreedy(epsilon: value("epsilon"), name: name)
        case .softmax: return Softmax(temperature: value("temperature"), name: name)
        case .ucb1: return UpperConfidence(width: value("exploration"), name: name)
        case .klUCB: return KLUpperConfidence(c: value("c"))
        case .thompsonBeta: return ThompsonSampling(posterior: .beta, propensityDraws: draws, name: name)
        case .thompsonNormal:
            let posterior = Posterior.normal(mean: value("prior_mean"), strength: value("prior_strength"), shape: value("prior_shape"), scale: value("prior_scale"))
            return ThompsonSampling(posterior: posterior, propensityDraws: draws, name: name)
        case .exp3: return ExponentialWeights(gamma: value("gamma"))
        case .linUCB: return UpperConfidence(width: value("alpha"), name: name)
        case .linearThompson: return ThompsonSampling(posterior: .gaussian(scale: value("scale")), propensityDraws: draws, name: name)
        }
    }

    /// A new policy with no arms.
    public func make(dimension: Int) throws(PolicySpecError) -> BanditPolicy {
        BanditPolicy(spec: self, estimator: try makeEstimator(dimension: dimension), exploration: try makeExploration())
    }

    /// Whether a state learnt under `self` means the same under `other`: the same
    /// algorithm's estimator with the same state-defining parameters. Exploration
    /// parameters may change at run time; these may not.
    public func checkRetune(to other: PolicySpec, dimension: Int) throws(PolicySpecError) {
        guard other.algorithm == algorithm, other.estimator == estimator else {
            throw PolicySpecError("the algorithm cannot change at run time (\(name) → \(other.name)); configure a new surface instead")
        }
        for p in estimator.parameters where value(p.name) != other.value(p.name) {
            throw PolicySpecError("'\(p.name)' cannot change at run time (\(value(p.name)) → \(other.value(p.name))); configure a new surface instead")
        }
        guard other.payoff == payoff || !isContextual else { throw PolicySpecError("the payoff form cannot change at run time") }
        try other.validate()
    }
}

extension BanditPolicy {
    /// The same learnt state under new parameters. Parameters that define the state
    /// itself (the discount of reward counts, the ridge regularisation, the payoff form)
    /// cannot change at run time: the state would mean something else.
    public func retuned(_ spec: PolicySpec, dimension: Int) throws(PolicySpecError) -> BanditPolicy {
        try self.spec.checkRetune(to: spec, dimension: dimension)
        if let linear = estimator as? LinearModels, linear.dimension != dimension {
            throw PolicySpecError("'feature dimension' cannot change at run time (\(linear.dimension) → \(dimension)); configure a new surface instead")
        }
        var p = BanditPolicy(spec: spec, estimator: estimator, exploration: try spec.makeExploration())
        p.priors = priors
        return p
    }
}
