import Events
import StateFormat

/// What a decision point counts as its reward.
public enum RewardDefinition: Sendable, Equatable {
    /// 1 for a click on the decision (by decision id, or the user's click within the window).
    case click
    /// 1 for a purchase by the user within the window (a conversion).
    case purchase
    /// The summed revenue of the user's purchases within the window, in currency units.
    case revenue
    /// 1 for the user's first event of this type within the window (`view`, `add_to_cart`).
    case event(EventKind)

    /// How configuration names it.
    public var name: String {
        switch self {
        case .click: "click"
        case .purchase: "purchase"
        case .revenue: "revenue"
        case .event(let kind): kind.wireName
        }
    }

    public init?(name: String) {
        switch name {
        case "click": self = .click
        case "purchase": self = .purchase
        case "revenue": self = .revenue
        case "view": self = .event(.view)
        case "add_to_cart": self = .event(.addToCart)
        default: return nil
        }
    }

    /// True when one matching event settles the reward (it cannot grow afterwards), so
    /// the policy learns at once instead of at the end of the window.
    var settlesOnFirstMatch: Bool {
        if case .revenue = self { return false }
        return true
    }
}

/// The counts the join keeps for a decision point: what came in and what it became.
public struct JoinCounters: Sendable, Equatable {
    /// Decisions registered.
    public var decisions: Int64 = 0
    /// Rewards that counted towards a decision.
    public var joined: Int64 = 0
    /// Rewards for a decision already settled, or the same order twice: ignored.
    public var duplicate: Int64 = 0
    /// Rewards that came after their decision's window had ended: ignored.
    public var late: Int64 = 0
    /// Decisions whose window ended before a settling reward (learnt with what they had,
    /// 0 when nothing came).
    public var expired: Int64 = 0
    /// Decisions dropped unlearnt because the join was full.
    public var evicted: Int64 = 0
    /// Policy updates asked for: one per decision, at settlement or expiry.
    public var updates: Int64 = 0
    /// Decisions logged again under an id already registered (a client retrying with its
    /// own decision id): the first one is the one that learns.
    public var repeated: Int64 = 0

    public init() {}

    /// The counts of two disjoint shards together.
    public mutating func add(_ o: JoinCounters) {
        decisions += o.decisions
        joined += o.joined
        duplicate += o.duplicate
        late += o.late
        expired += o.expired
        evicted += o.evicted
        updates += o.updates
        repeated += o.repeated
    }

    /// Every count, in the order of `names`.
    public var all: [Int64] { [decisions, joined, duplicate, late, expired, evicted, updates, repeated] }
    /// How summaries and the API name the counts.
    public static let names = ["decisions", "rewards_joined", "rewards_duplicate", "rewards_late", "expired", "evicted", "updates", "decisions_repeated"]

    init(_ v: [Int64]) {
        (decisions, joined, duplicate, late, expired, evicted, updates, repeated) = (v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7])
    }
}

/// The bounded join of decisions with the rewards that follow them.
///
/// A decision waits here for its attribution window and updates its policy exactly
/// once: when a reward settles it (a click, a conversion, an explicit reward) or when its
/// window ends (with the revenue summed so far, or 0). Afterwards its id stays as a
/// tombstone for one more window, so a repeated reward is counted as a duplicate and a
/// reward after the window as late — never applied twice. Open decisions and tombstones
/// together are bounded by `capacity`; beyond it the one due first leaves early (an open
/// decision then leaves unlearnt, counted as evicted).
///
/// Time is whatever the caller passes (milliseconds), so the join is deterministic.
public struct RewardJoin: Sendable, Equatable {
    /// A decision waiting for its reward.
    public struct Pending: Sendable, Equatable {
        public var id: String
        public var surface: Int
        public var user: String
        public var arm: Int
        /// The feature vector the policy learns the reward against.
        public var features: [Double]
        public var propensity: Double
        public var decidedAt: Int64
        public var windowEnd: Int64
        public var reward: Double = 0
        /// Orders already counted (revenue rewards), so the same order counts once.
        public var orders: [String] = []

        public init(id: String, surface: Int, user: String, arm: Int, features: [Double], propensity: Double, decidedAt: Int64, windowEnd: Int64) {
            self.id = id
            self.surface = surface
            self.user = user
            self.arm = arm
            self.features = features
            self.propensity = propensity
            self.decidedAt = decidedAt
            self.windowEnd = windowEnd
        }
    }

    /// A settled decision, kept to recognise duplicate and late rewards.
    struct Tombstone: Sendable, Equatable {
        var surface: Int
        var windowEnd: Int64
        var forgetAt: Int64
        var rewarded: Bool
    }

    /// A policy update the join asks for.
    public struct Settlement: Sendable, Equatable {
        public var surface: Int
        public var arm: Int
        public var features: [Double]
        public var reward: Double
        public var propensity: Double
    }

    /// What became of an explicit reward.
    public enum Outcome: Sendable, Equatable {
        case settled(Settlement)
        case duplicate
        case late
        case orphan
    }

    struct Due: Sendable, Equatable {
        var at: Int64
        var sequence: UInt64
        var id: String
        func before(_ o: Due) -> Bool { at < o.at || (at == o.at && sequence < o.sequence) }
    }

    struct UserKey: Hashable, Sendable {
        var surface: Int
        var user: String
    }

    public private(set) var capacity: Int
    public private(set) var open: [String: Pending] = [:]
    private(set) var tombstones: [String: Tombstone] = [:]
    /// The user's most recent open decision per surface, for last-touch attribution. Only
    /// the latest is kept: its window ends last, so an earlier one could never be chosen,
    /// and one user with many decisions costs no more than one.
    private var byUser: [UserKey: String] = [:]
    /// When each id must be looked at next (window end, then forgetting), as a min-heap.
    private var due: [Due] = []
    private var sequence: UInt64 = 0
    public private(set) var counters: [JoinCounters]
    /// Rewards naming a decision id that is neither open nor remembered.
    public private(set) var orphans: Int64 = 0

    public init(surfaces: Int, capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        counters = Array(repeating: JoinCounters(), count: surfaces)
    }

    /// False when `id` is open or remembered.
    public func isFree(_ id: String) -> Bool { open[id] == nil && tombstones[id] == nil }

    /// The user's latest open decision on `surface`.
    public func latestOpen(user: String, surface: Int) -> Pending? {
        byUser[UserKey(surface: surface, user: user)].flatMap { open[$0] }
    }

    /// Counts a decision logged again under a registered id.
    public mutating func recordRepeat(surface: Int) { counters[surface].repeated += 1 }

    /// The counters alone, without decisions: what a published view carries of the join,
    /// whose decisions are per user and stay in their partition.
    public func countersOnly() -> RewardJoin {
        var j = RewardJoin(surfaces: counters.count, capacity: capacity)
        j.counters = counters
        j.orphans = orphans
        return j
    }

    /// Adds another shard's counters (surface k of `other` is surface `map[k]` here; nil:
    /// not configured here, not counted).
    public mutating func addCounters(of other: RewardJoin, map: [Int?]) {
        for (k, c) in other.counters.enumerated() {
            if let s = map[k] { counters[s].add(c) }
        }
        orphans += other.orphans
    }

    /// The join with surfaces renumbered: surface k becomes `map[k]` of `surfaces`, and
    /// decisions of a surface mapped to nil (no longer configured) are dropped.
    public func remapped(surfaces: Int, map: [Int?]) -> RewardJoin {
        var j = RewardJoin(surfaces: surfaces, capacity: capacity)
        j.sequence = sequence
        j.orphans = orphans
        for (id, p) in open {
            guard let s = map[p.surface] else { continue }
            var q = p
            q.surface = s
            j.open[id] = q
        }
        for (id, t) in tombstones {
            guard let s = map[t.surface] else { continue }
            var u = t
            u.surface = s
            j.tombstones[id] = u
        }
        for (key, id) in byUser {
            guard let s = map[key.surface] else { continue }
            j.byUser[UserKey(surface: s, user: key.user)] = id
        }
        j.due = due.filter { j.open[$0.id] != nil || j.tombstones[$0.id] != nil }
        j.heapify()
        for (k, c) in counters.enumerated() {
            if let s = map[k] { j.counters[s] = c }
        }
        return j
    }

    /// The join with each open decision's arm renumbered: arm a of surface s becomes
    /// `maps[s][a]`.
    public func remappingArms(_ maps: [[Int]]) -> RewardJoin {
        guard open.values.contains(where: { maps[$0.surface][$0.arm] != $0.arm }) else { return self }
        var j = self
        for (id, p) in open {
            j.open[id]!.arm = maps[p.surface][p.arm]
        }
        return j
    }

    /// The same join under another bound; if it holds more than the new bound, the
    /// next registration makes room as usual.
    public func resized(capacity: Int) -> RewardJoin {
        var j = self
        j.capacity = max(1, capacity)
        return j
    }

    private mutating func heapify() {
        let items = due
        due = []
        for d in items { push(d) }
    }

    /// The decision point of an open decision.
    public func surface(of id: String) -> Int? { open[id]?.surface }

    /// The decision point of a settled decision still remembered.
    public func rememberedSurface(of id: String) -> Int? { tombstones[id]?.surface }

    public var pendingCount: Int { open.count }

    /// Registers a decision, making room first if the join is full.
    public mutating func register(_ p: Pending) {
        while open.count + tombstones.count >= capacity, let first = popDue() {
            if let evicted = open.removeValue(forKey: first.id) {
                unlink(evicted)
                counters[evicted.surface].evicted += 1
            } else {
                tombstones[first.id] = nil
            }
        }
        open[p.id] = p
        byUser[UserKey(surface: p.surface, user: p.user)] = p.id
        push(Due(at: p.windowEnd, sequence: nextSequence(), id: p.id))
        counters[p.surface].decisions += 1
    }

    /// An explicit reward of `value` for decision `id`, which settles it.
    public mutating func reward(decision id: String, value: Double, now: Int64) -> Outcome {
        if var p = open[id] {
            guard now <= p.windowEnd else {
                counters[p.surface].late += 1
                return .late
            }
            p.reward = value
            counters[p.surface].joined += 1
            return .settled(settle(p, rewarded: true))
        }
        if let t = tombstones[id] {
            if now > t.windowEnd && !t.rewarded {
                counters[t.surface].late += 1
                return .late
            }
            counters[t.surface].duplicate += 1
            return .duplicate
        }
        orphans += 1
        return .orphan
    }

    /// A user's event that counts as a reward of `value` on `surfaces`: it goes to the
    /// user's most recent open decision on each. `order` names a purchase, so the same
    /// order never counts twice; `settles` ends the decision (else the value accumulates
    /// until the window ends).
    public mutating func attribute(user: String, surfaces: [Int], value: Double, order: String?, settles: Bool, now: Int64) -> [Settlement] {
        var out: [Settlement] = []
        for s in surfaces {
            guard let id = byUser[UserKey(surface: s, user: user)], var p = open[id], p.windowEnd >= now else { continue }
            if let order {
                guard !p.orders.contains(order) else {
                    counters[s].duplicate += 1
                    continue
                }
                p.orders.append(order)
            }
            counters[s].joined += 1
            if settles {
                p.reward = value
                out.append(settle(p, rewarded: true))
            } else {
                p.reward += value
                open[id] = p
            }
        }
        return out
    }

    /// Ends the windows that are over at `now` and returns their updates; forgets
    /// tombstones one window after their decision's end.
    public mutating func expire(now: Int64) -> [Settlement] {
        var out: [Settlement] = []
        while let first = due.first, first.at < now {
            _ = popDue()
            if let p = open[first.id] {
                counters[p.surface].expired += 1
                out.append(settle(p, rewarded: p.reward != 0))
                // Its window-end entry is used up: the tombstone needs its own. (A decision
                // settled early keeps that entry, which moves its tombstone on when due.)
                push(Due(at: tombstones[p.id]!.forgetAt, sequence: nextSequence(), id: p.id))
            } else if let t = tombstones[first.id] {
                if t.forgetAt <= first.at {
                    tombstones[first.id] = nil
                } else {
                    push(Due(at: t.forgetAt, sequence: nextSequence(), id: first.id))
                }
            }
        }
        return out
    }

    /// Moves `p` from open to remembered and returns its update.
    private mutating func settle(_ p: Pending, rewarded: Bool) -> Settlement {
        open[p.id] = nil
        unlink(p)
        let window = max(1, p.windowEnd - p.decidedAt)
        tombstones[p.id] = Tombstone(surface: p.surface, windowEnd: p.windowEnd, forgetAt: p.windowEnd + window, rewarded: rewarded)
        counters[p.surface].updates += 1
        return Settlement(surface: p.surface, arm: p.arm, features: p.features, reward: p.reward, propensity: p.propensity)
    }

    private mutating func unlink(_ p: Pending) {
        let key = UserKey(surface: p.surface, user: p.user)
        if byUser[key] == p.id { byUser[key] = nil }
    }

    private mutating func nextSequence() -> UInt64 {
        sequence += 1
        return sequence
    }

    private mutating func push(_ d: Due) {
        due.append(d)
        var i = due.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard due[i].before(due[parent]) else { break }
            due.swapAt(i, parent)
            i = parent
        }
    }

    private mutating func popDue() -> Due? {
        guard let first = due.first else { return nil }
        let last = due.removeLast()
        if !due.isEmpty {
            due[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var least = i
                if l < due.count, due[l].before(due[least]) { least = l }
                if r < due.count, due[r].before(due[least]) { least = r }
                if least == i { break }
                due.swapAt(i, least)
                i = least
            }
        }
        return first
    }
}

// MARK: State

extension RewardJoin {
    /// Writes the join canonically, so equal joins give equal bytes in any process
    /// (dictionary order is seeded per process). Decisions and tombstones are written in
    /// the order of the due heap, whose layout follows from the operations alone; that
    /// costs one pass, where sorting a million ids cost more than everything else.
    public func encode(to w: inout StateWriter) {
        var seen = Set<String>(minimumCapacity: open.count + tombstones.count)
        var pending: [Pending] = []
        var settled: [(String, Tombstone)] = []
        pending.reserveCapacity(open.count)
        for d in due where seen.insert(d.id).inserted {
            if let p = open[d.id] {
                pending.append(p)
            } else if let t = tombstones[d.id] {
                settled.append((d.id, t))
            }
        }
        // Every entry has a due entry; should one not, it is still written, in id order.
        if pending.count < open.count { pending += open.values.filter { !seen.contains($0.id) }.sorted { $0.id < $1.id } }
        if settled.count < tombstones.count { settled += tombstones.filter { !seen.contains($0.key) }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
        w.write(sequence)
        w.write(orphans)
        w.writeVarint(UInt64(pending.count))
        for p in pending {
            w.write(p.id)
            w.writeVarint(UInt64(p.surface))
            w.write(p.user)
            w.writeVarint(UInt64(p.arm))
            w.writeVarint(UInt64(p.features.count))
            for v in p.features { w.write(v) }
            w.write(p.propensity)
            w.write(p.decidedAt)
            w.write(p.windowEnd)
            w.write(p.reward)
            w.writeVarint(UInt64(p.orders.count))
            for o in p.orders { w.write(o) }
        }
        w.writeVarint(UInt64(settled.count))
        for (id, t) in settled {
            w.write(id)
            w.writeVarint(UInt64(t.surface))
            w.write(t.windowEnd)
            w.write(t.forgetAt)
            w.write(t.rewarded)
        }
        // byUser points at open decisions only: written in their order.
        let links = pending.filter { byUser[UserKey(surface: $0.surface, user: $0.user)] == $0.id }
        w.writeVarint(UInt64(links.count))
        for p in links {
            w.writeVarint(UInt64(p.surface))
            w.write(p.user)
            w.write(p.id)
        }
        w.writeVarint(UInt64(due.count))
        for d in due {
            w.write(d.at)
            w.write(d.sequence)
            w.write(d.id)
        }
        w.writeVarint(UInt64(counters.count))
        for c in counters {
            for v in c.all { w.write(v) }
        }
    }

    /// Reads a join written by `encode`.
    public init(from r: inout StateReader, capacity: Int) throws(StateFormatError) {
        self.init(surfaces: 0, capacity: capacity)
        sequence = try r.readUInt64()
        orphans = try r.readInt64()
        for _ in 0..<(try r.readCount(elementSize: 8)) {
            let id = try r.readString()
            let s = Int(try r.readVarint())
            let user = try r.readString()
            let arm = Int(try r.readVarint())
            var features: [Double] = []
            for _ in 0..<(try r.readCount(elementSize: 8)) { features.append(try r.readDouble()) }
            var p = Pending(id: id, surface: s, user: user, arm: arm, features: features, propensity: try r.readDouble(), decidedAt: try r.readInt64(), windowEnd: try r.readInt64())
            p.reward = try r.readDouble()
            for _ in 0..<(try r.readCount()) { p.orders.append(try r.readString()) }
            open[id] = p
        }
        for _ in 0..<(try r.readCount(elementSize: 8)) {
            let id = try r.readString()
            let s = Int(try r.readVarint())
            tombstones[id] = Tombstone(surface: s, windowEnd: try r.readInt64(), forgetAt: try r.readInt64(), rewarded: try r.readBool())
        }
        for _ in 0..<(try r.readCount(elementSize: 3)) {
            let s = Int(try r.readVarint())
            let user = try r.readString()
            byUser[UserKey(surface: s, user: user)] = try r.readString()
        }
        for _ in 0..<(try r.readCount(elementSize: 16)) {
            due.append(Due(at: try r.readInt64(), sequence: try r.readUInt64(), id: try r.readString()))
        }
        let n = try r.readCount(elementSize: 64)
        for _ in 0..<n {
            var v: [Int64] = []
            for _ in 0..<8 { v.append(try r.readInt64()) }
            counters.append(JoinCounters(v))
        }
        let surfaces = counters.count
        let pendingSurfaces = open.values.map(\.surface) + tombstones.values.map(\.surface) + byUser.keys.map(\.surface)
        guard pendingSurfaces.allSatisfy({ $0 < surfaces }) else { throw StateFormatError("join refers to a surface beyond its \(surfaces)") }
    }
}
