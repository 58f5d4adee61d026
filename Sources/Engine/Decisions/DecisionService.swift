import Bandits
import Common
import Events
import Logging
import StateFormat
import Stream
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A decision request, validated by the caller's parser for syntax and here for meaning.
public struct DecisionRequest: Sendable {
    public var surface: String
    public var user: String
    /// Context feature values by name; features not given are 0.
    public var context: [String: Double]
    /// Arms allowed for this request; nil: every active arm.
    public var eligible: [String]?
    /// A client-chosen id (idempotency key of the decision); nil: one is made.
    public var decisionID: String?
    /// Length of the ranked list to return (1: the chosen arm only).
    public var rankingLength: Int

    public init(surface: String, user: String, context: [String: Double] = [:], eligible: [String]? = nil, decisionID: String? = nil, rankingLength: Int = 1) {
        self.surface = surface
        self.user = user
        self.context = context
        self.eligible = eligible
        self.decisionID = decisionID
        self.rankingLength = rankingLength
    }
}

/// What a decision answers, and what the decision log records.
public struct Decision: Sendable, Equatable {
    public var id: String
    public var surface: String
    public var user: String
    public var action: String
    /// The probability the policy chose `action` with, given this request.
    public var propensity: Double
    /// nil when exact; else the number of posterior draws it was estimated from.
    public var propensityDraws: Int?
    public var policy: String
    /// Bumped by every change of arms or parameters.
    public var policyVersion: Int64
    /// Reward updates the policy had learnt when it decided.
    public var modelUpdates: Int64
    /// The chosen arm first, then the runners-up by the policy's estimate.
    public var ranking: [String]
    public var eligible: [String]
    public var context: [String: Double]
    /// Epoch milliseconds.
    public var timestamp: Int64
}

/// Why a request or an admin call was refused; the HTTP layer maps `kind` to a status.
public struct DecisionError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case invalid, notFound, conflict, unavailable
    }
    public var kind: Kind
    public var message: String
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
    public var description: String { message }
}

/// The decision points: their policies, the decisions they make and the rewards that
/// teach them.
///
/// Threads: HTTP handlers decide concurrently against published, immutable views of the
/// policies (no lock is held while a policy computes) and hand the decision to the join
/// through a small inbox. The engine thread owns the join: it drains the inbox, folds in
/// rewards (`observe`, `tick`), updates the working policies and publishes new views on
/// `tick`. Because only the engine thread writes the join, it can encode the join for a
/// checkpoint under a read lock, while decisions go on. Admin changes publish at once.
public final class DecisionService: Sendable {
    /// An immutable view of one surface that decisions are made against.
    final class View: Sendable {
        let index: Int
        let config: SurfaceConfiguration
        let policy: SurfacePolicy
        let arms: ArmTable
        let version: Int64
        let updates: Int64

        init(index: Int, _ s: SurfaceState) {
            self.index = index
            config = s.config
            policy = s.policy
            arms = s.arms
            version = s.version
            updates = s.updates
        }
    }

    /// Arm names, their policy indices and whether each is active.
    struct ArmTable: Sendable, Equatable {
        var names: [String] = []
        var index: [String: Int] = [:]
        var active: [Bool] = []
        var features: [[Double]] = []

        var activeIndices: [Int] { active.indices.filter { active[$0] } }

        mutating func append(_ name: String, features f: [Double]) {
            index[name] = names.count
            names.append(name)
            active.append(true)
            features.append(f)
        }
    }

    struct SurfaceState: Sendable {
        var config: SurfaceConfiguration
        var policy: SurfacePolicy
        var arms = ArmTable()
        var version: Int64 = 1
        var updates: Int64 = 0
    }

    struct Working: Sendable {
        var surfaces: [SurfaceState]
        var join: RewardJoin
    }

    struct Policies: Sendable {
        var surfaces: [SurfaceState]
        var dirty: Set<Int> = []
    }

    public let seed: UInt64
    /// Prefix of generated decision ids: instance name and start time, so ids stay
    /// unique across processes and restarts.
    public let idPrefix: String
    private let log: any DecisionLog
    private let clock: @Sendable () -> Int64
    private let logger: Logger
    private let policies: Mutex<Policies>
    private let join: ReadWriteLocked<RewardJoin>
    /// Decisions made but not yet in the join (the engine thread drains it).
    private let inbox = Mutex<[RewardJoin.Pending]>([])
    private let inboxCount = Atomic<Int>(0)
    private let views: Mutex<[String: View]>
    private let sequence = Atomic<UInt64>(0)
    private let closed = Atomic<Bool>(false)
    private let metrics: DecisionMetrics
    private let learners: Learners

    /// - Parameters:
    ///   - restoring: state from `encodeState()` of an earlier run, if any.
    ///   - clock: epoch milliseconds (decision times and reward windows).
    public init(
        surfaces: [SurfaceConfiguration], seed: UInt64, instance: String, maxPending: Int, log: any DecisionLog,
        restoring: [UInt8]? = nil, logger: Logger, clock: @escaping @Sendable () -> Int64 = { WallClock.millis }
    ) throws(ConfigurationError) {
        self.seed = seed
        self.log = log
        self.clock = clock
        self.logger = logger
        idPrefix = "\(instance)-\(String(clock(), radix: 36))-"
        var states: [SurfaceState] = []
        for config in surfaces {
            try config.validate()
            let policy: SurfacePolicy
            do { policy = try config.policy.make(dimension: config.dimension) } catch {
                throw ConfigurationError("surface '\(config.name)': \(error.message)")
            }
            var s = SurfaceState(config: config, policy: policy)
            for arm in config.arms {
                _ = s.policy.addArm(prior: arm.prior)
                s.arms.append(arm.name, features: arm.features)
            }
            states.append(s)
        }
        var w = Working(surfaces: states, join: RewardJoin(surfaces: states.count, capacity: maxPending))
        if let restoring {
            try DecisionState.restore(restoring, into: &w, logger: logger)
        }
        metrics = DecisionMetrics(surfaces: w.surfaces.map(\.config.name))
        learners = Learners(w.surfaces.map(\.config.reward))
        var published: [String: View] = [:]
        for (i, s) in w.surfaces.enumerated() { published[s.config.name] = View(index: i, s) }
        policies = Mutex(Policies(surfaces: w.surfaces))
        join = ReadWriteLocked(w.join)
        views = Mutex(published)
    }

    // MARK: Deciding

    /// Decides for `request`, logs the decision and registers it for its reward.
    public func decide(_ request: DecisionRequest) throws(DecisionError) -> Decision {
        guard !closed.load(ordering: .acquiring) else { throw DecisionError(.unavailable, "shutting down: no new decisions") }
        guard let view = views.withLock({ $0[request.surface] }) else {
            throw DecisionError(.notFound, "no surface '\(clipped(request.surface))'; surfaces: \(surfaceNames.joined(separator: ", "))")
        }
        let config = view.config
        guard !request.user.isEmpty, request.user.utf8.count <= EventDecoder.maximumIDBytes else {
            throw DecisionError(.invalid, "'user' must be 1–\(EventDecoder.maximumIDBytes) bytes")
        }
        // Context: known features only, so a misspelt feature is an error, not a silent 0.
        var context = [Double](repeating: 0, count: config.features.count)
        for (name, value) in request.context {
            guard let k = config.features.firstIndex(of: name) else {
                let known = config.features.isEmpty ? "none" : config.features.joined(separator: ", ")
                throw DecisionError(.invalid, "unknown context feature '\(clipped(name))'; surface '\(config.name)' uses: \(known)")
            }
            guard value.isFinite else { throw DecisionError(.invalid, "context feature '\(name)' must be a finite number") }
            context[k] = value
        }
        var eligible: [Int]
        if let names = request.eligible {
            guard !names.isEmpty else { throw DecisionError(.invalid, "'eligible' must name at least one arm") }
            eligible = []
            eligible.reserveCapacity(names.count)
            var seen = Set<Int>()
            for name in names {
                guard let i = view.arms.index[name] else {
                    throw DecisionError(.invalid, "unknown arm '\(clipped(name))' in 'eligible' of surface '\(config.name)'")
                }
                guard view.arms.active[i] else { throw DecisionError(.invalid, "arm '\(name)' of surface '\(config.name)' has been removed") }
                guard seen.insert(i).inserted else { throw DecisionError(.invalid, "arm '\(name)' appears twice in 'eligible'") }
                eligible.append(i)
            }
        } else {
            eligible = view.arms.activeIndices
            guard !eligible.isEmpty else { throw DecisionError(.conflict, "surface '\(config.name)' has no active arms") }
        }
        guard request.rankingLength >= 1 else { throw DecisionError(.invalid, "'ranking' must be at least 1") }
        let id: String
        if let given = request.decisionID {
            guard !given.isEmpty, given.utf8.count <= EventDecoder.maximumIDBytes else {
                throw DecisionError(.invalid, "'decision_id' must be 1–\(EventDecoder.maximumIDBytes) bytes")
            }
            // The inbox is checked too: a decision may not have reached the join yet.
            guard join.read({ $0.isFree(given) }), !inbox.withLock({ $0.contains { $0.id == given } }) else {
                throw DecisionError(.conflict, "decision '\(clipped(given))' already exists")
            }
            id = given
        } else {
            id = idPrefix + String(sequence.wrappingAdd(1, ordering: .relaxed).newValue, radix: 36)
        }

        let contextual = config.policy.algorithm.isContextual
        let input = contextual
            ? config.policy.payoff.input(eligible: eligible, context: context, armFeatures: view.arms.features) : DecisionInput(eligible: eligible)
        var random = SeededRandom(decisionID: id, salt: seed)
        let choice = view.policy.choose(input, random: &random)
        let learnVector = contextual ? config.policy.payoff.learnVector(input, index: eligible.firstIndex(of: choice.arm)!) : []
        let ranking = view.policy.ranking(input, first: choice.arm, count: min(request.rankingLength, eligible.count))
        let now = clock()
        let decision = Decision(
            id: id, surface: config.name, user: request.user, action: view.arms.names[choice.arm],
            propensity: choice.propensity, propensityDraws: choice.propensityDraws, policy: view.policy.name,
            policyVersion: view.version, modelUpdates: view.updates, ranking: ranking.map { view.arms.names[$0] },
            eligible: eligible.map { view.arms.names[$0] }, context: request.context, timestamp: now)

        // Logged before it is registered or answered: a decision that cannot be logged
        // is refused, so every decision acted upon is in the log.
        do {
            try log.append(key: Array(request.user.utf8), record: DecisionRecord.encode(decision))
        } catch {
            metrics.logFailures.increment()
            throw DecisionError(.unavailable, "the decision log is not accepting records: \(error)")
        }
        let pending = RewardJoin.Pending(
            id: id, surface: view.index, user: request.user, arm: choice.arm, features: learnVector,
            propensity: choice.propensity, decidedAt: now, windowEnd: now + config.attributionWindowMillis)
        inbox.withLock { $0.append(pending) }
        inboxCount.add(1, ordering: .releasing)
        metrics.decided(view.index)
        return decision
    }

    public var surfaceNames: [String] { views.withLock { $0.values.sorted { $0.index < $1.index }.map(\.config.name) } }

    // MARK: Learning (engine thread)

    /// Folds one event into the join; rewards that settle decisions update policies.
    public func observe(_ event: Event) {
        // Called for every event on the engine thread: event types no surface learns
        // from return before any lock or allocation.
        switch event.body {
        case .click, .reward: break
        case .purchase: guard !learners.purchase.isEmpty || !learners.revenue.isEmpty else { return }
        case .view: guard !learners.view.isEmpty else { return }
        case .addToCart: guard !learners.addToCart.isEmpty else { return }
        default: return
        }
        let now = clock()
        drainInbox()
        let settled: [RewardJoin.Settlement] = join.write { j in
            var settled: [RewardJoin.Settlement] = []
            switch event.body {
            case .click(let c):
                if let id = c.decisionID {
                    // Only click surfaces learn from clicks; a click naming another
                    // surface's decision is not a reward there.
                    let s = j.surface(of: id) ?? j.rememberedSurface(of: id)
                    if s == nil || learners.click.contains(s!) {
                        if case .settled(let x) = j.reward(decision: id, value: 1, now: now) { settled.append(x) }
                    }
                } else {
                    settled += j.attribute(user: c.user, surfaces: learners.click, value: 1, order: nil, settles: true, now: now)
                }
            case .reward(let r):
                if case .settled(let x) = j.reward(decision: r.decisionID, value: r.value, now: now) { settled.append(x) }
            case .purchase(let p):
                settled += j.attribute(user: p.user, surfaces: learners.purchase, value: 1, order: p.orderID, settles: true, now: now)
                settled += j.attribute(user: p.user, surfaces: learners.revenue, value: p.revenue.units, order: p.orderID, settles: false, now: now)
            case .view(let v):
                settled += j.attribute(user: v.user, surfaces: learners.view, value: 1, order: nil, settles: true, now: now)
            case .addToCart(let v):
                settled += j.attribute(user: v.user, surfaces: learners.addToCart, value: 1, order: nil, settles: true, now: now)
            default:
                break
            }
            return settled
        }
        learn(settled)
    }

    /// Ends attribution windows that are over and publishes what was learnt.
    public func tick() {
        let now = clock()
        drainInbox()
        learn(join.write { $0.expire(now: now) })
        let changed: [View] = policies.withLock { p in
            defer { p.dirty = [] }
            return p.dirty.sorted().map { View(index: $0, p.surfaces[$0]) }
        }
        if !changed.isEmpty {
            views.withLock { v in
                for view in changed { v[view.config.name] = view }
            }
        }
        metrics.publish(counters)
    }

    /// The surfaces that learn from each kind of event, by index. Reward definitions are
    /// fixed at start (surfaces are not added at run time), so this is computed once.
    struct Learners: Sendable {
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

    /// Moves decisions made since the last call into the join (engine thread).
    private func drainInbox() {
        guard inboxCount.load(ordering: .acquiring) > 0 else { return }
        let batch = inbox.withLock { inbox in
            defer { inbox.removeAll(keepingCapacity: true) }
            return inbox
        }
        inboxCount.subtract(batch.count, ordering: .releasing)
        join.write { j in
            for p in batch where j.isFree(p.id) { j.register(p) }
        }
    }

    private func learn(_ settled: [RewardJoin.Settlement]) {
        guard !settled.isEmpty else { return }
        policies.withLock { p in
            for x in settled {
                p.surfaces[x.surface].policy.update(arm: x.arm, features: x.features, reward: x.reward, propensity: x.propensity)
                p.surfaces[x.surface].updates += 1
                p.dirty.insert(x.surface)
            }
        }
    }

    // MARK: Administration

    /// Adds an arm, or reactivates a removed one (keeping what it had learnt).
    public func addArm(surface: String, _ arm: SurfaceConfiguration.Arm) throws(DecisionError) {
        try change(surface) { (s) throws(DecisionError) in
            if let i = s.arms.index[arm.name] {
                guard !s.arms.active[i] else { throw DecisionError(.conflict, "arm '\(arm.name)' already exists on surface '\(surface)'") }
                s.arms.active[i] = true
                return
            }
            do throws(ConfigurationError) {
                try SurfaceConfiguration.check(arm, armFeatures: s.config.armFeatures, subject: "surface '\(surface)'")
            } catch {
                throw DecisionError(.invalid, error.message)
            }
            _ = s.policy.addArm(prior: arm.prior)
            s.arms.append(arm.name, features: arm.features)
        }
    }

    /// Makes an arm ineligible; its statistics stay, and decisions already made with it
    /// still learn from their rewards.
    public func removeArm(surface: String, name: String) throws(DecisionError) {
        try change(surface) { (s) throws(DecisionError) in
            guard let i = s.arms.index[name], s.arms.active[i] else {
                throw DecisionError(.notFound, "surface '\(surface)' has no active arm '\(clipped(name))'")
            }
            s.arms.active[i] = false
        }
    }

    /// Sets policy parameters (the others keep their values), keeping the learnt state.
    public func setParameters(surface: String, _ parameters: [String: Double]) throws(DecisionError) {
        try change(surface) { (s) throws(DecisionError) in
            var spec = s.config.policy
            spec.parameters.merge(parameters) { $1 }
            do throws(PolicySpecError) {
                s.policy = try s.policy.retuned(spec, dimension: s.config.dimension)
            } catch {
                throw DecisionError(.invalid, error.message)
            }
            s.config.policy = spec
        }
    }

    /// One arm whose prior a refit replaced.
    public struct PriorChange: Sendable, Equatable {
        public var surface: String
        public var arm: String
        public var channel: String
        public var prior: ArmPrior
    }

    /// Gives every arm mapped to a channel (`mmm_priors`) the prior that channel's
    /// posterior mean ROI implies, keeping what the arm observed. Arms not mapped, mapped
    /// to a channel `roi` lacks, or not yet added, and surfaces without a mapping, are
    /// left exactly as they were; a surface whose priors changed publishes a new version.
    @discardableResult
    public func applyChannelPriors(roi: [String: Double]) -> [PriorChange] {
        let names: [String] = policies.withLock { p in p.surfaces.filter { $0.config.channelPriors != nil }.map(\.config.name) }
        var changes: [PriorChange] = []
        for surface in names {
            var changed: [PriorChange] = []
            // A surface not there any more has nothing to change.
            _ = try? modify(surface) { (s) throws(DecisionError) -> Bool in
                guard let mapping = s.config.channelPriors else { return false }
                let binary = s.config.reward != .revenue
                for (arm, channel) in mapping.arms.sorted(by: { $0.key < $1.key }) {
                    guard let value = roi[channel], value.isFinite, let i = s.arms.index[arm] else { continue }
                    let prior = mapping.prior(roi: value, binaryReward: binary)
                    guard s.policy.prior(arm: i) != prior, s.policy.setPrior(arm: i, prior) else { continue }
                    changed.append(PriorChange(surface: surface, arm: arm, channel: channel, prior: prior))
                }
                return !changed.isEmpty
            }
            changes += changed
        }
        return changes
    }

    private func change(_ surface: String, _ body: (inout SurfaceState) throws(DecisionError) -> Void) throws(DecisionError) {
        _ = try modify(surface) { (s) throws(DecisionError) -> Bool in
            try body(&s)
            return true
        }
    }

    /// Applies `body` to the surface; when it reports a change, the surface gets a new
    /// version and its view is published. Whether it changed.
    private func modify(_ surface: String, _ body: (inout SurfaceState) throws(DecisionError) -> Bool) throws(DecisionError) -> Bool {
        let view: View? = try policies.withLock { (p) throws(DecisionError) -> View? in
            guard let i = p.surfaces.firstIndex(where: { $0.config.name == surface }) else {
                throw DecisionError(.notFound, "no surface '\(clipped(surface))'")
            }
            var s = p.surfaces[i]
            guard try body(&s) else { return nil }
            s.version += 1
            p.surfaces[i] = s
            return View(index: i, s)
        }
        guard let view else { return false }
        views.withLock { $0[surface] = view }
        logger.info("surface changed", metadata: ["surface": "\(surface)", "version": "\(view.version)"])
        return true
    }

    // MARK: Reading

    /// What `/v1/surfaces` shows of one surface.
    public struct SurfaceReading: Sendable {
        public var config: SurfaceConfiguration
        public var policy: String
        public var parameters: [(name: String, value: Double)]
        /// Each arm, whether it is eligible, and its prior when the policy keeps priors.
        public var arms: [(name: String, active: Bool, prior: ArmPrior?)]
        public var version: Int64
        public var updates: Int64
        public var counters: JoinCounters
    }

    public func reading(surface: String) -> SurfaceReading? {
        let found: (Int, SurfaceState)? = policies.withLock { p in
            p.surfaces.firstIndex { $0.config.name == surface }.map { ($0, p.surfaces[$0]) }
        }
        guard let (i, s) = found else { return nil }
        return SurfaceReading(
            config: s.config, policy: s.policy.name,
            parameters: s.config.policy.algorithm.parameters.map { ($0.name, s.config.policy.value($0.name)) },
            arms: s.arms.names.indices.map { (s.arms.names[$0], s.arms.active[$0], s.policy.prior(arm: $0)) },
            version: s.version, updates: s.updates, counters: join.read { $0.counters[i] })
    }

    /// The join's counters per surface, and the orphan rewards.
    public var counters: (surfaces: [(String, JoinCounters)], orphans: Int64, pending: Int) {
        let names = policies.withLock { $0.surfaces.map(\.config.name) }
        let (c, orphans, pending) = join.read { ($0.counters, $0.orphans, $0.pendingCount) }
        return (Array(zip(names, c)), orphans, pending + inboxCount.load(ordering: .relaxed))
    }

    // MARK: State

    /// The whole learnt state: policies, arms and the join.
    public func encodeState() -> [UInt8] {
        drainInbox()
        let surfaces = policies.withLock { $0.surfaces }
        // Under the read lock: decisions only read the join (and only for a client's own
        // id), so a long encoding of a large join holds none of them up.
        return join.read { DecisionState.encode(surfaces: surfaces, join: $0) }
    }

    /// The state as values (policies and the join), for comparing states: encodings of
    /// equal joins may differ in order.
    var current: Working {
        drainInbox()
        return Working(surfaces: policies.withLock { $0.surfaces }, join: join.read { $0 })
    }

    /// Refuses further decisions (shutdown), so the log can be flushed completely.
    public func close() { closed.store(true, ordering: .releasing) }

    /// Waits until the decision log has everything so far; false on timeout.
    public func flushLog(timeoutMillis: Int) -> Bool { log.flush(timeoutMillis: timeoutMillis) }
}

/// The decision service follows the event stream on the engine thread and keeps its
/// state in one file per process instance, saved every `interval` and at shutdown.
///
/// The save need not coincide with the partition snapshots. Events replayed after a
/// crash start at the partitions' snapshots: rewards the saved join already settled meet
/// their tombstones and are not learnt again, and rewards between the save and the
/// partition snapshots are not seen again, so a crash can cost the policies some
/// learning, never count a reward twice.
///
/// Periodic saves are encoded and written on a thread of their own at low priority, from
/// a copy-on-write copy of the state: a full join holds a million decisions and takes
/// seconds of CPU to encode, which must not compete with HTTP threads on equal terms.
public final class DecisionObserver: StreamObserver, @unchecked Sendable {
    public let service: DecisionService
    public let statePath: String
    public let intervalMillis: Int
    private let logger: Logger
    private var lastSave = MonotonicClock.nanos  // engine thread only
    private let saves = Mailbox<DecisionService.Working?>()
    private let idle = Atomic<Bool>(true)
    private var saver: WorkerThread?

    public init(service: DecisionService, statePath: String, intervalMillis: Int, logger: Logger) {
        self.service = service
        self.statePath = statePath
        self.intervalMillis = intervalMillis
        self.logger = logger
        saver = WorkerThread(name: "decision-state") { [self] in
            #if os(Linux)
            // Niceness is per thread on Linux (who = 0 is the calling thread): only this
            // thread yields.
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
            #endif
            while true {
                guard let next = saves.take(timeoutMillis: 1000) else { continue }
                guard let state = next else { return }
                save(state)
                idle.store(true, ordering: .releasing)
            }
        }
    }

    public func observe(_ event: Event) { service.observe(event) }
    public func tick() { service.tick() }

    public func checkpoint(force: Bool) {
        let now = MonotonicClock.nanos
        if force {
            while !idle.load(ordering: .acquiring) { usleep(1000) }
            lastSave = now
            save(service.current)
            return
        }
        guard now - lastSave >= UInt64(intervalMillis) * 1_000_000, idle.load(ordering: .acquiring) else { return }
        lastSave = now
        idle.store(false, ordering: .releasing)
        saves.put(service.current)
    }

    /// Ends the saving thread (after a final forced checkpoint).
    public func close() {
        saves.put(nil)
        saver?.join()
        saver = nil
    }

    private func save(_ state: DecisionService.Working) {
        let started = MonotonicClock.nanos
        do {
            let bytes = DecisionState.encode(surfaces: state.surfaces, join: state.join)
            let encoded = MonotonicClock.nanos
            try FileIO.writeAtomically(bytes, to: statePath)
            logger.debug("decision state saved", metadata: [
                "bytes": "\(bytes.count)", "encode_ms": "\((encoded - started) / 1_000_000)",
                "write_ms": "\((MonotonicClock.nanos - encoded) / 1_000_000)",
            ])
        } catch {
            logger.error("decision state not written", metadata: ["path": "\(statePath)", "error": "\(error)"])
        }
    }
}

/// A value behind a readers–writer lock.
final class ReadWriteLocked<Value>: @unchecked Sendable {
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>
    private var value: Value

    init(_ value: Value) {
        self.value = value
        lock = .allocate(capacity: 1)
        pthread_rwlock_init(lock, nil)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    func read<R>(_ body: (Value) throws -> R) rethrows -> R {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(value)
    }

    func write<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(&value)
    }
}
