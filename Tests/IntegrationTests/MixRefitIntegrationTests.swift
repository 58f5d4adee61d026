import Foundation
import MarketingMix
import Testing

/// The marketing-mix refit inside `arbiter serve`, against a real broker: spend and
/// purchase events flow in, the engine refits in the background, writes the priors file
/// and gives the arms mapped to a channel their new priors, and the campaign mapped to one
/// the channel's marginal ROI, while decisions go on; the unmapped arm, the other surface
/// and the unmapped campaign keep theirs.
@Suite(.serialized) struct MixRefitIntegrationTests {
    @Test func theEngineRefitsAndHotReloadsTheMappedArmsPriors() async throws {
        let broker = try Broker()
        defer { broker.stop() }
        try broker.createEngineTopics(partitions: 2)
        let snapshots = Paths.temporary("mmm")
        let model = snapshots + "-model.yaml"
        try "sampler: {chains: 4, warmup: 500, draws: 500, seed: 23}\n".write(toFile: model, atomically: true, encoding: .utf8)
        let config = snapshots + "-arbiter.yaml"
        try """
            surfaces:
              promo:
                policy: thompson-beta
                parameters: { propensity_draws: 200 }
                reward: click
                arms: [tv_offer, search_offer, house_offer]
                mmm_priors: { reward_per_roi: 0.01, trials: 50, arms: { tv_offer: ch0, search_offer: ch1 } }
              plain:
                policy: ucb1
                reward: click
                arms: [a, b]
            bidding:
              campaigns:
                tv-campaign:
                  currency: USD
                  daily_budget: 50
                  goal: { cpc: 0.5 }
                  channel: ch0
                  bid_cap: 4
                  creatives: [{ id: tv-mrec, size: 300x250, adomain: tv.example }]
                house-campaign:
                  currency: USD
                  daily_budget: 50
                  goal: { cpc: 0.5 }
                  bid_cap: 4
                  creatives: [{ id: house-mrec, size: 300x250, adomain: house.example }]
            mmm:
              refit_interval_ms: 1000
              period: week
              min_periods: 104
              model_config: \(model)
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let engine = EngineProcess(broker: broker, group: "mmm", snapshots: snapshots, name: "a", config: config)
        try engine.start()
        try await engine.eventually(60, "engine holds its partitions") { (try? await engine.status().heldPartitions.count) == 2 }

        // Two years of weekly spend and sales drawn from the model, as daily events.
        let sim = try MixSimulation(weeks: 104, channels: 3, seed: 23)
        var lines: [String] = []
        let start = 19723  // 2024-01-01, days since the epoch
        for t in 0..<sim.data.count {
            for d in 0..<7 {
                let day = start + 7 * t + d
                let date = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(day) * 86_400)).prefix(10)
                for (c, channel) in sim.data.channels.enumerated() where sim.data.spend(t, c) > 0 {
                    let amount = String(format: "%.6f", sim.data.spend(t, c) / 7)
                    lines.append(#"{"type":"spend","v":1,"ts":"\#(date)T00:00:00Z","channel":"\#(channel)","amount":\#(amount),"day":"\#(date)"}"#)
                }
                let revenue = String(format: "%.6f", max(0, sim.data.kpi[t]) / 7)
                lines.append(
                    #"{"type":"purchase","v":1,"ts":\#(Int64(day) * 86_400_000 + 3_600_000),"user":"u\#(t)-\#(d)","order_id":"o\#(t)-\#(d)","items":[{"item":"x","price":\#(revenue),"quantity":1}],"revenue":\#(revenue),"currency":"EUR"}"#)
            }
        }
        let file = snapshots + "-media.jsonl"
        try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let before = try await arms(engine, "promo")
        #expect(before["tv_offer"]?.trials == 0 && before["house_offer"]?.trials == 0)
        try await waitForExit(try produce(file, to: broker), 60, "produce media events")

        let priorsFile = snapshots + "/mmm-priors.json"
        // The mapped arms carry the posterior ROI the priors file holds (refits repeat
        // every second; once all events are in, each gives the same file).
        func matches() async throws -> Bool {
            let roi = try MixPriorsFile.roi(Array(try Data(contentsOf: URL(fileURLWithPath: priorsFile))))
            let current = try await arms(engine, "promo")
            return [("tv_offer", "ch0"), ("search_offer", "ch1")].allSatisfy { arm, channel in
                let expected = 50 * min(1, 0.01 * roi[channel]!)
                return current[arm]!.trials == 50 && abs(current[arm]!.rewardSum - expected) < 1e-9 * max(1, expected) && expected > 0
            }
        }
        try await engine.eventually(120, "a converged refit's priors on the mapped arms") { try await matches() }
        // Decisions go on.
        let (code, _) = try await engine.post("/v1/decide", #"{"surface":"promo","user":"after-refit"}"#)
        #expect(code == 200)
        let roi = try MixPriorsFile.roi(Array(try Data(contentsOf: URL(fileURLWithPath: priorsFile))))
        let after = try await arms(engine, "promo")
        #expect(after["house_offer"]!.trials == 0 && after["house_offer"]!.rewardSum == 0, "an unmapped arm keeps its prior")
        let plain = try await arms(engine, "plain")
        #expect(plain.values.allSatisfy { $0.trials == 0 }, "a surface without a mapping is untouched")
        #expect(Set(roi.keys) == ["ch0", "ch1", "ch2"])
        // The campaign mapped to ch0 values a click at its goal × ch0's marginal ROI.
        let channels = try MixPriorsFile.channels(Array(try Data(contentsOf: URL(fileURLWithPath: priorsFile))))
        var campaigns: [String: [String: Any]] = [:]
        try await engine.eventually(30, "the mapped campaign takes the channel's marginal ROI") {
            let (_, body) = try await engine.get("/v1/campaigns")
            let list = (try JSONSerialization.jsonObject(with: body) as? [String: Any])?["campaigns"] as? [[String: Any]] ?? []
            campaigns = Dictionary(uniqueKeysWithValues: list.map { ($0["id"] as! String, $0) })
            // JSONSerialization's parse of a double is not always the nearest: a relative 1e-12.
            guard let m = (campaigns["tv-campaign"]?["channel_marginal_roi"] as? NSNumber)?.doubleValue, let expected = channels.marginalROI["ch0"] else { return false }
            return abs(m - expected) <= 1e-12 * expected
        }
        let tv = try #require(campaigns["tv-campaign"]), house = try #require(campaigns["house-campaign"])
        #expect(abs((tv["goal_value"] as! Double) - 0.5 * channels.marginalROI["ch0"]!) < 1e-9, "\(tv)")
        #expect(house["goal_value"] as? Double == 0.5 && house["channel"] == nil, "\(house)")
        #expect(try String(contentsOfFile: engine.logPath, encoding: .utf8).contains("marketing-mix refit converged"))
        try await engine.terminate()
    }

    func arms(_ engine: EngineProcess, _ surface: String) async throws -> [String: (trials: Double, rewardSum: Double)] {
        let (code, body) = try await engine.get("/v1/surfaces/\(surface)")
        guard code == 200, let json = try JSONSerialization.jsonObject(with: body) as? [String: Any], let arms = json["arms"] as? [[String: Any]] else {
            throw HarnessError("surface \(surface): \(code)")
        }
        var out: [String: (Double, Double)] = [:]
        for arm in arms {
            let prior = arm["prior"] as? [String: Any]
            out[arm["name"] as! String] = ((prior?["trials"] as? Double) ?? Double(prior?["trials"] as? Int ?? -1), (prior?["reward_sum"] as? Double) ?? Double(prior?["reward_sum"] as? Int ?? -1))
        }
        return out
    }
}
