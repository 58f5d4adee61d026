import Events
import StateFormat
import Testing

@testable import Bandits

@Suite struct ActionStatisticsTests {
    func impression(_ action: String, _ p: Double?) -> Event {
        Event(timestamp: 1, body: .impression(Impression(decisionID: "d", user: "u", action: action, propensity: p)))
    }

    @Test func countsExposuresAndInverseWeights() {
        var s = ActionStatistics()
        s.learn(impression("a", 0.25))
        s.learn(impression("a", 0.5))
        s.learn(impression("b", nil))
        s.learn(Event(timestamp: 1, body: .click(Click(user: "u", decisionID: "d"))))
        s.learn(Event(timestamp: 1, body: .click(Click(user: "u"))))
        s.learn(Event(timestamp: 1, body: .reward(Reward(decisionID: "d", value: 2.5))))
        s.learn(Event(timestamp: 1, body: .view(ItemInteraction(user: "u", item: "i"))))
        #expect(s.actions["a"]?.impressions == 2)
        #expect(s.actions["a"]?.inversePropensitySum.value == 6)
        #expect(s.actions["a"]?.withPropensity == 2)
        #expect(s.actions["b"]?.withPropensity == 0)
        #expect(s.clicks == 2 && s.clicksWithDecision == 1)
        #expect(s.rewards == 1 && s.rewardSum.value == 2.5)
    }

    @Test func shardsMergeToTheSequentialStateAndRoundTrip() throws {
        var rng = SystemRandomNumberGenerator()
        let events = (0..<2000).map { i -> Event in
            switch i % 3 {
            case 0: impression("a\(Int.random(in: 0..<20, using: &rng))", Double.random(in: 0.01...1, using: &rng))
            case 1: Event(timestamp: 1, body: .reward(Reward(decisionID: "d\(i)", value: Double.random(in: -5...5, using: &rng))))
            default: Event(timestamp: 1, body: .click(Click(user: "u", decisionID: i % 2 == 0 ? "d" : nil)))
            }
        }
        var sequential = ActionStatistics()
        var shards = [ActionStatistics](repeating: ActionStatistics(), count: 3)
        for (i, e) in events.enumerated() {
            sequential.learn(e)
            shards[i % 3].learn(e)
        }
        var merged = ActionStatistics()
        shards.reversed().forEach { merged.merge($0) }
        #expect(merged == sequential)

        var w = StateWriter()
        sequential.encode(to: &w)
        var r = StateReader(w.bytes)
        #expect(try ActionStatistics(from: &r, version: ActionStatistics.stateVersion) == sequential)
    }
}
