import Common
import Events
import Metrics
import Synchronization

/// Exports what every learner of the registry reports (`Learner.gauges`) from each new
/// view, as `arbiter_<name>{labels}` gauges: the registry drives the learners' metrics as
/// it drives their state.
final class ViewMetrics: Sendable {
    private let gauges = Mutex<[String: Gauge]>([:])

    func publish(_ view: EngineView) {
        let readings = view.merged.learners.flatMap(\.gauges)
        gauges.withLock { made in
            for g in readings {
                let labels = g.labels.sorted { $0.key < $1.key }
                let key = "\(g.name)|" + labels.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
                let gauge = made[key] ?? Gauge(label: "arbiter_\(g.name)", dimensions: labels.map { ($0.key, $0.value) })
                made[key] = gauge
                gauge.record(g.value)
            }
        }
    }
}
