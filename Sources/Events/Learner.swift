import Common
import StateFormat

/// The one surface every learner has (after River's `learn_one` / `predict_one`): learn
/// from one event, merge another shard's state, and round-trip through the state format.
/// A learner that also decides adopts `DecisionMaker`.
///
/// State is kept per Kafka partition. The merge law: for any split of a stream into
/// shards that keeps each user's events in order, `merge` of the shards' states equals
/// the state of one sequential run over all events. Every learner's statistics are
/// exact sums, so "equals" means the same bytes (`EventsTests` and the learners' own
/// tests check it by sharding and merging).
public protocol Learner: StateCodable, Sendable {
    /// Names the learner's section in snapshots and published views; never change it
    /// once released.
    static var name: String { get }
    /// The event types `learn` reads; the engine hands it no others.
    var reads: Set<EventKind> { get }
    /// Folds one validated event into the state.
    mutating func learn(_ event: Event)
    /// Adds the statistics of `other`, which covers a disjoint set of events.
    mutating func merge(_ other: Self)
    /// What every process needs of this state, published for all of them to merge into
    /// their views: the state without what is kept per user (read at the owner of the
    /// user's partition instead); nil when all of it is per user.
    var shared: Self? { get }
    /// Takes the configuration of `fresh` (a learner made from the current
    /// configuration) while keeping what was learnt where it still means the same: called
    /// on a learner read from a snapshot. Returns notes on what could not be kept.
    mutating func adopt(configurationOf fresh: Self) -> [String]
    /// A readable account of the state for `arbiter state`, `/v1/status` and replay
    /// outputs: one JSON value (an object), listing at most `top` of anything long.
    func summarize(into w: inout JSONWriter, top: Int)
    /// What the state says as metrics (exported from each process's view, so from the
    /// shared state of the whole group).
    var gauges: [LearnerGauge] { get }
}

/// One metric a learner reports: a name (`arbiter_` + it is exported), labels and a value.
public struct LearnerGauge: Sendable, Equatable {
    public var name: String
    public var labels: [String: String]
    public var value: Double

    public init(_ name: String, _ value: Double, labels: [String: String] = [:]) {
        self.name = name
        self.labels = labels
        self.value = value
    }
}

extension Learner {
    public var shared: Self? { self }
    public mutating func adopt(configurationOf fresh: Self) -> [String] { [] }
    public var gauges: [LearnerGauge] { [] }
}

/// A learner that answers requests from its state, each answer carrying the probability
/// with which it was chosen (what offline evaluation needs from the decision log).
/// Randomness comes from the caller's generator, seeded from the decision id, so the same
/// state and request give the same answer in any process.
public protocol DecisionMaker: Learner {
    associatedtype Request
    associatedtype Answer
    associatedtype Refusal: Error
    func decide(_ request: Request, random: inout SeededRandom) throws(Refusal) -> Answer
}

extension Learner {
    /// `merge` for a learner known only as `any Learner`; false when `other` is another
    /// learner.
    public mutating func merge(any other: any Learner) -> Bool {
        guard let o = other as? Self else { return false }
        merge(o)
        return true
    }

    /// `adopt` for a learner known only as `any Learner`.
    public mutating func adopt(any fresh: any Learner) -> [String] {
        guard let f = fresh as? Self else { return ["\(Self.name): configuration of another learner"] }
        return adopt(configurationOf: f)
    }

    /// `shared` for a learner known only as `any Learner`.
    public var sharedAny: (any Learner)? { shared }
}

extension EventKind {
    /// Every event type: what a learner that looks at the whole stream reads.
    public static let everything = Set(EventKind.allCases)
}
