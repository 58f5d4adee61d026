import Bandits
import Metrics
import Synchronization

/// The decision service's instruments: decisions per surface counted as this process
/// makes them; the group's join outcomes from each new view's counters (as deltas, since
/// the counters are cumulative across the partitions' states).
final class DecisionMetrics: Sendable {
    private let decisions: [String: Counter]
    let logFailures = Counter(label: "arbiter_decision_log_failures_total")
    private let outcomes: [String: [Counter]]
    private let orphans = Counter(label: "arbiter_rewards_orphan_total")
    private let pending = Gauge(label: "arbiter_decisions_pending")
    private let viewAge = Gauge(label: "arbiter_view_age_seconds")
    private let last = Mutex<(surfaces: [String: JoinCounters], orphans: Int64)>(([:], 0))

    static let outcomeNames = ["joined", "duplicate", "late", "expired", "evicted", "updates"]

    init(surfaces: [String]) {
        var d: [String: Counter] = [:]
        var o: [String: [Counter]] = [:]
        for s in surfaces {
            d[s] = Counter(label: "arbiter_decisions_total", dimensions: [("surface", s)])
            o[s] = DecisionMetrics.outcomeNames.map { name in
                name == "updates"
                    ? Counter(label: "arbiter_policy_updates_total", dimensions: [("surface", s)])
                    : name == "expired" || name == "evicted"
                        ? Counter(label: "arbiter_decisions_\(name)_total", dimensions: [("surface", s)])
                        : Counter(label: "arbiter_rewards_total", dimensions: [("surface", s), ("outcome", name)])
            }
        }
        decisions = d
        outcomes = o
    }

    func decided(_ surface: String) { decisions[surface]?.increment() }

    /// Publishes what a new view says of the group's join.
    func publish(view: EngineView, now: Int64) {
        let bandits = view.bandits
        last.withLock { last in
            for (k, s) in bandits.surfaces.enumerated() {
                guard let counters = outcomes[s.learning.name] else { continue }
                let now = bandits.join.counters[k]
                let before = last.surfaces[s.learning.name] ?? JoinCounters()
                let deltas = [
                    now.joined - before.joined, now.duplicate - before.duplicate, now.late - before.late,
                    now.expired - before.expired, now.evicted - before.evicted, now.updates - before.updates,
                ]
                for (i, d) in deltas.enumerated() where d > 0 { counters[i].increment(by: d) }
                last.surfaces[s.learning.name] = now
            }
            if bandits.join.orphans > last.orphans { orphans.increment(by: bandits.join.orphans - last.orphans) }
            last.orphans = bandits.join.orphans
        }
        pending.record(bandits.join.counters.reduce(Int64(0)) { $0 + $1.decisions - $1.updates - $1.evicted })
        if let age = view.ageMillis(now: now) { viewAge.record(Double(age) / 1000) }
    }
}
