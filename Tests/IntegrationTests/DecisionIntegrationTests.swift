import Events
import Foundation
import Stream
import Testing

/// Decisions over HTTP against a real broker: every decision reaches the events topic in
/// its user's partition (also when the engine is stopped or killed right after
/// deciding), rewards in the event stream and from POST /v1/reward teach the policy once
/// each, and the join survives a restart. Price quotes likewise reach the topic, and the
/// purchases that follow in the stream teach their product's demand.
@Suite(.serialized) struct DecisionIntegrationTests {
    func surface(_ engine: EngineProcess, _ name: String) async throws -> [String: Any] {
        let (code, body) = try await engine.get("/v1/surfaces/\(name)")
        guard code == 200, let json = try JSONSerialization.jsonObject(with: body) as? [String: Any] else { throw HarnessError("surface \(code)") }
        return json
    }

    func counters(_ engine: EngineProcess, _ name: String) async throws -> [String: Int] {
        try await surface(engine, name)["counters"] as? [String: Int] ?? [:]
    }

    @Test func decisionsAreLoggedAndRewardsTeachThePolicyOnce() async throws {
        let broker = try Broker()
        defer { broker.stop() }
        try broker.createEngineTopics(partitions: 4)
        let snapshots = Paths.temporary("decisions")
        let extra = ["ARBITER_DECISIONS_INSTANCE": "it1", "ARBITER_DECISIONS_SEED": "11"]
        let engine = EngineProcess(broker: broker, group: "decisions", snapshots: snapshots, name: "a", extra: extra)
        try engine.start()
        try await engine.eventually(60, "engine holds its partitions") { (try? await engine.status().heldPartitions.count) == 4 }

        // 300 decisions on the click surface.
        var decisions: [(id: String, user: String, action: String, propensity: Double)] = []
        for k in 0..<300 {
            let (code, d) = try await engine.post("/v1/decide", #"{"surface":"home_banner","user":"user\#(k)"}"#)
            #expect(code == 200, "\(d)")
            decisions.append((d["decision_id"] as! String, "user\(k)", d["action"] as! String, d["propensity"] as! Double))
        }
        let (bad, refusal) = try await engine.post("/v1/decide", #"{"surface":"home_banner"}"#)
        #expect(bad == 400 && (refusal["error"] as? String)?.contains("'user' is required") == true)

        // Clicks in the event stream: one per decision that showed free_shipping, some
        // twice, plus clicks naming decisions nobody made.
        let clicked = decisions.filter { $0.action == "free_shipping" }
        #expect(clicked.count > 10, "\(clicked.count) decisions showed free_shipping")
        var lines: [String] = []
        for (i, d) in clicked.enumerated() {
            lines.append(#"{"type":"click","v":1,"ts":1700000000000,"user":"\#(d.user)","decision_id":"\#(d.id)"}"#)
            if i % 4 == 0 { lines.append(lines.last!) }
        }
        let duplicates = (clicked.count + 3) / 4
        for k in 0..<5 { lines.append(#"{"type":"click","v":1,"ts":1700000000000,"user":"x\#(k)","decision_id":"nobody-\#(k)"}"#) }
        let file = snapshots + "-clicks.jsonl"
        try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        try await waitForExit(try produce(file, to: broker), 60, "produce clicks")
        // And one reward through the API (it travels through the events topic too).
        let unclicked = decisions.first { $0.action != "free_shipping" }!
        let (accepted, _) = try await engine.post("/v1/reward", #"{"decision_id":"\#(unclicked.id)","value":1,"user":"\#(unclicked.user)"}"#)
        #expect(accepted == 202)

        let joined = clicked.count + 1
        try await engine.eventually(60, "rewards joined") { (try await counters(engine, "home_banner"))["rewards_joined"] == joined }
        let c = try await counters(engine, "home_banner")
        #expect(c["decisions"] == 300 && c["rewards_duplicate"] == duplicates, "\(c)")
        #expect(try await surface(engine, "home_banner")["model_updates"] as? Int == joined, "each reward updates the policy once; the other decisions wait for their window")
        let metrics = try await engine.metrics()
        #expect(metrics.contains("arbiter_rewards_orphan_total 5"), "\(metrics.split(separator: "\n").filter { $0.contains("orphan") })")
        #expect(metrics.contains(#"arbiter_decisions_total{surface="home_banner"} 300"#))

        // Prices: 40 shoppers get quotes for two products; half buy the CD at its price, and
        // the purchase (through the stream) is learnt as a sale at that price, at once.
        var quotes: [String: (price: Double, user: String)] = [:]
        var buys: [String] = []
        for k in 0..<40 {
            let (code, a) = try await engine.post("/v1/price", #"{"surface":"catalogue","user":"shopper\#(k)","products":["cdnow-cd","cdnow-box"]}"#)
            #expect(code == 200, "\(a)")
            let prices = a["prices"] as? [[String: Any]] ?? []
            #expect(prices.count == 2)
            for q in prices { quotes[q["decision_id"] as! String] = (q["price"] as! Double, "shopper\(k)") }
            if k % 2 == 0, let cd = prices.first, let price = cd["price"] as? Double {
                buys.append(#"{"type":"purchase","v":1,"ts":\#(Int64(Date().timeIntervalSince1970 * 1000)),"user":"shopper\#(k)","order_id":"o\#(k)","items":[{"item":"cdnow-cd","price":\#(price),"quantity":1}],"revenue":\#(price),"currency":"USD"}"#)
            }
        }
        let purchases = snapshots + "-purchases.jsonl"
        try buys.joined(separator: "\n").write(toFile: purchases, atomically: true, encoding: .utf8)
        try await waitForExit(try produce(purchases, to: broker), 60, "produce purchases")
        try await engine.eventually(60, "sales learnt") {
            (try await engine.metrics()).split(separator: "\n").contains { $0.hasPrefix("arbiter_price_outcomes_learnt{") && $0.contains("cdnow-cd") && $0.split(separator: " ").last.flatMap { Double($0) } == 20 }
        }
        // The outlet's dynamic program answers from the draws of the published state, with
        // an exact propensity (a share of its 16 draws).
        for k in 0..<5 {
            let (code, a) = try await engine.post("/v1/price", #"{"surface":"outlet","user":"shopper\#(k)","product":"lamp"}"#)
            let q = (a["prices"] as? [[String: Any]])?.first ?? [:]
            #expect(code == 200 && a["policy"] as? String == "dynamic-program" && q["propensity_draws"] == nil, "\(a)")
            let share = (q["propensity"] as? Double ?? 0) * 16
            #expect(share >= 1 && abs(share - share.rounded()) < 1e-9 && [19.0, 24, 29, 34].contains(q["price"] as? Double ?? 0), "\(q)")
            quotes[q["decision_id"] as? String ?? "missing"] = (q["price"] as? Double ?? 0, "shopper\(k)")
        }
        // A shopper asking again within the same-user time keeps the quote they were shown.
        let (kept, repeated) = try await engine.post("/v1/price", #"{"surface":"catalogue","user":"shopper1","product":"cdnow-box"}"#)
        let keptQuote = (repeated["prices"] as? [[String: Any]])?.first ?? [:]
        #expect(kept == 200 && (keptQuote["bound_by"] as? [String])?.contains("same_user") == true, "\(repeated)")
        #expect(quotes[keptQuote["decision_id"] as? String ?? ""]?.user == "shopper1")

        // Bids: the specification's banner example for 20 users; each bid's win notice is
        // called as an exchange would, and the campaign's spend in the group's view becomes
        // the sum of the clearing prices / 1000.
        let example = try String(contentsOfFile: Paths.root + "/../shared/data/openrtb/6.2.1-request-example-1-simple-banner.json", encoding: .utf8)
        var bids: [String: Double] = [:]
        var charged = 0.0
        for k in 0..<20 {
            let (code, a) = try await engine.post("/v1/bid", example.replacingOccurrences(of: "55816b39711f9b5acf3b90e313ed29e51665623f", with: "bidder\(k)"))
            let bid = ((a["seatbid"] as? [[String: Any]])?.first?["bid"] as? [[String: Any]])?.first ?? [:]
            #expect(code == 200 && bid["cid"] as? String == "spring-shoes" && a["cur"] as? String == "USD", "\(a)")
            guard let id = bid["id"] as? String, let price = bid["price"] as? Double, let nurl = bid["nurl"] as? String, let path = nurl.range(of: "/v1/") else { continue }
            bids[id] = price
            let clearing = (price * 500).rounded() / 1000
            charged += clearing / 1000
            let (status, _) = try await engine.get(String(nurl[path.lowerBound...]).replacingOccurrences(of: "${AUCTION_PRICE}", with: "\(clearing)"))
            #expect(status == 204)
        }
        try await engine.eventually(60, "win notices learnt") {
            let (_, body) = try await engine.get("/v1/campaigns")
            let campaigns = ((try JSONSerialization.jsonObject(with: body)) as? [String: Any])?["campaigns"] as? [[String: Any]] ?? []
            let today = campaigns.first { $0["id"] as? String == "spring-shoes" }?["today"] as? [String: Any] ?? [:]
            return today["wins"] as? Int == 20 && abs((today["spend"] as? Double ?? 0) - charged) < 1e-5
        }

        // Decisions made just before SIGTERM are flushed to the topic before exit.
        for k in 0..<50 {
            let (code, d) = try await engine.post("/v1/decide", #"{"surface":"offer","user":"late\#(k)","context":{"orders":\#(k % 5)},"ranking":3}"#)
            #expect(code == 200 && (d["ranking"] as? [String])?.count == 3)
            decisions.append((d["decision_id"] as! String, "late\(k)", d["action"] as! String, d["propensity"] as! Double))
        }
        try await engine.terminate()
        let logged = try await loggedDecisions(broker)
        let byID = logged.filter { $0.value.price == nil }
        #expect(byID.count == decisions.count, "\(byID.count) decision records for \(decisions.count) decisions")
        for d in decisions {
            #expect(byID[d.id]?.action == d.action && byID[d.id]?.propensity == d.propensity, "\(d.id)")
        }
        let bidRecords = logged.filter { $0.value.surface == "bids" }
        #expect(bidRecords.count == bids.count, "\(bidRecords.count) bid records for \(bids.count) bids")
        for (id, price) in bids { #expect(bidRecords[id]?.price?.units == price && bidRecords[id]?.action == "spring-shoes", "\(id)") }
        let quoted = logged.filter { $0.value.price != nil && $0.value.surface != "bids" }
        #expect(quoted.count == quotes.count, "\(quoted.count) quote records for \(quotes.count) quotes: a kept price is not logged again")
        for (id, q) in quotes { #expect(quoted[id]?.price?.units == q.price && quoted[id]?.user == q.user, "\(id)") }

        // Restarted, the engine keeps what it learnt and remembers settled decisions: a
        // repeated click is a duplicate, not a second update.
        let again = EngineProcess(broker: broker, group: "decisions", snapshots: snapshots, name: "b", extra: extra)
        try again.start()
        try await again.eventually(60, "restarted engine holds its partitions") { (try? await again.status().heldPartitions.count) == 4 }
        #expect(try await surface(again, "home_banner")["model_updates"] as? Int == joined)
        let repeatFile = snapshots + "-repeat.jsonl"
        try #"{"type":"click","v":1,"ts":1700000000000,"user":"\#(clicked[1].user)","decision_id":"\#(clicked[1].id)"}"#.write(toFile: repeatFile, atomically: true, encoding: .utf8)
        try await waitForExit(try produce(repeatFile, to: broker), 60, "produce the repeated click")
        try await again.eventually(60, "repeat counted") { (try await counters(again, "home_banner"))["rewards_duplicate"] == duplicates + 1 }
        #expect(try await surface(again, "home_banner")["model_updates"] as? Int == joined)
        try await again.terminate()
    }

    /// The decisions in the events topic (impression events naming a surface), by id.
    /// Each must be keyed by its user and sit in the partition of the user's other events.
    func loggedDecisions(_ broker: Broker) async throws -> [String: Impression] {
        var decoder = EventDecoder()
        var byID: [String: Impression] = [:]
        var partitionOfUser: [String: Int32] = [:]
        for m in try await readTopic("arbiter.events", broker: broker) {
            guard case .success(let e) = decoder.decode(m.value), let user = e.user else { continue }
            if let p = partitionOfUser[user] { #expect(p == m.partition, "user \(user) is in partitions \(p) and \(m.partition)") }
            partitionOfUser[user] = m.partition
            guard case .impression(let i) = e.body, i.surface != nil else { continue }
            #expect(m.key == i.user, "decision records are keyed by user")
            byID[i.decisionID] = i
        }
        return byID
    }

    @Test func everyDecisionAnsweredIsInTheLogEvenWhenTheProcessIsKilledRightAfter() async throws {
        let broker = try Broker()
        defer { broker.stop() }
        try broker.createEngineTopics(partitions: 4)
        let snapshots = Paths.temporary("decisions-kill")
        let engine = EngineProcess(broker: broker, group: "kill", snapshots: snapshots, name: "a", extra: ["ARBITER_DECISIONS_INSTANCE": "k1"])
        try engine.start()
        try await engine.eventually(60, "engine holds its partitions") { (try? await engine.status().heldPartitions.count) == 4 }
        // Eight clients deciding as fast as they can; the process is killed the moment
        // enough answers are in, while others are in flight.
        let answered = AnsweredDecisions()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in 0..<8 {
                group.addTask {
                    var k = 0
                    while !answered.done {
                        k += 1
                        guard let (code, d) = try? await engine.post("/v1/decide", #"{"surface":"home_banner","user":"c\#(client)-\#(k)"}"#), code == 200,
                            let id = d["decision_id"] as? String
                        else { continue }
                        if answered.add(id) { try await engine.kill9() }
                    }
                }
            }
            try await group.waitForAll()
        }
        let ids = answered.all
        #expect(ids.count >= 1200)
        let logged = try await loggedDecisions(broker)
        let missing = ids.filter { logged[$0] == nil }
        #expect(missing.isEmpty, "\(missing.count) of \(ids.count) decisions answered before kill -9 are not in the events topic: \(missing.prefix(5))")
    }
}

/// Decision ids answered so far, shared by concurrent clients.
final class AnsweredDecisions: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: [String] = []
    private var stopped = false

    /// Records an answer (every one, also those that arrive while the process is being
    /// killed); true for the one that reaches 1,200, whose client kills the process.
    func add(_ id: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        ids.append(id)
        guard !stopped, ids.count >= 1200 else { return false }
        stopped = true
        return true
    }

    var done: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopped
    }

    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return ids
    }
}
