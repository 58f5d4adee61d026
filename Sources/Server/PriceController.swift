import Common
import Engine
import Events
import Hummingbird
import Pricing
import Stream

/// `POST /v1/price`: prices for one user's products from the group's view of demand, with
/// the guardrails that bound each. A surface that keeps a user's price reads the user's
/// open quotes where their partition is owned: a process that does not own it forwards the
/// request to the owner.
public struct PriceController: Sendable {
    public let service: PricingService
    let bodies: JSONBodies
    let forwarder: Forwarder

    public init(service: PricingService, maxBodyBytes: Int, instance: String, forwarder: Forwarder? = nil) {
        self.service = service
        bodies = JSONBodies(maxBodyBytes: maxBodyBytes)
        self.forwarder = forwarder ?? Forwarder(instance: instance)
    }

    public func register<Context: RequestContext>(on router: Router<Context>) {
        router.post("/v1/price") { request, _ in
            await handle {
                let (body, raw) = try await bodies.objectAndBody(request, known: ["surface", "user", "products", "product", "context", "decision_id"])
                do {
                    let answer = try await service.price(try priceRequest(body))
                    return json(PriceController.answer(answer), status: .ok)
                } catch let e as PricingService.PriceError {
                    switch e {
                    case .refused(let d): throw d
                    case .notHeld(let partition):
                        return try await forwarder.forward(request, partition: partition, view: service.views.view, method: "POST", path: "/v1/price", body: Array(raw.readableBytesView))
                    }
                }
            }
        }
    }

    private func priceRequest(_ body: JSONValue) throws(RouteError) -> PriceRequest {
        let surface = try string(body, "surface", required: true)!
        let user = try string(body, "user", required: true)!
        var products: [String]
        switch (body["products"], body["product"]) {
        case (.array(let items)?, nil):
            products = try items.map { (item) throws(RouteError) -> String in
                guard case .string(let s) = item, !s.isEmpty else { throw RouteError(.badRequest, "'products' must hold product ids (non-empty strings), found \(item.typeName)") }
                return s
            }
        case (nil, .some):
            products = [try string(body, "product", required: true)!]
        case (.some, .some):
            throw RouteError(.badRequest, "give 'product' or 'products', not both")
        case (.some, nil):
            throw RouteError(.badRequest, "'products' must be an array of product ids")
        case (nil, nil):
            throw RouteError(.badRequest, "'products' (an array of product ids) or 'product' is required")
        }
        var request = PriceRequest(surface: surface, user: user, products: products)
        if let c = body["context"] { request.context = try numbers(c, "context") }
        request.decisionID = try string(body, "decision_id", required: false)
        return request
    }

    /// The `/v1/price` answer.
    public static func answer(_ a: PriceAnswer) -> [UInt8] {
        var w = JSONWriter(reservingCapacity: 512)
        w.beginObject()
        w.key("decision_id"); w.string(a.decisionID)
        w.key("surface"); w.string(a.surface)
        w.key("policy"); w.string(a.policy)
        w.key("policy_version"); w.int(a.policyVersion)
        w.key("objective"); w.string(a.objective.rawValue)
        w.key("ts"); w.int(a.timestamp)
        w.key("prices"); w.beginArray()
        for q in a.quotes {
            w.beginObject()
            w.key("product"); w.string(q.product)
            w.key("decision_id"); w.string(q.decisionID)
            w.key("price")
            if let p = q.price { w.raw(p.description) } else { w.null() }
            w.key("currency"); w.string(q.currency)
            w.key("withheld"); w.bool(q.price == nil)
            w.key("propensity"); w.double(q.propensity)
            if let d = q.propensityDraws { w.key("propensity_draws"); w.int(Int64(d)) }
            if let c = q.conversion { w.key("conversion"); estimate(c, &w) }
            if let v = q.value { w.key(a.objective.rawValue); estimate(v, &w) }
            if let e = q.elasticity { w.key("elasticity"); w.double(e) }
            w.key("bound_by"); w.beginArray()
            for g in q.boundBy { w.string(g.rawValue) }
            w.endArray()
            w.key("model_updates"); w.int(q.modelUpdates)
            if let u = q.unitsLeft { w.key("units_left"); w.int(u) }
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    private static func estimate(_ e: Estimate, _ w: inout JSONWriter) {
        w.beginObject()
        w.key("mean"); w.double(e.mean)
        w.key("low"); w.double(e.low)
        w.key("high"); w.double(e.high)
        w.endObject()
    }
}
