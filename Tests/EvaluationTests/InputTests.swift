import Bandits
import Foundation
import Testing

@testable import Evaluation

@Suite struct InputTests {
    func temporary(_ name: String, _ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "arbiter-eval-\(UUID().uuidString)-\(name)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func aCSVWithAColumnMappingReadsAndCountsBadRows() throws {
        let path = try temporary("log.csv", """
            slot,arm,clicked,p,other
            1,x,1,0.5,a
            2,y,0,0.25,b
            1,x,maybe,0.5,c
            3,y,0,0.25,d
            1,y,0,,e
            2,x,1,0.5

            """)
        let data = try GenericCSV.load(path, mapping: ColumnMapping(parsing: "action=arm,reward=clicked,propensity=p,position=slot"), positions: 2, positionBase: 1)
        #expect(data.count == 2 && data.actionNames == ["x", "y"] && data.positions == [0, 1])
        #expect(data.rejected == ["missing or non-numeric reward": 1, "position out of range": 1, "missing propensity": 1, "wrong number of fields": 1])
        #expect(throws: EvaluationError.self) { try ColumnMapping(parsing: "action=arm,reward=clicked") }
        #expect(throws: EvaluationError.self) { try GenericCSV.load(path, mapping: ColumnMapping(parsing: "action=arm,reward=nope,propensity=p"), positions: 1) }
    }

    @Test func theEnginesDecisionLogJoinsItsRewardsFromTheEvents() throws {
        let decisions = try temporary("decisions.jsonl", """
            {"type":"impression","v":1,"ts":1,"decision_id":"d1","user":"u1","action":"a","propensity":0.5,"surface":"banner","policy":"ucb1"}
            {"type":"impression","v":1,"ts":2,"decision_id":"d2","user":"u2","action":"b","propensity":0.5,"surface":"banner","policy":"ucb1"}
            {"type":"impression","v":1,"ts":3,"decision_id":"d3","user":"u3","action":"a","propensity":0.25,"surface":"banner","policy":"ucb1"}
            {"type":"impression","v":1,"ts":4,"decision_id":"d4","user":"u4","action":"a","propensity":1,"surface":"offer","policy":"linucb","context":{"orders":3,"mobile":1}}
            {"type":"impression","v":1,"ts":5,"decision_id":"d5","user":"u5","action":"b","propensity":1,"surface":"offer","policy":"linucb","context":{"mobile":0}}
            not json

            """)
        let events = try temporary("events.jsonl", """
            {"type":"click","v":1,"ts":5,"user":"u1","decision_id":"d1"}
            {"type":"reward","v":1,"ts":6,"decision_id":"d3","value":0.5}
            {"type":"click","v":1,"ts":7,"user":"u9"}

            """)
        let data = try DecisionLogInput.load(decisions: decisions, events: events, surface: "banner")
        #expect(data.count == 3 && data.rewards == [1, 0, 0.5] && data.propensities == [0.5, 0.5, 0.25])
        #expect(data.rejected == ["not a decision record": 1])
        let uniform = FixedPolicy.uniform(actions: 2, positions: 1)
        let r = OffPolicyEvaluation.evaluate(uniform, on: data, model: RewardModel(fitting: data), settings: EstimatorSettings(bootstrapSamples: 0))
        // IPS: (0.5/0.5·1 + 0.5/0.5·0 + 0.5/0.25·0.5) / 3.
        #expect(abs(r.estimates["ips"]!.value - 2.0 / 3) < 1e-12)
        #expect(try DecisionLogInput.load(decisions: decisions, events: events, surface: nil).count == 5)
        // A contextual candidate's features come from each decision's recorded context.
        let offer = try DecisionLogInput.load(decisions: decisions, events: events, surface: "offer", features: ["orders", "mobile"])
        #expect(offer.count == 2 && offer.contexts == [3, 1, 0, 0])
    }

    @Test func priceQuotesAreRoundsWhosePricesAreActionsAndWhoseSalesAreJoinedAsTheEngineJoinsThem() throws {
        let q = { (id: String, user: String, ts: Int, product: String, price: String) in
            #"{"type":"impression","v":1,"ts":\#(ts),"decision_id":"\#(id)","user":"\#(user)","action":"\#(product)","surface":"shop","price":\#(price),"propensity":0.5,"context":{"mobile":1}}"#
        }
        let decisions = try temporary("quotes.jsonl", [
            q("q1", "u1", 1000, "cd", "9.99"),
            q("q2", "u2", 1000, "cd", "12.49"),
            q("q3", "u2", 5000, "cd", "9.99"),  // u2's latest quote: the purchase at 6000 is its sale, not q2's
            q("q4", "u3", 1000, "cd", "12.49"),  // bought after the window: no sale
            q("q5", "u4", 1000, "cd", "12.49"),  // a reward names it
            q("q7", "u5", 1000, "cd", "9.99"),  // a reward of 0 settles it unsold: the purchase after is no sale
            q("q8", "u6", 1000, "cd", "9.99"),  // its reward comes after the window: late, no sale
            q("q6", "u1", 1000, "box", "30"),  // another product
            #"{"type":"impression","v":1,"ts":1,"decision_id":"d1","user":"u1","action":"a","propensity":0.5,"surface":"banner"}"#,
        ].joined(separator: "\n"))
        let buy = { (user: String, ts: Int, item: String) in
            #"{"type":"purchase","v":1,"ts":\#(ts),"user":"\#(user)","order_id":"o\#(ts)\#(user)","items":[{"item":"\#(item)","price":9.99,"quantity":1}],"revenue":9.99,"currency":"EUR"}"#
        }
        let events = try temporary("events.jsonl", [
            buy("u1", 2000, "cd"), buy("u1", 2500, "cd"), buy("u2", 6000, "cd"), buy("u3", 9000, "cd"), buy("u1", 2000, "sock"),
            #"{"type":"reward","v":1,"ts":1500,"decision_id":"q5","value":1}"#,
            #"{"type":"reward","v":1,"ts":1500,"decision_id":"q7","value":0}"#, buy("u5", 1600, "cd"),
            #"{"type":"reward","v":1,"ts":4500,"decision_id":"q8","value":1}"#,
        ].joined(separator: "\n"))
        let revenue = try DecisionLogInput.loadQuotes(decisions: decisions, events: events, surface: "shop", product: "cd", windowMillis: 3000, reward: .revenue, features: ["mobile"])
        #expect(revenue.count == 7 && revenue.actionNames == ["9.99", "12.49"])
        #expect(revenue.rewards == [9.99, 0, 9.99, 0, 12.49, 0, 0], "q1 sold once, q2 superseded, q3 sold, q4 late, q5 rewarded, q7 settled unsold, q8's reward late")
        #expect(revenue.contexts == [1, 1, 1, 1, 1, 1, 1] && revenue.propensities.allSatisfy { $0 == 0.5 })
        let sales = try DecisionLogInput.loadQuotes(decisions: decisions, events: events, surface: "shop", product: "cd", windowMillis: 3000, reward: .sale)
        #expect(sales.rewards == [1, 0, 1, 0, 1, 0, 0])
        #expect(try DecisionLogInput.load(decisions: decisions, events: events, surface: nil).count == 1, "price quotes are not bandit rounds")
    }
}

@Suite struct JSONLinesInputTests {
    @Test func aJSONLinesLogWithAColumnMappingReadsAndCountsBadLines() throws {
        let path = NSTemporaryDirectory() + "arbiter-eval-\(UUID().uuidString).jsonl"
        try """
            {"arm":"x","clicked":1,"p":0.5,"slot":0}
            {"arm":7,"clicked":0,"p":0.25,"slot":1}
            {"arm":"x","clicked":"yes","p":0.5,"slot":0}
            {"clicked":1,"p":0.5,"slot":0}
            {"arm":"y","clicked":0,"slot":0}
            [1,2]
            {"arm":"y","clicked":0,"p":0.5,"slot":"one"}

            """.write(toFile: path, atomically: true, encoding: .utf8)
        let data = try GenericJSONLines.load(path, mapping: ColumnMapping(parsing: "action=arm,reward=clicked,propensity=p,position=slot"), positions: 2)
        #expect(data.count == 2 && data.actionNames == ["x", "7"] && data.positions == [0, 1] && data.rewards == [1, 0])
        #expect(data.rejected == ["missing or non-numeric reward": 1, "missing action": 1, "missing propensity": 1, "not a JSON object": 1, "non-numeric position": 1])
    }
}
