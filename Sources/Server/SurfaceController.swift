import Bandits
import Common
import Engine
import Hummingbird

/// `/v1/surfaces` (what each decision point is and has learnt across the group) and its
/// admin API (`/v1/admin/surfaces/…`, bearer token). Admin changes are published to the
/// group and applied by every process before the answer.
public struct SurfaceController: Sendable {
    public let service: DecisionService
    let admin: AdminToken
    let bodies: JSONBodies

    public init(service: DecisionService, adminToken: String, maxBodyBytes: Int) {
        self.service = service
        admin = AdminToken(token: adminToken)
        bodies = JSONBodies(maxBodyBytes: maxBodyBytes)
    }

    public func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("/v1/surfaces") { _, _ in
            await handle {
                var w = JSONWriter()
                w.beginObject()
                w.key("surfaces"); w.beginArray()
                for name in service.surfaceNames {
                    if let r = service.reading(surface: name) { SurfaceController.write(r, into: &w) }
                }
                w.endArray()
                w.endObject()
                return json(w.bytes, status: .ok)
            }
        }
        router.get("/v1/surfaces/:surface") { _, context in
            await handle {
                let name = try context.parameters.require("surface")
                return try surfaceAnswer(name, status: .ok)
            }
        }
        router.post("/v1/admin/surfaces/:surface/arms") { request, context in
            await handle {
                try admin.authorize(request)
                let surface = try context.parameters.require("surface")
                let body = try await bodies.object(request, known: ["name", "prior", "features"])
                let name = try string(body, "name", required: true)!
                var prior = ArmPrior.none
                if let p = body["prior"] {
                    let values = try numbers(p, "prior")
                    guard Set(values.keys).isSubset(of: ["trials", "reward_sum"]) else { throw RouteError(.badRequest, "'prior' takes trials and reward_sum") }
                    prior = ArmPrior(trials: values["trials"] ?? 0, rewardSum: values["reward_sum"] ?? 0)
                }
                let given = try body["features"].map { (f) throws(RouteError) in try numbers(f, "features") } ?? [:]
                guard let reading = service.reading(surface: surface) else { throw RouteError(.notFound, "no surface '\(clipped(surface))'") }
                let names = reading.config.armFeatures
                if let unknown = given.keys.sorted().first(where: { !names.contains($0) }) {
                    throw RouteError(.badRequest, "unknown arm feature '\(unknown)'; surface '\(surface)' uses: \(names.isEmpty ? "none" : names.joined(separator: ", "))")
                }
                guard given.count == names.count else {
                    throw RouteError(.badRequest, "'features' needs a value for each arm feature: \(names.joined(separator: ", "))")
                }
                try await service.addArm(surface: surface, ArmDefinition(name: name, prior: prior, features: names.map { given[$0]! }))
                return try surfaceAnswer(surface, status: .created)
            }
        }
        router.delete("/v1/admin/surfaces/:surface/arms/:arm") { request, context in
            await handle {
                try admin.authorize(request)
                let surface = try context.parameters.require("surface")
                try await service.removeArm(surface: surface, name: try context.parameters.require("arm"))
                return try surfaceAnswer(surface, status: .ok)
            }
        }
        router.put("/v1/admin/surfaces/:surface/parameters") { request, context in
            await handle {
                try admin.authorize(request)
                let surface = try context.parameters.require("surface")
                let body = try await bodies.object(request, known: nil)
                try await service.setParameters(surface: surface, try numbers(body, "body"))
                return try surfaceAnswer(surface, status: .ok)
            }
        }
    }

    private func surfaceAnswer(_ surface: String, status: HTTPResponse.Status) throws(RouteError) -> Response {
        guard let r = service.reading(surface: surface) else { throw RouteError(.notFound, "no surface '\(clipped(surface))'") }
        var w = JSONWriter()
        SurfaceController.write(r, into: &w)
        return json(w.bytes, status: status)
    }

    static func write(_ r: DecisionService.SurfaceReading, into w: inout JSONWriter) {
        w.beginObject()
        w.key("name"); w.string(r.config.name)
        w.key("policy"); w.string(r.policy)
        w.key("estimator"); w.string(r.config.policy.estimator.rawValue)
        w.key("parameters"); w.beginObject()
        for p in r.parameters { w.key(p.name); w.double(p.value) }
        w.endObject()
        if r.config.policy.isContextual {
            w.key("payoff"); w.string(r.config.policy.payoff == .perArm ? "per_arm" : "shared")
        }
        w.key("features"); w.beginArray()
        for f in r.config.features { w.string(f) }
        w.endArray()
        w.key("arm_features"); w.beginArray()
        for f in r.config.armFeatures { w.string(f) }
        w.endArray()
        w.key("reward"); w.string(r.config.reward.name)
        w.key("attribution_window_ms"); w.int(r.config.attributionWindowMillis)
        w.key("arms"); w.beginArray()
        for a in r.arms {
            w.beginObject()
            w.key("name"); w.string(a.name)
            w.key("active"); w.bool(a.active)
            if let prior = a.prior {
                w.key("prior"); w.beginObject()
                w.key("trials"); w.double(prior.trials)
                w.key("reward_sum"); w.double(prior.rewardSum)
                w.endObject()
            }
            w.endObject()
        }
        w.endArray()
        w.key("policy_version"); w.int(r.version)
        w.key("model_updates"); w.int(r.updates)
        let c = r.counters
        w.key("counters"); w.beginObject()
        for (name, v) in [
            ("decisions", c.decisions), ("rewards_joined", c.joined), ("rewards_duplicate", c.duplicate), ("rewards_late", c.late), ("expired", c.expired),
            ("evicted", c.evicted), ("decisions_repeated", c.repeated),
        ] {
            w.key(name); w.int(v)
        }
        w.endObject()
        w.endObject()
    }
}
