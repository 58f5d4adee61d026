import Engine
import Foundation
import Hummingbird
import HummingbirdTesting
import Metrics
import Prometheus
import Stream
import Testing

@testable import Server

@Suite struct StatusControllerTests {
    @Test func healthStatusAndMetricsAnswer() async throws {
        let registry = PrometheusCollectorRegistry()
        let health = SourceHealth()
        health.recordProbe(reachable: false)
        let statistics = EngineStatistics()
        let router = Router()
        StatusController(statistics: statistics, health: health, registry: registry).register(on: router)
        let app = Application(router: router)
        try await app.test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                let body = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as! [String: Any]
                #expect(body["status"] as? String == "ok")
                #expect(body["broker_reachable"] as? Bool == false)
            }
            try await client.execute(uri: "/v1/status", method: .get) { response in
                let body = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as! [String: Any]
                let broker = body["broker"] as! [String: Any]
                #expect(broker["outages"] as? Int == 1)
                #expect(body["accepted"] as? Int == 0)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
                #expect(text.contains("arbiter_broker_reachable 0"), "\(text)")
                #expect(text.contains("arbiter_broker_outages 1"))
            }
        }
    }
}
