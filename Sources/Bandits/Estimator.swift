import Common
import StateFormat

/// The learning half of a bandit policy (Vowpal Wabbit's reduction: a policy is an
/// estimator combined with an exploration strategy): what the rewards that followed
/// earlier decisions say about each arm.
///
/// Estimators are mergeable. State is kept per Kafka partition, and a decision reads the
/// merge of every partition's estimator; for any split of the observations into shards,
/// the merge of the shards equals one estimator that learnt them all — bit for bit,
/// because every sum is exact (`ExactSum`), except under discounting (see
/// `RewardCounts`). Arms are indices; a merge says how the other estimator's arms map.
public protocol Estimator: Sendable, StateCodable {
    /// Names the estimator in configuration and in state ("counts", "ridge", …).
    static var kind: String { get }
    var armCount: Int { get }
    /// Settled decisions learnt.
    var updates: Int64 { get }
    /// Adds an arm with no observations and returns its index.
    mutating func addArm() -> Int
    /// Learns `reward` for `arm`, chosen with `propensity`, on the feature vector the
    /// decision was made on (empty for context-free estimators).
    mutating func learn(arm: Int, features: [Double], reward: Double, propensity: Double)
    /// Adds `other`'s observations; `other`'s arm k is this estimator's arm `arms[k]`,
    /// or is left out when `arms[k]` is negative. `other` must have the same settings
    /// (`sameSettings`).
    mutating func merge(_ other: Self, arms: [Int])
    /// The same settings with no arms and no observations: what a new shard starts from.
    func emptyCopy() -> Self
    /// Whether `other` was made with the same settings: state learnt under other settings
    /// means something else and must not be merged or kept.
    func sameSettings(_ other: Self) -> Bool
    /// The point estimate of every eligible arm's reward (in `input.eligible` order),
    /// counting `priors` (indexed by arm) where the estimator keeps per-arm counts: what
    /// greedy choices and ranked lists order arms by.
    func means(_ input: DecisionInput, priors: [ArmPrior]) -> [Double]
    /// What else the estimator answers, beyond point estimates.
    var capabilities: EstimatorCapabilities { get }
    /// The upper confidence bound of every eligible arm with the given width factor
    /// (`.infinity` for an arm never tried), when `capabilities` has `.upperBounds`.
    func upperBounds(_ input: DecisionInput, priors: [ArmPrior], width: Double) -> [Double]?
    /// One joint posterior draw of the eligible arms' mean rewards, when `capabilities`
    /// has `.posteriorDraws`.
    func draw(_ input: DecisionInput, priors: [ArmPrior], posterior: Posterior, random: inout SeededRandom) -> [Double]?
}

/// What an estimator answers besides point estimates: what an exploration strategy may
/// ask of it (requirements, not casts, so a decision never pays a dynamic cast).
public struct EstimatorCapabilities: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// Optimistic indices: UCB1 over counts, LinUCB over linear models.
    public static let upperBounds = EstimatorCapabilities(rawValue: 1)
    /// Posterior draws: Thompson sampling.
    public static let posteriorDraws = EstimatorCapabilities(rawValue: 2)
}

extension Estimator {
    public var capabilities: EstimatorCapabilities { [] }
    public func upperBounds(_ input: DecisionInput, priors: [ArmPrior], width: Double) -> [Double]? { nil }
    public func draw(_ input: DecisionInput, priors: [ArmPrior], posterior: Posterior, random: inout SeededRandom) -> [Double]? { nil }
}

/// The posterior family a Thompson sampler draws from, with its hyper-parameters.
public enum Posterior: Sendable, Equatable {
    /// Beta–Bernoulli, prior Beta(1, 1) plus the arm's prior (rewards in [0, 1]).
    case beta
    /// Normal likelihood with unknown mean and variance, Normal–inverse-gamma prior.
    case normal(mean: Double, strength: Double, shape: Double, scale: Double)
    /// Gaussian over linear coefficients, N(θ, v²A⁻¹).
    case gaussian(scale: Double)
}

extension Estimator {
    /// `merge` for an estimator known only as `any Estimator`.
    mutating func merge(any other: any Estimator, arms: [Int]) -> Bool {
        guard let o = other as? Self, sameSettings(o) else { return false }
        merge(o, arms: arms)
        return true
    }

    func sameSettings(any other: any Estimator) -> Bool {
        guard let o = other as? Self else { return false }
        return sameSettings(o)
    }
}

/// Every estimator by its kind, for reading state written as `any Estimator`. A new
/// estimator registers here.
enum EstimatorKinds {
    static let readers: [String: @Sendable (inout StateReader) throws(StateFormatError) -> any Estimator] = [
        RewardCounts.kind: { (r: inout StateReader) throws(StateFormatError) in try r.read(section: RewardCounts.self) },
        LinearModels.kind: { (r: inout StateReader) throws(StateFormatError) in try r.read(section: LinearModels.self) },
        ImportanceSums.kind: { (r: inout StateReader) throws(StateFormatError) in try r.read(section: ImportanceSums.self) },
    ]

    static func write(_ e: any Estimator, to w: inout StateWriter) {
        func section<E: Estimator>(_ e: E) {
            w.write(E.kind)
            w.write(section: e)
        }
        section(e)
    }

    static func read(_ r: inout StateReader) throws(StateFormatError) -> any Estimator {
        let kind = try r.readString()
        guard let read = readers[kind] else { throw StateFormatError("unknown estimator '\(kind)'") }
        return try read(&r)
    }

    /// Byte-exact comparison of two estimators' states.
    static func equal(_ a: any Estimator, _ b: any Estimator) -> Bool {
        var x = StateWriter(), y = StateWriter()
        write(a, to: &x)
        write(b, to: &y)
        return x.bytes == y.bytes
    }
}
