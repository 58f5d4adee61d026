import Common
import StateFormat

/// Why a policy specification was refused.
public struct PolicySpecError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A policy a decision point runs on: the algorithm by its wire name and its parameters
/// by name, as configuration and the admin API give them. `make` validates and builds.
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

        /// True for the contextual (linear) policies.
        public var isContextual: Bool { self == .linUCB || self == .linearThompson }

        /// Every parameter the algorithm takes, with its default and allowed range.
        public var parameters: [(name: String, default: Double, range: ClosedRange<Double>)] {
            let discount = ("discount", 1.0, 1e-6...1.0)
            let draws = ("propensity_draws", 1000.0, 1.0...1_000_000.0)
            switch self {
            case .epsilonGreedy: return [("epsilon", 0.1, 0...1), discount]
            case .softmax: return [("temperature", 0.1, 1e-9...1e9), discount]
            case .ucb1: return [("exploration", 1, 0...1e6), discount]
            case .klUCB: return [("c", 0, 0...1e6), discount]
            case .thompsonBeta: return [draws, discount]
            case .thompsonNormal:
                return [draws, ("prior_mean", 0, -1e12...1e12), ("prior_strength", 1, 1e-9...1e12), ("prior_shape", 1, 1e-9...1e12), ("prior_scale", 1, 1e-9...1e12), discount]
            case .exp3: return [("gamma", 0.1, 1e-9...1)]
            case .linUCB: return [("alpha", 1, 0...1e6), ("regularization", 1, 1e-9...1e9)]
            case .linearThompson: return [("scale", 0.5, 0...1e6), ("regularization", 1, 1e-9...1e9), ("propensity_draws", 100, 1...1_000_000)]
            }
        }
    }

    public var algorithm: Algorithm
    /// Only the parameters given; the rest take their defaults.
    public var parameters: [String: Double]
    /// For linear policies: one model per arm, or one model over context × arm features.
    public var payoff: LinearPayoff

    public init(algorithm: Algorithm, parameters: [String: Double] = [:], payoff: LinearPayoff = .perArm) {
        self.algorithm = algorithm
        self.parameters = parameters
        self.payoff = payoff
    }

    /// Checks every parameter's name and range.
    public func validate() throws(PolicySpecError) {
        let known = algorithm.parameters
        for (name, value) in parameters.sorted(by: { $0.key < $1.key }) {
            guard let p = known.first(where: { $0.name == name }) else {
                throw PolicySpecError("\(algorithm.rawValue) has no parameter '\(name)'; it takes \(known.map(\.name).joined(separator: ", "))")
            }
            guard value.isFinite, p.range.contains(value) else {
                throw PolicySpecError("\(algorithm.rawValue) parameter '\(name)' must be in \(p.range.lowerBound)...\(p.range.upperBound), found \(value)")
            }
            if name == "propensity_draws", value != value.rounded() {
                throw PolicySpecError("\(algorithm.rawValue) parameter 'propensity_draws' must be a whole number, found \(value)")
            }
        }
    }

    /// The value of parameter `name` (given or default; 0 if the algorithm has none).
    public func value(_ name: String) -> Double {
        parameters[name] ?? algorithm.parameters.first { $0.name == name }?.default ?? 0
    }

    /// A new policy with no arms; `dimension` is the feature count of linear policies.
    public func make(dimension: Int) throws(PolicySpecError) -> SurfacePolicy {
        try validate()
        if algorithm.isContextual, dimension < 1 { throw PolicySpecError("\(algorithm.rawValue) needs at least one feature") }
        let draws = Int(value("propensity_draws"))
        let policy: any StatefulPolicy =
            switch algorithm {
            case .epsilonGreedy: EpsilonGreedy(epsilon: value("epsilon"), discount: value("discount"))
            case .softmax: Softmax(temperature: value("temperature"), discount: value("discount"))
            case .ucb1: UCB1(exploration: value("exploration"), discount: value("discount"))
            case .klUCB: KLUCB(c: value("c"), discount: value("discount"))
            case .thompsonBeta: BetaThompson(propensityDraws: draws, discount: value("discount"))
            case .thompsonNormal:
                NormalThompson(
                    propensityDraws: draws, priorMean: value("prior_mean"), priorStrength: value("prior_strength"),
                    priorShape: value("prior_shape"), priorScale: value("prior_scale"), discount: value("discount"))
            case .exp3: EXP3(gamma: value("gamma"))
            case .linUCB: LinUCB(dimension: dimension, payoff: payoff, alpha: value("alpha"), regularization: value("regularization"))
            case .linearThompson:
                LinearThompson(dimension: dimension, payoff: payoff, scale: value("scale"), regularization: value("regularization"), propensityDraws: draws)
            }
        return SurfacePolicy(policy)
    }
}

/// A policy that can live in snapshots.
public protocol StatefulPolicy: BanditPolicy, StateCodable {}

extension EpsilonGreedy: StatefulPolicy {}
extension Softmax: StatefulPolicy {}
extension UCB1: StatefulPolicy {}
extension KLUCB: StatefulPolicy {}
extension BetaThompson: StatefulPolicy {}
extension NormalThompson: StatefulPolicy {}
extension EXP3: StatefulPolicy {}
extension LinUCB: StatefulPolicy {}
extension LinearThompson: StatefulPolicy {}

/// Any policy, as a decision point holds it: chosen by configuration at run time,
/// serialised with its algorithm's name so a snapshot restores the same type.
public struct SurfacePolicy: Sendable {
    public private(set) var policy: any StatefulPolicy

    public init(_ policy: any StatefulPolicy) {
        self.policy = policy
    }

    public var name: String { policy.name }
    public var armCount: Int { policy.armCount }

    public mutating func addArm(prior: ArmPrior) -> Int { policy.addArm(prior: prior) }

    /// Whether the policy keeps per-arm priors (the statistics-based ones; EXP3 and the
    /// linear policies have none).
    public var usesArmPriors: Bool { policy is any StatisticsPolicy }

    /// Arm `arm`'s current prior, when the policy keeps priors.
    public func prior(arm: Int) -> ArmPrior? { (policy as? any StatisticsPolicy)?.stats.prior(arm) }

    /// Arm `arm`'s (discounted) count of observations and pseudo-observations, when the
    /// policy keeps per-arm statistics.
    public func count(arm: Int) -> Double? { (policy as? any StatisticsPolicy)?.stats.count(arm) }

    /// Replaces arm `arm`'s prior, keeping its observations; false when the policy keeps
    /// no priors.
    public mutating func setPrior(arm: Int, _ prior: ArmPrior) -> Bool {
        guard var p = policy as? any StatisticsPolicy & StatefulPolicy else { return false }
        p.stats.setPrior(arm: arm, prior)
        policy = p
        return true
    }

    public func choose(_ input: DecisionInput, random: inout SeededRandom) -> Choice {
        policy.choose(input, random: &random)
    }

    public func probabilities(_ input: DecisionInput, random: inout SeededRandom) -> [Double] {
        policy.probabilities(input, random: &random)
    }

    public func ranking(_ input: DecisionInput, first: Int, count: Int) -> [Int] {
        policy.ranking(input, first: first, count: count)
    }

    public mutating func update(arm: Int, features: [Double], reward: Double, propensity: Double) {
        policy.update(arm: arm, features: features, reward: reward, propensity: propensity)
    }

    /// The same learnt state under new parameters. Parameters that define the state
    /// itself (the discount of the statistics, the ridge regularisation, the payoff form)
    /// cannot change at run time: the state would mean something else.
    public func retuned(_ spec: PolicySpec, dimension: Int) throws(PolicySpecError) -> SurfacePolicy {
        let fresh = try spec.make(dimension: dimension).policy
        func same(_ a: Double, _ b: Double, _ what: String) throws(PolicySpecError) {
            guard a == b else { throw PolicySpecError("'\(what)' cannot change at run time (\(a) → \(b)); configure a new surface instead") }
        }
        if let fresh = fresh as? any StatisticsPolicy & StatefulPolicy {
            return try transplant(fresh)
        }
        switch (fresh, policy) {
        case (var n as EXP3, let o as EXP3):
            n.logWeights = o.logWeights; return SurfacePolicy(n)
        case (var n as LinUCB, let o as LinUCB):
            try same(Double(o.linear.dimension), Double(n.linear.dimension), "feature dimension")
            try same(o.linear.regularization, n.linear.regularization, "regularization")
            guard o.linear.payoff == n.linear.payoff else { throw PolicySpecError("the payoff form cannot change at run time") }
            n.linear = o.linear; return SurfacePolicy(n)
        case (var n as LinearThompson, let o as LinearThompson):
            try same(Double(o.linear.dimension), Double(n.linear.dimension), "feature dimension")
            try same(o.linear.regularization, n.linear.regularization, "regularization")
            guard o.linear.payoff == n.linear.payoff else { throw PolicySpecError("the payoff form cannot change at run time") }
            n.linear = o.linear; return SurfacePolicy(n)
        default:
            throw changedAlgorithm(fresh)
        }
    }

    /// `fresh` with this policy's statistics, when both are of the same type.
    private func transplant<P: StatisticsPolicy & StatefulPolicy>(_ fresh: P) throws(PolicySpecError) -> SurfacePolicy {
        guard let old = policy as? P else { throw changedAlgorithm(fresh) }
        guard old.stats.discount == fresh.stats.discount else {
            throw PolicySpecError("'discount' cannot change at run time (\(old.stats.discount) → \(fresh.stats.discount)); configure a new surface instead")
        }
        var n = fresh
        n.stats = old.stats
        return SurfacePolicy(n)
    }

    private func changedAlgorithm(_ fresh: any BanditPolicy) -> PolicySpecError {
        PolicySpecError("the algorithm cannot change at run time (\(policy.name) → \(fresh.name)); configure a new surface instead")
    }
}

extension SurfacePolicy: StateCodable {
    public static let stateVersion: UInt16 = 1

    public func encode(to w: inout StateWriter) {
        w.write(policy.name)
        func section<P: StatefulPolicy>(_ p: P) { w.write(section: p) }
        section(policy)
    }

    public init(from r: inout StateReader, version: UInt16) throws(StateFormatError) {
        let name = try r.readString()
        switch PolicySpec.Algorithm(rawValue: name) {
        case .epsilonGreedy: policy = try r.read(section: EpsilonGreedy.self)
        case .softmax: policy = try r.read(section: Softmax.self)
        case .ucb1: policy = try r.read(section: UCB1.self)
        case .klUCB: policy = try r.read(section: KLUCB.self)
        case .thompsonBeta: policy = try r.read(section: BetaThompson.self)
        case .thompsonNormal: policy = try r.read(section: NormalThompson.self)
        case .exp3: policy = try r.read(section: EXP3.self)
        case .linUCB: policy = try r.read(section: LinUCB.self)
        case .linearThompson: policy = try r.read(section: LinearThompson.self)
        case nil: throw StateFormatError("unknown policy '\(name)'")
        }
    }
}
