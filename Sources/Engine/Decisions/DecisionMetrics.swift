import Metrics
import Synchronization

/// The decision service's instruments: decisions per surface counted as they are made;
/// the join's outcomes published from its counters on each tick (as deltas, since the
/// counters are cumulative and restored from snapshots).
final class DecisionMetrics: Sendable {
    private let decisions: [Counter]
    let logFailures = Counter(label: "arbiter_decision_log_failures_total")
    private let outcomes: [[Counter]]
    private let orphans = Counter(label: "arbiter_rewards_orphan_total")
    private let pending = Gauge(label: "arbiter_decisions_pending")
    private let last = Mutex<(surfaces: [JoinCounters], orphans: Int64)>(([], 0))

    static let outcomeNames = ["joined", "duplicate", "late", "expired", "evicted", "updates"]

    init(surfaces: [String]) {
        decisions = surfaces.map { Counter(label: "arbiter_decisions_total", dimensions: [("surface", $0)]) }
        outcomes = surfaces.map { s in
            DecisionMetrics.outcomeNames.map { o in
                o == "updates"
                    ? Counter(label: "arbiter_policy_updates_total", dimensions: [("surface", s)])
                    : o == "expired" || o == "evicted"
                        ? Counter(label: "arbiter_decisions_\(o)_total", dimensions: [("surface", s)])
                        : Counter(label: "arbiter_rewards_total", dimensions: [("surface", s), ("outcome", o)])
            }
        }
        last.withLock { $0.surfaces = Array(repeating: JoinCounters(), count: surfaces.count) }
    }

    func decided(_ surface: Int) { decisions[surface].increment() }

    func publish(_ c: (surfaces: [(String, JoinCounters)], orphans: Int64, pending: Int)) {
        last.withLock { last in
            for (i, (_, now)) in c.surfaces.enumerated() where i < outcomes.count {
                let before = last.surfaces[i]
                let deltas = [
                    now.joined - before.joined, now.duplicate - before.duplicate, now.late - before.late,
                    now.expired - before.expired, now.evicted - before.evicted, now.updates - before.updates,
                ]
                for (k, d) in deltas.enumerated() where d > 0 { outcomes[i][k].increment(by: d) }
                last.surfaces[i] = now
            }
            if c.orphans > last.orphans { orphans.increment(by: c.orphans - last.orphans) }
            last.orphans = c.orphans
        }
        pending.record(c.pending)
    }
}
