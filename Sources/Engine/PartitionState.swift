import Common
import Events
import StateFormat

/// Every learner of one partition of the event stream (or, merged, of several): the
/// registry's learners, each handed the event types it reads.
public struct PartitionState: Sendable {
    /// In registry order; a learner the state was restored without is made fresh.
    public private(set) var learners: [any Learner]
    /// Positions in `learners` by event type.
    private var dispatch: [[Int]]
    public let context: LearnerContext

    /// Empty learners made from `context`.
    public init(_ context: LearnerContext) throws {
        self.context = context
        learners = try LearnerRegistry.all.map { try $0.make(context) }
        dispatch = PartitionState.dispatchTable(learners)
    }

    private init(context: LearnerContext, learners: [any Learner]) {
        self.context = context
        self.learners = learners
        dispatch = PartitionState.dispatchTable(learners)
    }

    private static func dispatchTable(_ learners: [any Learner]) -> [[Int]] {
        EventKind.allCases.map { kind in learners.indices.filter { learners[$0].reads.contains(kind) } }
    }

    public mutating func learn(_ event: Event) {
        for i in dispatch[Int(event.kind.rawValue)] { learners[i].learn(event) }
    }

    /// Counts a rejected record (its dead letter carries the rest).
    public mutating func reject(category: String) {
        _ = modify(EventTally.self) { $0.reject(category: category) }
    }

    /// Adds another shard's state: each learner merges the learner of the same name.
    public mutating func merge(_ other: PartitionState) {
        for o in other.learners {
            if let i = learners.firstIndex(where: { type(of: $0).name == type(of: o).name }) {
                _ = learners[i].merge(any: o)
            } else {
                learners.append(o)
                dispatch = PartitionState.dispatchTable(learners)
            }
        }
    }

    /// What every process needs: each learner's shared part (learners whose state is all
    /// per user are left out).
    public var shared: PartitionState {
        PartitionState(context: context, learners: learners.compactMap { $0.sharedAny })
    }

    /// The learner of type `L`, if the state has one.
    public func learner<L: Learner>(_ type: L.Type) -> L? {
        for l in learners { if let found = l as? L { return found } }
        return nil
    }

    /// Applies `body` to the learner of type `L`.
    public mutating func modify<L: Learner, R>(_ type: L.Type, _ body: (inout L) -> R) -> R? {
        guard let i = learners.firstIndex(where: { $0 is L }) else { return nil }
        var l = learners[i] as! L
        let r = body(&l)
        learners[i] = l
        return r
    }

    // MARK: State

    /// Sections are named and length-prefixed: a reader skips sections it does not know
    /// (written by a newer build) and makes learners it finds no section for fresh.
    public func encode(to w: inout StateWriter) {
        w.writeVarint(UInt64(learners.count))
        for l in learners {
            func section<L: Learner>(_ l: L) {
                w.write(L.name)
                w.write(section: l)
            }
            section(l)
        }
    }

    /// Reads a state written by `encode` (or by the learner set of earlier builds, which
    /// used the same layout) and, when `adopt`, has each learner adopt `context`'s
    /// configuration (to continue learning under it); `notes` says what could not be
    /// kept. Without `adopt` the state is read as it was written (to inspect it).
    public init(from r: inout StateReader, context: LearnerContext, adopt: Bool = true, notes: inout [String]) throws(StateFormatError) {
        let fresh: [any Learner]
        do { fresh = try LearnerRegistry.all.map { try $0.make(context) } } catch { throw StateFormatError("configuration: \(error)") }
        var learners = fresh
        let count = try r.readCount()
        for _ in 0..<count {
            let name = try r.readString()
            guard let i = LearnerRegistry.byName[name] else {
                _ = try r.readUInt16()
                _ = try r.readBytes()
                continue
            }
            var learner = try LearnerRegistry.all[i].read(&r)
            if adopt { notes += learner.adopt(any: fresh[i]) }
            learners[i] = learner
        }
        self.init(context: context, learners: learners)
    }

    /// Reads a published shared state (no adoption: views take what was published).
    public init(publishedFrom r: inout StateReader, context: LearnerContext) throws(StateFormatError) {
        var learners: [any Learner] = []
        for _ in 0..<(try r.readCount()) {
            let name = try r.readString()
            guard let i = LearnerRegistry.byName[name] else {
                _ = try r.readUInt16()
                _ = try r.readBytes()
                continue
            }
            learners.append(try LearnerRegistry.all[i].read(&r))
        }
        self.init(context: context, learners: learners)
    }

    /// A readable account of every learner, keyed as the registry says.
    public func summarize(into w: inout JSONWriter, top: Int) {
        for l in learners {
            guard let i = LearnerRegistry.byName[type(of: l).name] else { continue }
            w.key(LearnerRegistry.all[i].summaryKey)
            l.summarize(into: &w, top: top)
        }
    }

    /// The canonical encoding, for digests and comparisons.
    public var bytes: [UInt8] {
        var w = StateWriter()
        encode(to: &w)
        return w.bytes
    }
}
