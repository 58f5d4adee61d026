import Bidding
import Bandits
import Common
import Events
import Logging
import StateFormat

/// The whole engine as every process sees it: the newest published state of every
/// partition, merged, with the surface catalogue and the group's members. Immutable:
/// decisions and status read it while the next one is built.
public final class EngineView: Sendable {
    public struct PartitionMark: Sendable, Equatable {
        public var partition: Int32
        public var nextOffset: Int64
        public var publishedAtMillis: Int64
    }

    public let partitions: [PartitionMark]
    /// The shared learners of every partition, merged in partition order.
    public let merged: PartitionState
    /// The decision points' learning, merged and prepared to decide.
    public let bandits: BanditLearner
    /// The catalogue, in configuration order (surfaces added later at the end).
    public let surfaces: [SurfaceDefinition]
    private let surfaceIndex: [String: Int]
    /// The members that own a partition now (its latest claimant), or that joined
    /// within the last minute and own none yet: a process killed without leaving keeps a
    /// record until the survivors' newer claims supersede all of it.
    public let members: [Member]
    public let builtAtMillis: Int64
    /// Equal for views built from the same partition offsets and catalogue versions:
    /// such views give the same answer to the same decision.
    public let fingerprint: String

    /// The same view with fresher marks (heartbeats of unchanged partitions).
    func with(partitions marks: [PartitionMark]) -> EngineView {
        EngineView(partitions: marks, merged: merged, bandits: bandits, surfaces: surfaces, members: members, builtAtMillis: builtAtMillis)
    }

    init(partitions: [PartitionMark], merged: PartitionState, bandits: BanditLearner, surfaces: [SurfaceDefinition], members: [Member], builtAtMillis: Int64) {
        self.partitions = partitions
        self.merged = merged
        self.bandits = bandits
        self.surfaces = surfaces
        var index: [String: Int] = [:]
        for (i, s) in surfaces.enumerated() { index[s.name] = i }
        surfaceIndex = index
        var latest: [Int32: Member] = [:]
        for m in members {
            for p in m.partitions where (latest[p]?.updatedAtMillis ?? .min) < m.updatedAtMillis { latest[p] = m }
        }
        let owning = Set(latest.values.map(\.instance))
        self.members = members.filter { owning.contains($0.instance) || ($0.partitions.isEmpty && builtAtMillis - $0.updatedAtMillis < 60_000) }
        self.builtAtMillis = builtAtMillis
        var w = StateWriter()
        for p in partitions {
            w.write(p.partition)
            w.write(p.nextOffset)
        }
        for s in surfaces {
            w.write(s.name)
            w.write(s.version)
        }
        fingerprint = String(CRC32C.checksum(w.bytes), radix: 16).zeroPadded(to: 8)
    }

    public func surface(named name: String) -> SurfaceDefinition? { surfaceIndex[name].map { surfaces[$0] } }
    public func surfaceIndex(of name: String) -> Int? { surfaceIndex[name] }

    /// The member that most recently claimed `partition`.
    public func owner(of partition: Int32) -> Member? {
        // Among current members only: a superseded claim names a process that is gone.
        members.filter { $0.partitions.contains(partition) }.max { $0.updatedAtMillis < $1.updatedAtMillis }
    }

    /// How old the oldest part of the view is at `now`: the staleness of a decision made
    /// on it. nil before any partition has published.
    public func ageMillis(now: Int64) -> Int64? {
        partitions.map(\.publishedAtMillis).min().map { max(0, now - $0) }
    }
}

/// Builds views from what partition owners publish (through the state topic, or
/// directly in replay and tests) and publishes each new one with a reference swap: the
/// lock is held only to update the tables or copy the current reference, never while
/// merging.
public final class ViewBuilder: @unchecked Sendable {
    private let context: LearnerContext
    private let logger: Logger
    private let lock = ConditionLock()
    // Guarded by `lock`.
    private var latest: [Int32: PublishedPartition] = [:]
    private var catalogue: [String: SurfaceDefinition] = [:]
    private var order: [String]
    private let configured: [String: SurfaceDefinition]
    private var members: [String: Member] = [:]
    /// The campaigns: configured (version 0) and as admin changes published them.
    private var campaigns: [String: CampaignDefinition] = [:]
    private var campaignOrder: [String] = []
    private var campaignChanges: UInt64 = 0
    private var current: EngineView
    private var generation: UInt64 = 0
    private var built: UInt64 = 0
    private var listeners: [@Sendable (EngineView) -> Void] = []

    /// - Parameter surfaces: the catalogue to start from (configuration reconciled with
    ///   what the group published before).
    public init(context: LearnerContext, surfaces: [SurfaceDefinition], logger: Logger) throws {
        self.context = context
        self.logger = logger
        order = surfaces.map(\.name)
        var c: [String: SurfaceDefinition] = [:]
        for s in surfaces { c[s.name] = s }
        catalogue = c
        configured = c
        current = try ViewBuilder.build(context: context, latest: [:], catalogue: c, order: surfaces.map(\.name), members: [], logger: logger)
    }

    /// The newest view.
    public var view: EngineView { lock.withLock { current } }

    /// Calls `listener` with every new view (on the thread that built it).
    public func onNewView(_ listener: @escaping @Sendable (EngineView) -> Void) {
        lock.withLock { listeners.append(listener) }
    }

    /// Takes a partition's published state if it is newer than the one held.
    public func receive(_ p: PublishedPartition) {
        lock.withLock {
            if let held = latest[p.partition], held.nextOffset > p.nextOffset { return }
            latest[p.partition] = p
            generation += 1
        }
    }

    /// Takes a heartbeat: the partition's state at `nextOffset` is still current at
    /// `atMillis`. The view's marks move on without a rebuild.
    public func receive(heartbeat partition: Int32, nextOffset: Int64, atMillis: Int64) {
        lock.withLock {
            guard var held = latest[partition], held.nextOffset == nextOffset, held.publishedAtMillis < atMillis else { return }
            held.publishedAtMillis = atMillis
            latest[partition] = held
            if let k = current.partitions.firstIndex(where: { $0.partition == partition }), current.partitions[k].nextOffset == nextOffset {
                var marks = current.partitions
                marks[k].publishedAtMillis = atMillis
                current = current.with(partitions: marks)
            }
        }
    }

    /// Takes a surface definition published by any process (the same version again is
    /// the same change). A definition that learns unlike this process's configuration is
    /// refused with a log line: the group's processes disagree on their configuration.
    public func receive(surface d: SurfaceDefinition) {
        lock.withLock {
            if let mine = configured[d.name], !mine.learnsLike(d) {
                logger.warning("a surface change published by another process learns unlike this configuration: ignored", metadata: ["surface": "\(d.name)", "version": "\(d.version)"])
                return
            }
            if let held = catalogue[d.name], held.version > d.version { return }
            if catalogue[d.name] == nil { order.append(d.name) }
            catalogue[d.name] = d
            generation += 1
            lock.broadcast()
        }
    }

    /// Takes a campaign definition (configured, or published by any process): the higher
    /// version wins. Of two changes made at once through two processes (the same
    /// version), the one later in the state topic wins, so every process ends on it.
    public func receive(campaign d: CampaignDefinition) {
        lock.withLock {
            if let held = campaigns[d.campaign.id], held.version > d.version { return }
            if campaigns[d.campaign.id] == nil { campaignOrder.append(d.campaign.id) }
            campaigns[d.campaign.id] = d
            campaignChanges += 1
        }
    }

    /// Changes whenever a campaign does.
    public var campaignGeneration: UInt64 { lock.withLock { campaignChanges } }

    /// The campaigns in the order they were first known, with a counter that changes when
    /// any of them does.
    public var campaignCatalogue: (generation: UInt64, campaigns: [CampaignDefinition]) {
        lock.withLock { (campaignChanges, campaignOrder.compactMap { campaigns[$0] }) }
    }

    public func receive(member: Member) {
        lock.withLock {
            if let held = members[member.instance], held.updatedAtMillis > member.updatedAtMillis { return }
            members[member.instance] = member
            generation += 1
        }
    }

    public func removeMember(_ instance: String) {
        lock.withLock {
            guard members.removeValue(forKey: instance) != nil else { return }
            generation += 1
        }
    }

    /// The catalogue's current definition of `name` (before the next rebuild, too).
    public func definition(_ name: String) -> SurfaceDefinition? { lock.withLock { catalogue[name] } }

    /// Builds and publishes a view when anything changed since the last one.
    public func rebuild() {
        let (g, latest, catalogue, order, members) = lock.withLock { (generation, self.latest, self.catalogue, self.order, Array(self.members.values)) }
        guard g != lock.withLock({ built }) else { return }
        do {
            let view = try ViewBuilder.build(context: context, latest: latest, catalogue: catalogue, order: order, members: members, logger: logger)
            let notify: [@Sendable (EngineView) -> Void] = lock.withLock {
                guard g > built else { return [] }
                current = view
                built = g
                lock.broadcast()
                return listeners
            }
            for listener in notify { listener(view) }
        } catch {
            logger.error("view not built", metadata: ["error": "\(error)"])
        }
    }

    /// Waits until the current view has surface `name` at `version` or later; false
    /// after `timeoutMillis`. It polls rather than blocks: callers are tasks on the HTTP
    /// event loops, which must never wait on a lock while the state topic catches up.
    public func waitFor(surface name: String, version: Int64, timeoutMillis: Int) async -> Bool {
        let deadline = MonotonicClock.nanos + UInt64(timeoutMillis) * 1_000_000
        while (view.surface(named: name)?.version ?? 0) < version {
            guard MonotonicClock.nanos < deadline else { return false }
            try? await Task.sleep(nanoseconds: 2_000_000)
        }
        return true
    }

    private static func build(
        context: LearnerContext, latest: [Int32: PublishedPartition], catalogue: [String: SurfaceDefinition], order: [String], members: [Member],
        logger: Logger
    ) throws -> EngineView {
        var merged = try PartitionState(context).shared
        var marks: [EngineView.PartitionMark] = []
        for p in latest.keys.sorted() {
            let published = latest[p]!
            merged.merge(published.state)
            marks.append(EngineView.PartitionMark(partition: p, nextOffset: published.nextOffset, publishedAtMillis: published.publishedAtMillis))
        }
        var bandits = try merged.learner(BanditLearner.self) ?? BanditLearner(surfaces: [], partitions: context.partitions)
        var entries: [String: BanditLearner.Catalogue] = [:]
        for (name, d) in catalogue { entries[name] = d.catalogue }
        try bandits.prepare(entries)
        return EngineView(
            partitions: marks, merged: merged, bandits: bandits, surfaces: order.compactMap { catalogue[$0] },
            members: members.sorted { $0.instance < $1.instance }, builtAtMillis: WallClock.millis)
    }
}

/// Publishes straight into a view builder, in process: replay, tests, and a process
/// whose state has nowhere else to go.
public final class LocalStatePublisher: StatePublisher, @unchecked Sendable {
    public let views: ViewBuilder
    private let instance: String
    private let address: String

    public init(views: ViewBuilder, instance: String = "local", address: String = "") {
        self.views = views
        self.instance = instance
        self.address = address
    }

    public func publish(_ partition: PublishedPartition) {
        views.receive(partition)
        views.rebuild()
    }

    public func heartbeat(partition: Int32, nextOffset: Int64, atMillis: Int64) {
        views.receive(heartbeat: partition, nextOffset: nextOffset, atMillis: atMillis)
    }

    public func holding(_ partitions: [Int32]) {
        views.receive(member: Member(instance: instance, address: address, partitions: partitions, updatedAtMillis: WallClock.millis))
        views.rebuild()
    }

    public func publish(surface: SurfaceDefinition) async throws {
        views.receive(surface: surface)
        views.rebuild()
    }

    public func publish(campaign: CampaignDefinition) async throws {
        views.receive(campaign: campaign)
    }

    /// Nothing is published elsewhere: what this process holds is the present.
    public func readToPresent(timeoutMillis: Int) async -> Bool { true }
}
