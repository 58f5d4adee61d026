import StateFormat

/// The one surface every learner has (after River's `learn_one`): fold an event into
/// state, merge state from another shard, and round-trip through the state format.
///
/// State is kept per Kafka partition; because every learner's statistics are additive,
/// `merge` of the partitions' states equals the state of one sequential run over all
/// events, whatever the interleaving across partitions.
public protocol Learner: StateCodable, Sendable, Equatable {
    /// Names the learner's section in snapshots; never change it once released.
    static var name: String { get }
    init()
    /// Folds one validated event into the state. Events of types the learner does not
    /// use are ignored.
    mutating func update(_ event: Event)
    /// Adds the statistics of `other`, which covers a disjoint set of events.
    mutating func merge(_ other: Self)
}
