import Bandits
import Common
import Engine
import Events
import Hummingbird
import Prometheus
import Stream

/// The operational HTTP surface: liveness, status and Prometheus metrics.
///
/// Routes read published readings only (never engine state), so they answer while the
/// engine is busy or the broker is away.
public struct StatusController: Sendable {
    public let statistics: EngineStatistics
    public let health: SourceHealth?
    public let registry: PrometheusCollectorRegistry
    /// The group's view, when the engine has one: its freshness and members.
    public let views: ViewBuilder?
    public let instance: String
    private let brokerGauges: BrokerGauges

    public init(statistics: EngineStatistics, health: SourceHealth?, registry: PrometheusCollectorRegistry, views: ViewBuilder? = nil, instance: String = "") {
        self.statistics = statistics
        self.health = health
        self.registry = registry
        self.views = views
        self.instance = instance
        self.brokerGauges = BrokerGauges(registry: registry)
    }

    /// Adds `/healthz`, `/v1/status` and `/metrics` to `router`.
    public func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("/healthz") { _, _ -> Response in
            let reading = statistics.current
            let broker = health?.current
            var w = JSONWriter()
            w.beginObject()
            w.key("status"); w.string(reading.fatalError == nil ? "ok" : "failed")
            w.key("engine_running"); w.bool(reading.running)
            if let broker { w.key("broker_reachable"); w.bool(broker.brokerReachable) }
            if let fatal = reading.fatalError { w.key("error"); w.string(fatal) }
            w.endObject()
            return json(w.bytes, status: reading.fatalError == nil ? .ok : .serviceUnavailable)
        }
        router.get("/v1/status") { _, _ -> Response in
            json(StatusDocument.json(statistics.current, health?.current, view: views?.view, instance: instance), status: .ok)
        }
        router.get("/metrics") { _, _ -> Response in
            if let broker = health?.current { brokerGauges.update(broker) }
            var bytes: [UInt8] = []
            registry.emit(into: &bytes)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }
}

/// Broker connectivity as gauges, refreshed at scrape time from the source's health.
struct BrokerGauges: Sendable {
    let reachable: Prometheus.Gauge
    let outages: Prometheus.Gauge
    let contactAge: Prometheus.Gauge
    let rebalances: Prometheus.Gauge
    let paused: Prometheus.Gauge

    init(registry: PrometheusCollectorRegistry) {
        reachable = registry.makeGauge(name: "arbiter_broker_reachable", help: "1 when the last metadata probe got an answer")
        outages = registry.makeGauge(name: "arbiter_broker_outages", help: "Times the broker became unreachable")
        contactAge = registry.makeGauge(name: "arbiter_broker_last_contact_age_seconds", help: "Seconds since the last message or successful probe")
        rebalances = registry.makeGauge(name: "arbiter_rebalances", help: "Partition assignments and revocations seen")
        paused = registry.makeGauge(name: "arbiter_consumer_paused", help: "1 while fetching is paused because the engine queue is full")
    }

    func update(_ h: SourceHealth.Reading) {
        reachable.set(h.brokerReachable ? 1.0 : 0.0)
        outages.set(Double(h.outages))
        contactAge.set(Double(max(0, WallClock.millis - h.lastContactMillis)) / 1000)
        rebalances.set(Double(h.rebalances))
        paused.set(h.paused ? 1.0 : 0.0)
    }
}

/// The `/v1/status` document.
public enum StatusDocument {
    public static func json(_ r: EngineReading, _ broker: SourceHealth.Reading?, view: EngineView? = nil, instance: String = "") -> [UInt8] {
        var w = JSONWriter(reservingCapacity: 1024)
        w.beginObject()
        w.key("stream"); w.string(r.stream)
        w.key("running"); w.bool(r.running)
        if let fatal = r.fatalError { w.key("error"); w.string(fatal) }
        w.key("accepted"); w.int(r.totalAccepted)
        w.key("accepted_by_type"); w.beginObject()
        for kind in EventKind.allCases { w.key(kind.wireName); w.int(r.accepted[kind] ?? 0) }
        w.endObject()
        w.key("dead_letters"); w.int(r.totalRejected)
        w.key("dead_letters_by_reason"); w.beginObject()
        for reason in r.rejected.keys.sorted() { w.key(reason); w.int(r.rejected[reason]!) }
        w.endObject()
        w.key("duplicates_skipped"); w.int(r.duplicatesSkipped)
        w.key("lag")
        if let lag = r.totalLag { w.int(lag) } else { w.null() }
        w.key("partitions"); w.beginArray()
        for p in r.partitions {
            w.beginObject()
            w.key("partition"); w.int(Int64(p.partition))
            w.key("next_offset"); w.int(p.nextOffset)
            w.key("durable_offset")
            if let d = p.durableOffset { w.int(d) } else { w.null() }
            w.key("lag")
            if let l = p.lag { w.int(l) } else { w.null() }
            w.endObject()
        }
        w.endArray()
        w.key("snapshots_written"); w.int(r.snapshotsWritten)
        w.key("snapshot_failures"); w.int(r.snapshotFailures)
        w.key("snapshot_age_seconds")
        if let at = r.lastSnapshotMillis { w.double(Double(WallClock.millis - at) / 1000) } else { w.null() }
        if let broker {
            w.key("broker"); w.beginObject()
            w.key("reachable"); w.bool(broker.brokerReachable)
            w.key("outages"); w.int(broker.outages)
            w.key("last_contact_age_seconds"); w.double(Double(max(0, WallClock.millis - broker.lastContactMillis)) / 1000)
            w.key("rebalances"); w.int(broker.rebalances)
            w.key("paused"); w.bool(broker.paused)
            w.endObject()
        }
        if let view {
            let now = WallClock.millis
            w.key("instance"); w.string(instance)
            w.key("view"); w.beginObject()
            w.key("fingerprint"); w.string(view.fingerprint)
            w.key("digests"); w.beginObject()
            for l in view.merged.learners {
                w.key(type(of: l).name)
                w.string(l is BanditLearner ? StateSummary.digest(view.bandits) : StateSummary.digest(l))
            }
            w.endObject()
            w.key("age_ms")
            if let age = view.ageMillis(now: now) { w.int(age) } else { w.null() }
            w.key("partitions"); w.beginArray()
            for p in view.partitions {
                w.beginObject()
                w.key("partition"); w.int(Int64(p.partition))
                w.key("next_offset"); w.int(p.nextOffset)
                w.key("age_ms"); w.int(max(0, now - p.publishedAtMillis))
                w.endObject()
            }
            w.endArray()
            w.key("members"); w.beginArray()
            for m in view.members {
                w.beginObject()
                w.key("instance"); w.string(m.instance)
                w.key("address"); w.string(m.address)
                w.key("partitions"); w.beginArray()
                for p in m.partitions { w.int(Int64(p)) }
                w.endArray()
                w.endObject()
            }
            w.endArray()
            w.endObject()
        }
        w.endObject()
        w.newline()
        return w.bytes
    }
}
