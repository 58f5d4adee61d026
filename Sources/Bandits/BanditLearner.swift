import Common
import Events
import StateFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a partition needs of a decision point's configuration to learn for it.
public struct SurfaceLearning: Sendable, Equatable {
    public var name: String
    public var policy: PolicySpec
    /// Context feature names, in the order of the model's coefficients.
    public var features: [String]
    /// Per-arm feature count (shared linear payoff).
    public var armFeatureCount: Int
    public var reward: RewardDefinition
    public var attributionWindowMillis: Int64

    public init(name: String, policy: PolicySpec, features: [String], armFeatureCount: Int, reward: RewardDefinition, attributionWindowMillis: Int64) {
        self.name = name
        self.policy = policy
        self.features = features
        self.armFeatureCount = armFeatureCount
        self.reward = reward
        self.attributionWindowMillis = attributionWindowMillis
    }

    /// The length of the vectors a linear model learns on (0 for context-free policies).
    public var dimension: Int {
        policy.isContextual ? policy.payoff.dimension(contextFeatures: features.count, armFeatures: armFeatureCount) : 0
    }

    /// The vector a decision's reward is learnt on: the context in feature order (missing
    /// features are 0, as when deciding), with the arm's features for a shared payoff.
    public func learnVector(context: [String: Double], armFeatures: [Double]) -> [Double]? {
        guard policy.isContextual else { return [] }
        let x = features.map { context[$0] ?? 0 }
        if policy.payoff == .shared, armFeatures.count != armFeatureCount { return nil }
        let input = policy.payoff.input(eligible: [0], context: x, armFeatures: [armFeatures])
        return policy.payoff.learnVector(input, index: 0)
    }
}

/// The decision points' learning in one partition of the event stream: the reward join
/// of the partition's users and each surface's estimator.
///
/// Decisions reach it as `impression` events naming their surface (the decision log is
/// the events topic, keyed by user), so a decision and every reward of its user meet in
/// the same partition, in log order, whichever process answered and whichever consumed.
/// A decision updates its estimator exactly once: when a reward settles it or when its
/// attribution window ends. Time is the partition's stream time (the latest event
/// timestamp it has seen), so a replay of the same records learns exactly the same.
///
/// The join is per user and stays in the partition (and its snapshot); a published view
/// carries the estimators and the counters (`shared`), which merge across partitions.
public struct BanditLearner: DecisionMaker {
    public static let name = "bandits.decisions"
    public static let stateVersion: UInt16 = 1

    /// One decision point's learnt state.
    public struct Surface: Sendable {
        public var learning: SurfaceLearning
        /// Arm names in the order the estimator's arms were added (first seen).
        public internal(set) var arms: [String] = []
        var armIndex: [String: Int] = [:]
        public private(set) var estimator: any Estimator

        init(_ learning: SurfaceLearning, estimator: any Estimator) {
            self.learning = learning
            self.estimator = estimator
        }

        /// The estimator's index of arm `name`, added when new.
        mutating func arm(_ name: String) -> Int {
            if let i = armIndex[name] { return i }
            let i = estimator.addArm()
            arms.append(name)
            armIndex[name] = i
            return i
        }

        public func index(of arm: String) -> Int? { armIndex[arm] }

        mutating func learn(_ x: RewardJoin.Settlement) {
            estimator.learn(arm: x.arm, features: x.features, reward: x.reward, propensity: x.propensity)
        }

        /// Adds another shard's state for the same surface (arms mapped by name).
        mutating func merge(_ other: Surface) -> Bool {
            let map = other.arms.map { arm($0) }
            return estimator.merge(any: other.estimator, arms: map)
        }
    }

    public private(set) var surfaces: [Surface]
    private var surfaceIndex: [String: Int] = [:]
    public private(set) var join: RewardJoin
    /// The latest event time seen: the partition's clock for attribution windows.
    public private(set) var clock: Int64 = 0
    /// Impressions naming a surface that is not configured here, or whose features do not
    /// fit it: not learnt.
    public private(set) var unlearnable: Int64 = 0
    private var byReward = RewardSurfaces([])

    /// - Parameters:
    ///   - partitions: the partition count of the stream. A discount γ per update of the
    ///     whole stream becomes γ^partitions per update of one partition, so that an
    ///     observation decays alike however the updates are spread.
    ///   - capacity: the join's bound (open and remembered decisions).
    public init(surfaces: [SurfaceLearning], partitions: Int = 1, capacity: Int = 1_000_000) throws(PolicySpecError) {
        self.surfaces = []
        for s in surfaces {
            var spec = s.policy
            if spec.estimator == .counts, partitions > 1 {
                spec.parameters["discount"] = pow(spec.value("discount"), Double(partitions))
            }
            self.surfaces.append(Surface(s, estimator: try spec.makeEstimator(dimension: s.dimension)))
        }
        join = RewardJoin(surfaces: surfaces.count, capacity: capacity)
        reindex()
    }

    private mutating func reindex() {
        surfaceIndex = [:]
        for (i, s) in surfaces.enumerated() { surfaceIndex[s.learning.name] = i }
        byReward = RewardSurfaces(surfaces.map(\.learning.reward))
    }

    public func surface(named name: String) -> Surface? { surfaceIndex[name].map { surfaces[$0] } }

    /// Decisions, explicit rewards and clicks, and the event types some surface counts as
    /// its reward. They alone move the partition's clock: a window ends when a later event
    /// of these types arrives, the same in every replay.
    public var reads: Set<EventKind> {
        guard !surfaces.isEmpty else { return [] }
        var kinds: Set<EventKind> = [.impression, .click, .reward]
        if !byReward.purchase.isEmpty || !byReward.revenue.isEmpty { kinds.insert(.purchase) }
        if !byReward.view.isEmpty { kinds.insert(.view) }
        if !byReward.addToCart.isEmpty { kinds.insert(.addToCart) }
        return kinds
    }

    // MARK: Learning

    public mutating func learn(_ event: Event) {
        let now = event.timestamp
        switch event.body {
        case .impression(let i):
            register(i, at: now)
        case .click(let c):
            if let id = c.decisionID {
                // Only click surfaces learn from clicks; a click naming another surface's
                // decision is not a reward there.
                let s = join.surface(of: id) ?? join.rememberedSurface(of: id)
                if s == nil || byReward.click.contains(s!) {
                    if case .settled(let x) = join.reward(decision: id, value: 1, now: now) { learn([x]) }
                }
            } else if !byReward.click.isEmpty {
                learn(join.attribute(user: c.user, surfaces: byReward.click, value: 1, order: nil, settles: true, now: now))
            }
        case .reward(let r):
            if case .settled(let x) = join.reward(decision: r.decisionID, value: r.value, now: now) { learn([x]) }
        case .purchase(let p):
            if !byReward.purchase.isEmpty {
                learn(join.attribute(user: p.user, surfaces: byReward.purchase, value: 1, order: p.orderID, settles: true, now: now))
            }
            if !byReward.revenue.isEmpty {
                learn(join.attribute(user: p.user, surfaces: byReward.revenue, value: p.revenue.units, order: p.orderID, settles: false, now: now))
            }
        case .view(let v):
            if !byReward.view.isEmpty {
                learn(join.attribute(user: v.user, surfaces: byReward.view, value: 1, order: nil, settles: true, now: now))
            }
        case .addToCart(let v):
            if !byReward.addToCart.isEmpty {
                learn(join.attribute(user: v.user, surfaces: byReward.addToCart, value: 1, order: nil, settles: true, now: now))
            }
        default:
            break
        }
        if now > clock {
            clock = now
            learn(join.expire(now: clock))
        }
    }

    private mutating func register(_ i: Impression, at ts: Int64) {
        // A price quote is the pricing surfaces' (`PricingLearner`), not a bandit's.
        guard let name = i.surface, i.price == nil else { return }
        guard let k = surfaceIndex[name], let x = surfaces[k].learning.learnVector(context: i.context, armFeatures: i.armFeatures) else {
            unlearnable += 1
            return
        }
        guard join.isFree(i.decisionID) else {
            join.recordRepeat(surface: join.surface(of: i.decisionID) ?? join.rememberedSurface(of: i.decisionID) ?? k)
            return
        }
        let arm = surfaces[k].arm(i.action)
        let window = surfaces[k].learning.attributionWindowMillis
        join.register(RewardJoin.Pending(
            id: i.decisionID, surface: k, user: i.user, arm: arm, features: x, propensity: i.propensity ?? 1, decidedAt: ts,
            windowEnd: ts + window))
    }

    private mutating func learn(_ settled: [RewardJoin.Settlement]) {
        for x in settled { surfaces[x.surface].learn(x) }
    }

    /// One open decision of a user: what a per-user read shows.
    public struct OpenDecision: Sendable, Equatable {
        public var id: String
        public var surface: String
        public var action: String
        public var windowEnd: Int64
    }

    /// The user's latest open decision on each surface (the one its rewards go to).
    public func openDecisions(user: String) -> [OpenDecision] {
        surfaces.indices.compactMap { k in
            join.latestOpen(user: user, surface: k).map { p in
                OpenDecision(id: p.id, surface: surfaces[k].learning.name, action: surfaces[k].arms[p.arm], windowEnd: p.windowEnd)
            }
        }
    }

    // MARK: Merging

    public mutating func merge(_ other: BanditLearner) {
        var map: [Int] = []
        for o in other.surfaces {
            if let k = surfaceIndex[o.learning.name], surfaces[k].merge(o) {
                map.append(k)
            } else if let k = surfaceIndex[o.learning.name] {
                // Another configuration's state: its counters still say what happened.
                map.append(k)
            } else {
                surfaces.append(o)
                reindex()
                map.append(surfaces.count - 1)
                join = join.remapped(surfaces: surfaces.count, map: Array(0..<(surfaces.count - 1)))
            }
        }
        join.addCounters(of: other.join, map: map)
        clock = max(clock, other.clock)
        unlearnable += other.unlearnable
    }

    /// The estimators and counters, without the per-user join.
    public var shared: BanditLearner? {
        var s = self
        s.join = join.countersOnly()
        return s
    }

    public mutating func adopt(configurationOf fresh: BanditLearner) -> [String] {
        var notes: [String] = []
        var kept = fresh.surfaces
        var map: [Int?] = []
        for old in surfaces {
            guard let k = fresh.surfaceIndex[old.learning.name] else {
                notes.append("surface '\(old.learning.name)' is no longer configured: its state is dropped")
                map.append(nil)
                continue
            }
            let new = fresh.surfaces[k]
            guard new.learning.policy.estimator == old.learning.policy.estimator, new.estimator.sameSettings(any: old.estimator),
                new.learning.dimension == old.learning.dimension, new.learning.reward == old.learning.reward
            else {
                notes.append("surface '\(old.learning.name)': its estimator, features or reward changed: it starts fresh")
                map.append(nil)
                continue
            }
            var s = old
            s.learning = new.learning
            kept[k] = s
            map.append(k)
        }
        surfaces = kept
        join = join.remapped(surfaces: surfaces.count, map: map)
        join = join.resized(capacity: fresh.join.capacity)
        reindex()
        return notes
    }

    // MARK: Deciding

    /// A decision point's arms as the catalogue lists them now, and its policy as
    /// configured now: what `prepare` turns the learnt estimator into.
    public struct Catalogue: Sendable {
        public var spec: PolicySpec
        public var arms: [ArmDefinition]
        /// The feature dimension of a linear model (0 for context-free policies).
        public var dimension: Int
        public init(spec: PolicySpec, arms: [ArmDefinition], dimension: Int) {
            self.spec = spec
            self.arms = arms
            self.dimension = dimension
        }
    }

    /// Each surface's policy ready to decide: the configured exploration over the learnt
    /// estimator, its arms in catalogue order with their priors. Not state: made from it.
    public private(set) var policies: [String: BanditPolicy] = [:]

    /// Makes the policies decisions read, once per published view rather than per
    /// decision. A surface in the catalogue with no learnt state decides on an empty
    /// estimator; learnt arms the catalogue does not list are left out.
    public mutating func prepare(_ catalogue: [String: Catalogue]) throws(PolicySpecError) {
        var made: [String: BanditPolicy] = [:]
        for (name, c) in catalogue {
            var policy = try c.spec.make(dimension: c.dimension)
            for arm in c.arms { _ = policy.addArm(prior: arm.prior) }
            if let s = surface(named: name) {
                var position: [String: Int] = [:]
                for (i, arm) in c.arms.enumerated() { position[arm.name] = i }
                var aligned = s.estimator.emptyCopy()
                for _ in c.arms { _ = aligned.addArm() }
                if aligned.merge(any: s.estimator, arms: s.arms.map { position[$0] ?? -1 }) {
                    policy = policy.with(estimator: aligned)
                }
            }
            made[name] = policy
        }
        policies = made
    }

    public struct Request: Sendable {
        public var surface: String
        public var input: DecisionInput
        /// Length of the ranked list (1: the choice only).
        public var rankingLength: Int

        public init(surface: String, input: DecisionInput, rankingLength: Int = 1) {
            self.surface = surface
            self.input = input
            self.rankingLength = rankingLength
        }
    }

    public struct Answer: Sendable, Equatable {
        public var choice: Choice
        /// Catalogue indices, the chosen arm first.
        public var ranking: [Int]
        /// Rewards learnt on the surface so far.
        public var updates: Int64
    }

    public struct Refusal: Error, Sendable {
        public var message: String
    }

    /// Decides on the prepared policy of `request.surface`.
    public func decide(_ request: Request, random: inout SeededRandom) throws(Refusal) -> Answer {
        guard let policy = policies[request.surface] else { throw Refusal(message: "surface '\(request.surface)' is not prepared") }
        let choice = policy.choose(request.input, random: &random)
        let ranking = policy.ranking(request.input, first: choice.arm, count: min(request.rankingLength, request.input.eligible.count))
        return Answer(choice: choice, ranking: ranking, updates: policy.estimator.updates)
    }
}

/// The surfaces that learn from each kind of event, by index.
struct RewardSurfaces: Sendable {
    var click: [Int] = []
    var purchase: [Int] = []
    var revenue: [Int] = []
    var view: [Int] = []
    var addToCart: [Int] = []

    init(_ definitions: [RewardDefinition]) {
        for (i, d) in definitions.enumerated() {
            switch d {
            case .click: click.append(i)
            case .purchase: purchase.append(i)
            case .revenue: revenue.append(i)
            case .event(.view): view.append(i)
            case .event(.addToCart): addToCart.append(i)
            case .event: break
            }
        }
    }
}

// MARK: State

extension BanditLearner {
    /// Canonical: each surface's arms are written in name order (learnt in the order
    /// they were first seen, which depends on how the stream was split), so equal state
    /// encodes to equal bytes however it was sharded and merged.
    public func encode(to w: inout StateWriter) {
        var maps: [[Int]] = []
        let canonical = surfaces.map { s -> Surface in
            let order = s.arms.indices.sorted { s.arms[$0] < s.arms[$1] }
            var map = [Int](repeating: 0, count: s.arms.count)
            for (new, old) in order.enumerated() { map[old] = new }
            maps.append(map)
            guard order != Array(s.arms.indices) else { return s }
            var sorted = Surface(s.learning, estimator: s.estimator.emptyCopy())
            for k in order { _ = sorted.arm(s.arms[k]) }
            _ = sorted.merge(s)
            return sorted
        }
        let join = self.join.remappingArms(maps)
        w.write(clock)
        w.write(unlearnable)
        w.writeVarint(UInt64(canonical.count))
        for s in canonical {
            w.write(s.learning.name)
            w.write(section: s.learning.policy)
            w.writeVarint(UInt64(s.learning.features.count))
            for f in s.learning.features { w.write(f) }
            w.writeVarint(UInt64(s.learning.armFeatureCount))
            w.write(s.learning.reward.name)
            w.write(s.learning.attributionWindowMillis)
            w.writeVarint(UInt64(s.arms.count))
            for a in s.arms { w.write(a) }
            EstimatorKinds.write(s.estimator, to: &w)
        }
        w.write(Int64(join.capacity))
        join.encode(to: &w)
    }

    public init(from r: inout StateReader, version: UInt16) throws(StateFormatError) {
        let clock = try r.readInt64()
        let unlearnable = try r.readInt64()
        var surfaces: [Surface] = []
        for _ in 0..<(try r.readCount(elementSize: 8)) {
            let name = try r.readString()
            let policy = try r.read(section: PolicySpec.self)
            var features: [String] = []
            for _ in 0..<(try r.readCount()) { features.append(try r.readString()) }
            let armFeatureCount = Int(try r.readVarint())
            let rewardName = try r.readString()
            guard let reward = RewardDefinition(name: rewardName) else { throw StateFormatError("unknown reward '\(rewardName)'") }
            let window = try r.readInt64()
            var arms: [String] = []
            for _ in 0..<(try r.readCount()) { arms.append(try r.readString()) }
            let estimator = try EstimatorKinds.read(&r)
            guard estimator.armCount == arms.count else { throw StateFormatError("surface '\(name)': \(arms.count) arm names for \(estimator.armCount) arms") }
            var s = Surface(
                SurfaceLearning(name: name, policy: policy, features: features, armFeatureCount: armFeatureCount, reward: reward, attributionWindowMillis: window),
                estimator: estimator)
            s.arms = arms
            for (i, a) in arms.enumerated() { s.armIndex[a] = i }
            surfaces.append(s)
        }
        let capacity = try r.readInt64()
        guard capacity > 0, capacity <= 1 << 40 else { throw StateFormatError("join capacity \(capacity) out of range") }
        let join = try RewardJoin(from: &r, capacity: Int(capacity))
        guard join.counters.count == surfaces.count else { throw StateFormatError("join counts \(join.counters.count) surfaces, the state \(surfaces.count)") }
        self.surfaces = surfaces
        self.join = join
        self.clock = clock
        self.unlearnable = unlearnable
        reindex()
    }
}

extension BanditLearner {
    /// Per surface: the arms learnt and the rewards learnt.
    public var gauges: [LearnerGauge] {
        surfaces.flatMap { s in
            [
                LearnerGauge("surface_arms_learnt", Double(s.arms.count), labels: ["surface": s.learning.name]),
                LearnerGauge("surface_model_updates", Double(s.estimator.updates), labels: ["surface": s.learning.name]),
            ]
        }
    }

    public func summarize(into w: inout JSONWriter, top: Int) {
        w.beginObject()
        w.key("unlearnable_impressions"); w.int(unlearnable)
        w.key("open_decisions"); w.int(Int64(join.pendingCount))
        w.key("orphan_rewards"); w.int(join.orphans)
        w.key("surfaces"); w.beginArray()
        for (k, s) in surfaces.enumerated() {
            let c = join.counters[k]
            w.beginObject()
            w.key("surface"); w.string(s.learning.name)
            w.key("estimator"); w.string(type(of: s.estimator).kind)
            w.key("arms"); w.int(Int64(s.arms.count))
            w.key("model_updates"); w.int(s.estimator.updates)
            for (name, v) in zip(JoinCounters.names, c.all) { w.key(name); w.int(v) }
            w.endObject()
        }
        w.endArray()
        w.endObject()
    }
}
