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

    public init() {}
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

    public let capacity: Int
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

    /// False when `id` is open or remembered (a client-chosen id must be new).
    public func isFree(_ id: String) -> Bool { open[id] == nil && tombstones[id] == nil }

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
    /// Writes the join. Dictionaries are written in their own order, not sorted: a join
    /// can hold a million decisions and is saved while the engine runs, and sorting the
    /// ids cost more than everything else (equal joins may encode differently; compare
    /// decoded joins).
    func encode(to w: inout StateWriter) {
        w.write(sequence)
        w.write(orphans)
        w.writeVarint(UInt64(open.count))
        for p in open.values {
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
        w.writeVarint(UInt64(tombstones.count))
        for (id, t) in tombstones {
            w.write(id)
            w.writeVarint(UInt64(t.surface))
            w.write(t.windowEnd)
            w.write(t.forgetAt)
            w.write(t.rewarded)
        }
        w.writeVarint(UInt64(byUser.count))
        for (key, id) in byUser {
            w.writeVarint(UInt64(key.surface))
            w.write(key.user)
            w.write(id)
        }
        w.writeVarint(UInt64(due.count))
        for d in due {
            w.write(d.at)
            w.write(d.sequence)
            w.write(d.id)
        }
        w.writeVarint(UInt64(counters.count))
        for c in counters {
            for v in [c.decisions, c.joined, c.duplicate, c.late, c.expired, c.evicted, c.updates] { w.write(v) }
        }
    }

    /// Reads a join written by `encode`. `surfaceMap[old]` is the surface's index now,
    /// nil when it is no longer configured: its decisions are dropped.
    init(from r: inout StateReader, capacity: Int, surfaces: Int, surfaceMap: [Int?]) throws(StateFormatError) {
        self.init(surfaces: surfaces, capacity: capacity)
        func surface(_ r: inout StateReader) throws(StateFormatError) -> Int? {
            let old = Int(try r.readVarint())
            guard old < surfaceMap.count else { throw StateFormatError("join refers to surface \(old) of \(surfaceMap.count)") }
            return surfaceMap[old]
        }
        sequence = try r.readUInt64()
        orphans = try r.readInt64()
        for _ in 0..<(try r.readCount(elementSize: 8)) {
            let id = try r.readString()
            let s = try surface(&r)
            let user = try r.readString()
            let arm = Int(try r.readVarint())
            var features: [Double] = []
            for _ in 0..<(try r.readCount(elementSize: 8)) { features.append(try r.readDouble()) }
            var p = Pending(id: id, surface: s ?? 0, user: user, arm: arm, features: features, propensity: try r.readDouble(), decidedAt: try r.readInt64(), windowEnd: try r.readInt64())
            p.reward = try r.readDouble()
            for _ in 0..<(try r.readCount()) { p.orders.append(try r.readString()) }
            if s != nil { open[id] = p }
        }
        for _ in 0..<(try r.readCount(elementSize: 8)) {
            let id = try r.readString()
            let s = try surface(&r)
            let t = Tombstone(surface: s ?? 0, windowEnd: try r.readInt64(), forgetAt: try r.readInt64(), rewarded: try r.readBool())
            if s != nil { tombstones[id] = t }
        }
        for _ in 0..<(try r.readCount(elementSize: 3)) {
            let s = try surface(&r)
            let user = try r.readString()
            let id = try r.readString()
            if let s { byUser[UserKey(surface: s, user: user)] = id }
        }
        for _ in 0..<(try r.readCount(elementSize: 16)) {
            due.append(Due(at: try r.readInt64(), sequence: try r.readUInt64(), id: try r.readString()))
        }
        let n = try r.readCount(elementSize: 56)
        guard n == surfaceMap.count else { throw StateFormatError("join has counters for \(n) surfaces, \(surfaceMap.count) expected") }
        for k in 0..<n {
            var c = JoinCounters()
            c.decisions = try r.readInt64(); c.joined = try r.readInt64(); c.duplicate = try r.readInt64(); c.late = try r.readInt64()
            c.expired = try r.readInt64(); c.evicted = try r.readInt64(); c.updates = try r.readInt64()
            if let s = surfaceMap[k] { counters[s] = c }
        }
    }
}
