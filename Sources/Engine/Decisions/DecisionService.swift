import Bandits
import Common
import Events
import Logging
import Stream
import Synchronization

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
    /// The chosen arm's features (shared linear payoff), which its reward is learnt on.
    public var armFeatures: [Double]
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

/// The partition of a user in the events topic, as librdkafka places the user's events.
public struct UserRouting: Sendable {
    public let partitioner: Partitioner
    public let partitions: Int32

    public init(partitioner: Partitioner = .consistentRandom, partitions: Int32 = 1) {
        self.partitioner = partitioner
        self.partitions = max(1, partitions)
    }

    public func partition(of user: String) -> Int32 {
        partitions == 1 ? 0 : partitioner.partition(of: user, count: partitions)
    }

    /// The partition a decision id made by Arbiter names (its `@<partition>` suffix),
    /// which is how a reward posted with the id alone reaches its decision's partition.
    public func partition(ofDecision id: String) -> Int32? {
        guard let at = id.lastIndex(of: "@"), let p = Int32(id[id.index(after: at)...]), p >= 0, p < partitions else { return nil }
        return p
    }
}

/// Decisions, on HTTP threads: each is made against the newest published view — no lock
/// is held while a policy computes — logged to the events topic in the partition of its
/// user, and answered once the log has it (`decisions.wait_for_log`). Learning happens in
/// that partition's state, wherever it is owned; admin changes go through the group's
/// catalogue (the state topic) and every process applies them.
public final class DecisionService: Sendable {
    public let seed: UInt64
    /// Prefix of generated decision ids: instance name and start time, so ids stay
    /// unique across processes and restarts.
    public let idPrefix: String
    public let views: ViewBuilder
    public let routing: UserRouting
    private let log: any DecisionLog
    private let publisher: any StatePublisher
    private let waitForLog: Bool
    private let clock: @Sendable () -> Int64
    private let logger: Logger
    private let sequence = Atomic<UInt64>(0)
    private let closed = Atomic<Bool>(false)
    private let recent: Mutex<RecentDecisions<Decision>>
    private let editor = SerialEditor()
    let metrics: DecisionMetrics

    /// - Parameters:
    ///   - waitForLog: answer only once the decision log has acknowledged the record.
    ///   - rememberedIDs: client-chosen ids this process answers again from memory.
    ///   - clock: epoch milliseconds (decision times).
    public init(
        views: ViewBuilder, log: any DecisionLog, publisher: any StatePublisher, routing: UserRouting, seed: UInt64, instance: String,
        waitForLog: Bool = true, rememberedIDs: Int = 100_000, logger: Logger, clock: @escaping @Sendable () -> Int64 = { WallClock.millis }
    ) {
        self.views = views
        self.log = log
        self.publisher = publisher
        self.routing = routing
        self.seed = seed
        self.waitForLog = waitForLog
        self.clock = clock
        self.logger = logger
        idPrefix = "\(instance)-\(String(clock(), radix: 36))-"
        recent = Mutex(RecentDecisions<Decision>(capacity: max(1, rememberedIDs)))
        let metrics = DecisionMetrics(surfaces: views.view.surfaces.map(\.name))
        self.metrics = metrics
        let learnerMetrics = ViewMetrics()
        views.onNewView { view in
            metrics.publish(view: view, now: WallClock.millis)
            learnerMetrics.publish(view)
        }
        metrics.publish(view: views.view, now: WallClock.millis)
        learnerMetrics.publish(views.view)
    }

    // MARK: Deciding

    /// Decides for `request` on the current view, logs the decision in its user's
    /// partition and, when so configured, waits until the log has it.
    ///
    /// A client-chosen id is an idempotency key: asked again of this process, the same
    /// decision is answered without logging it again; asked of another process, the
    /// decision is made again on that process's view, which gives the same answer while
    /// the views are equally fresh (the partition learns from the first record only).
    public func decide(_ request: DecisionRequest) async throws(DecisionError) -> Decision {
        guard !closed.load(ordering: .acquiring) else { throw DecisionError(.unavailable, "shutting down: no new decisions") }
        if let given = request.decisionID, let earlier = recent.withLock({ $0[given] }) {
            guard earlier.surface == request.surface, earlier.user == request.user else {
                throw DecisionError(.conflict, "decision '\(clipped(given))' was made for another surface or user")
            }
            return earlier
        }
        let view = views.view
        guard let surface = view.surface(named: request.surface) else {
            throw DecisionError(.notFound, "no surface '\(clipped(request.surface))'; surfaces: \(view.surfaces.map(\.name).joined(separator: ", "))")
        }
        let config = surface.config
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
            guard value.isFinite, abs(value) <= 1e12 else { throw DecisionError(.invalid, "context feature '\(name)' must be a finite number within ±1e12") }
            context[k] = value
        }
        var eligible: [Int]
        if let names = request.eligible {
            guard !names.isEmpty else { throw DecisionError(.invalid, "'eligible' must name at least one arm") }
            eligible = []
            eligible.reserveCapacity(names.count)
            var seen = Set<Int>()
            for name in names {
                guard let i = surface.index(of: name) else {
                    throw DecisionError(.invalid, "unknown arm '\(clipped(name))' in 'eligible' of surface '\(config.name)'")
                }
                guard surface.active[i] else { throw DecisionError(.invalid, "arm '\(name)' of surface '\(config.name)' has been removed") }
                guard seen.insert(i).inserted else { throw DecisionError(.invalid, "arm '\(name)' appears twice in 'eligible'") }
                eligible.append(i)
            }
        } else {
            eligible = surface.activeIndices
            guard !eligible.isEmpty else { throw DecisionError(.conflict, "surface '\(config.name)' has no active arms") }
        }
        guard request.rankingLength >= 1 else { throw DecisionError(.invalid, "'ranking' must be at least 1") }
        let partition = routing.partition(of: request.user)
        let id: String
        if let given = request.decisionID {
            guard !given.isEmpty, given.utf8.count <= EventDecoder.maximumIDBytes else {
                throw DecisionError(.invalid, "'decision_id' must be 1–\(EventDecoder.maximumIDBytes) bytes")
            }
            id = given
        } else {
            id = idPrefix + String(sequence.wrappingAdd(1, ordering: .relaxed).newValue, radix: 36) + "@\(partition)"
        }

        let contextual = config.policy.isContextual
        let input = contextual
            ? config.policy.payoff.input(eligible: eligible, context: context, armFeatures: config.arms.map(\.features)) : DecisionInput(eligible: eligible)
        var random = SeededRandom(decisionID: id, salt: seed)
        let answer: BanditLearner.Answer
        do {
            answer = try view.bandits.decide(BanditLearner.Request(surface: config.name, input: input, rankingLength: request.rankingLength), random: &random)
        } catch {
            throw DecisionError(.unavailable, error.message)
        }
        let chosen = answer.choice.arm
        let decision = Decision(
            id: id, surface: config.name, user: request.user, action: config.arms[chosen].name, propensity: answer.choice.propensity,
            propensityDraws: answer.choice.propensityDraws, policy: config.policy.name, policyVersion: surface.version, modelUpdates: answer.updates,
            ranking: answer.ranking.map { config.arms[$0].name }, eligible: eligible.map { config.arms[$0].name }, context: request.context,
            armFeatures: config.policy.payoff == .shared && contextual ? config.arms[chosen].features : [], timestamp: clock())

        // Logged before it is answered: a decision that cannot be logged is refused, so
        // every decision acted upon is in the log.
        let ticket: DecisionLogTicket
        do {
            ticket = try log.append(partition: partition, key: Array(request.user.utf8), record: DecisionRecord.encode(decision))
        } catch {
            metrics.logFailures.increment()
            throw DecisionError(.unavailable, "the decision log is not accepting records: \(error)")
        }
        if waitForLog {
            guard await ticket.durable() else {
                metrics.logFailures.increment()
                throw DecisionError(.unavailable, "the decision log did not acknowledge the decision; it was not made")
            }
        }
        if request.decisionID != nil { recent.withLock { $0.remember(decision, id: decision.id) } }
        metrics.decided(config.name)
        return decision
    }

    public var surfaceNames: [String] { views.view.surfaces.map(\.name) }

    // MARK: Administration

    /// Adds an arm, or reactivates a removed one (keeping what it had learnt).
    public func addArm(surface: String, _ arm: ArmDefinition) async throws(DecisionError) {
        try await change(surface) { (d) throws(DecisionError) in try d.addArm(arm) }
    }

    /// Makes an arm ineligible; its statistics stay, and decisions already made with it
    /// still learn from their rewards.
    public func removeArm(surface: String, name: String) async throws(DecisionError) {
        try await change(surface) { (d) throws(DecisionError) in try d.removeArm(name) }
    }

    /// Sets policy parameters (the others keep their values), keeping the learnt state.
    public func setParameters(surface: String, _ parameters: [String: Double]) async throws(DecisionError) {
        try await change(surface) { (d) throws(DecisionError) in try d.setParameters(parameters) }
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
    /// left exactly as they were; a surface whose priors changed gets a new version.
    @discardableResult
    public func applyChannelPriors(roi: [String: Double]) async -> [PriorChange] {
        var changes: [PriorChange] = []
        for surface in views.view.surfaces where surface.config.channelPriors != nil {
            guard let d = views.definition(surface.name), let mapping = d.config.channelPriors else { continue }
            let binary = d.config.reward != .revenue
            var priors: [String: ArmPrior] = [:]
            var changed: [PriorChange] = []
            for (arm, channel) in mapping.arms.sorted(by: { $0.key < $1.key }) {
                guard let value = roi[channel], value.isFinite, let i = d.index(of: arm) else { continue }
                let prior = mapping.prior(roi: value, binaryReward: binary)
                guard d.config.arms[i].prior != prior else { continue }
                priors[arm] = prior
                changed.append(PriorChange(surface: d.name, arm: arm, channel: channel, prior: prior))
            }
            guard !priors.isEmpty else { continue }
            let frozen = priors
            // A surface not there any more has nothing to change.
            if (try? await modify(d.name) { (def) throws(DecisionError) -> Bool in def.setPriors(frozen) }) == true { changes += changed }
        }
        return changes
    }

    private func change(_ surface: String, _ body: @escaping @Sendable (inout SurfaceDefinition) throws(DecisionError) -> Void) async throws(DecisionError) {
        _ = try await modify(surface) { (d) throws(DecisionError) -> Bool in
            try body(&d)
            return true
        }
    }

    /// Applies `body` to the surface's current definition — the group's, once this
    /// process has read every change published before the call — and when it reports a
    /// change, publishes the new definition to the group and waits until it is applied
    /// here. One change at a time per process, so two admin calls never publish the same
    /// version.
    private func modify(_ surface: String, _ body: @escaping @Sendable (inout SurfaceDefinition) throws(DecisionError) -> Bool) async throws(DecisionError) -> Bool {
        let result: Result<Bool, DecisionError> = await editor.run { [self] in
            guard await publisher.readToPresent(timeoutMillis: 30_000) else {
                return .failure(DecisionError(.unavailable, "the group's latest changes could not be read from the state topic, so none was made"))
            }
            guard var d = views.definition(surface) else { return .failure(DecisionError(.notFound, "no surface '\(clipped(surface))'")) }
            do throws(DecisionError) {
                guard try body(&d) else { return .success(false) }
            } catch {
                return .failure(error)
            }
            do {
                try await publisher.publish(surface: d)
            } catch {
                return .failure(DecisionError(.unavailable, "the change could not be published to the group: \(error)"))
            }
            guard await views.waitFor(surface: d.name, version: d.version, timeoutMillis: 30_000) else {
                return .failure(DecisionError(.unavailable, "the change was published but has not come back from the state topic yet"))
            }
            logger.info("surface changed", metadata: ["surface": "\(d.name)", "version": "\(d.version)"])
            return .success(true)
        }
        return try result.get()
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
        let view = views.view
        guard let d = view.surface(named: surface) else { return nil }
        let usesPriors = d.config.policy.estimator == .counts
        let learnt = view.bandits.surface(named: surface)
        let counters = view.bandits.surfaces.firstIndex { $0.learning.name == surface }.map { view.bandits.join.counters[$0] } ?? JoinCounters()
        return SurfaceReading(
            config: d.config, policy: d.config.policy.name,
            parameters: d.config.policy.parameterList.map { ($0.name, d.config.policy.value($0.name)) },
            arms: d.config.arms.indices.map { (d.config.arms[$0].name, d.active[$0], usesPriors ? d.config.arms[$0].prior : nil) },
            version: d.version, updates: learnt?.estimator.updates ?? 0, counters: counters)
    }

    /// Refuses further decisions (shutdown), so the log can be flushed completely.
    public func close() { closed.store(true, ordering: .releasing) }

    /// Waits until the decision log has everything so far; false on timeout.
    public func flushLog(timeoutMillis: Int) -> Bool { log.flush(timeoutMillis: timeoutMillis) }
}

/// Answers made under client-chosen ids, answered again from memory when a client
/// retries. Bounded: the oldest is forgotten first.
struct RecentDecisions<Answer: Sendable>: Sendable {
    let capacity: Int
    private var byID: [String: Answer] = [:]
    private var order: [String] = []
    private var head = 0

    init(capacity: Int) { self.capacity = capacity }

    subscript(id: String) -> Answer? { byID[id] }

    mutating func remember(_ answer: Answer, id: String) {
        guard byID[id] == nil else { return }
        byID[id] = answer
        order.append(id)
        if byID.count > capacity {
            byID[order[head]] = nil
            head += 1
            if head > 4096, head * 2 > order.count {
                order.removeFirst(head)
                head = 0
            }
        }
    }
}
