import Common
import Engine
import Events
import Foundation
import Hummingbird
import HummingbirdTesting
import Pricing
import Testing

@testable import Server

/// `POST /v1/price` answers as `docs/openapi.yaml` says (every answer is checked against
/// it by the test client), and refuses bad requests with the reason.
@Suite struct PriceControllerTests {
    static let pricing: [PricingConfiguration] = {
        let shoes = PricingSurface(
            name: "shoes",
            products: [
                PricedProduct(id: "runner", ladder: try! PriceLadder(prices: [19.99, 24.99, 29.99].map { Money(units: $0)! }, unitCost: Money(units: 10)!, currency: "EUR")),
                PricedProduct(id: "trail", ladder: try! PriceLadder.range(from: Money(units: 30)!, to: Money(units: 60)!, step: Money(units: 5)!, currency: "EUR")),
            ])
        let hats = PricingSurface(
            name: "hats", products: [PricedProduct(id: "cap", ladder: try! PriceLadder(prices: [10, 12, 14].map { Money(units: $0)! }, currency: "USD"))],
            demand: .logit, features: ["mobile"])
        return [
            PricingConfiguration(learning: shoes, objective: .margin, guardrails: [PriceGuardrails(maximum: Money(units: 25)), PriceGuardrails()], propensityDraws: 200),
            PricingConfiguration(learning: hats, strategy: .epsilonGreedy(epsilon: 0.1)),
        ]
    }()

    @Test func priceAnswersEachProductWithItsEstimatesAndGuardrails() async throws {
        try await DecisionControllerTests().withServer { c, engine, _ in
            let a = try await c.call(.post, "/v1/price", json: #"{"surface":"shoes","user":"u1","products":["runner","trail"]}"#, expect: .ok)
            #expect(a["policy"] as? String == "thompson" && a["objective"] as? String == "margin")
            let prices = a["prices"] as? [[String: Any]] ?? []
            #expect(prices.map { $0["product"] as? String } == ["runner", "trail"])
            #expect(prices[0]["bound_by"] as? [String] == ["maximum"] && (prices[0]["price"] as? Double ?? 99) <= 25)
            #expect(prices[0]["margin"] != nil && prices[0]["conversion"] != nil && prices[0]["propensity_draws"] as? Double == 200)
            #expect(engine.pendingRecords == 2)
            let one = try await c.call(.post, "/v1/price", json: #"{"surface":"hats","user":"u2","product":"cap","context":{"mobile":1}}"#, expect: .ok)
            let cap = (one["prices"] as? [[String: Any]])?.first ?? [:]
            #expect(cap["elasticity"] is Double && cap["propensity_draws"] == nil, "ε-greedy's propensity is exact")
        }
    }

    @Test(arguments: [
        (#"{"surface":"shoes","user":"u"}"#, "'products' (an array of product ids) or 'product' is required"),
        (#"{"surface":"shoes","user":"u","products":"runner"}"#, "'products' must be an array"),
        (#"{"surface":"shoes","user":"u","products":[1]}"#, "'products' must hold product ids"),
        (#"{"surface":"shoes","user":"u","products":["runner"],"product":"trail"}"#, "not both"),
        (#"{"surface":"shoes","user":"u","products":[]}"#, "'products' must name 1–100 products"),
        (#"{"surface":"shoes","user":"u","products":["sandal"]}"#, "unknown product 'sandal'"),
        (#"{"surface":"shoes","user":"u","products":["runner","runner"]}"#, "appears twice"),
        (#"{"surface":"shoes","user":"u","product":"runner","context":{"mobile":1}}"#, "unknown context feature 'mobile'"),
        (#"{"surface":"hats","user":"u","product":"cap","context":{"mobile":"yes"}}"#, "'context.mobile' must be a finite number"),
        (#"{"surface":"shoes","user":"u","product":"runner","colour":"red"}"#, "unknown field 'colour'"),
    ])
    func badPriceRequestsGet400WithTheReason(body: String, reason: String) async throws {
        try await DecisionControllerTests().withServer { c, engine, _ in
            let answer = try await c.call(.post, "/v1/price", json: body, expect: .badRequest)
            #expect((answer["error"] as? String)?.contains(reason) == true, "\(answer)")
            #expect(engine.pendingRecords == 0, "a refused request logs nothing")
        }
    }

    @Test func unknownSurfacesAndReusedIdsHaveTheirStatus() async throws {
        try await DecisionControllerTests().withServer { c, engine, _ in
            let missing = try await c.call(.post, "/v1/price", json: #"{"surface":"socks","user":"u","product":"a"}"#, expect: .notFound)
            #expect((missing["error"] as? String)?.contains("pricing surfaces: shoes, hats") == true)
            let first = try await c.call(.post, "/v1/price", json: #"{"surface":"shoes","user":"u","product":"trail","decision_id":"mine"}"#, expect: .ok)
            let again = try await c.call(.post, "/v1/price", json: #"{"surface":"shoes","user":"u","product":"trail","decision_id":"mine"}"#, expect: .ok)
            #expect((first["prices"] as? [[String: Any]])?.first?["price"] as? Double == (again["prices"] as? [[String: Any]])?.first?["price"] as? Double)
            #expect(engine.pendingRecords == 1, "asked again, the same id is not logged again")
            try await c.call(.post, "/v1/price", json: #"{"surface":"shoes","user":"v","product":"trail","decision_id":"mine"}"#, expect: .conflict)
        }
    }
}
