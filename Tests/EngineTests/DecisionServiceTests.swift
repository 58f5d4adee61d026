import Bandits
import Common
import Events
import Foundation
import Logging
import StateFormat
import Stream
import Synchronization
import Testing

@testable import Engine

/// A settable clock.
final class TestClock: Sendable {
    let now = Atomic<Int64>(1_700_000_000_000)
    func advance(_ ms: Int64) { now.add(ms, ordering: .relaxed) }
    var read: @Sendable () -> Int64 { { [self] in now.load(ordering: .relaxed) } }
    var millis: Int64 { now.load(ordering: .relaxed) }
}

/// A decision log that refuses every record.
final class RefusingLog: DecisionLog {
    struct Refused: Error {}
    func append(partition: Int32?, key: [UInt8], record: [UInt8]) throws -> DecisionLogTicket { throw Refused() }
    func flush(timeoutMillis: Int) -> Bool { true }
}

/// A decision log that accepts records and never acknowledges them.
final class UnacknowledgingLog: DecisionLog {
    func append(partition: Int32?, key: [UInt8], record: [UInt8]) throws -> DecisionLogTicket { DecisionLogTicket { false } }
    func flush(timeoutMillis: Int) -> Bool { false }
}

@Suite struct DecisionServiceTests {
    static let banner = SurfaceConfiguration(
        name: "banner", policy: PolicySpec(algorithm: .thompsonBeta, parameters: ["propensity_draws": 200]),
        arms: ["a", "b", "c"].map { SurfaceConfiguration.Arm(name: $0) }, reward: .click, attributionWindowMillis: 60_000)
    static let offer = SurfaceConfiguration(
        name: "offer", policy: PolicySpec(algorithm: .linUCB, parameters: ["alpha": 0.5]), features: ["recency", "mobile"],
        arms: ["x", "y"].map { SurfaceConfiguration.Arm(name: $0) }, reward: .revenue, attributionWindowMillis: 60_000)

    func engine(clock: TestClock = TestClock(), partitions: Int32 = 1, surfaces: [SurfaceConfiguration] = [banner, offer]) throws -> InProcessEngine {
        try InProcessEngine(surfaces: surfaces, partitions: partitions, seed: 7, instance: "t", logger: Logger(label: "test"), clock: clock.read)
    }

    func click(_ user: String, _ decision: String?, at ts: Int64) -> Event {
        Event(timestamp: ts, body: .click(Click(user: user, decisionID: decision)))
    }

    /// An event past every window, so that every partition's clock ends them.
    func later(_ e: InProcessEngine, _ clock: TestClock) -> [Event] {
        (0..<e.routing.partitions).map { p in
            let user = (0..<10_000).map { "closing-\($0)" }.first { e.routing.partition(of: $0) == p }!
            return Event(timestamp: clock.millis + 3_600_000, body: .click(Click(user: user)))
        }
    }

    func counters(_ e: InProcessEngine, _ surface: String) -> JoinCounters { e.decisions.reading(surface: surface)!.counters }

    @Test func decisionsAreLoggedAsImpressionEventsThatTheirPartitionLearnsFrom() async throws {
        let e = try engine(partitions: 4)
        let d = try await e.decisions.decide(DecisionRequest(surface: "offer", user: "u1", context: ["recency": 0.3], rankingLength: 2))
        #expect(["x", "y"].contains(d.action) && d.ranking.count == 2 && d.ranking[0] == d.action)
        #expect(d.propensity == 1 || d.propensity == 0.5, "LinUCB is deterministic but for ties")
        #expect(d.policy == "linucb" && d.policyVersion == 1 && d.modelUpdates == 0)
        #expect(d.id.hasSuffix("@\(e.routing.partition(of: "u1"))"), "a generated id names the partition of its user: \(d.id)")
        let record = DecisionRecord.encode(d)
        var decoder = EventDecoder()
        guard case .success(let event) = decoder.decode(record), case .impression(let i) = event.body else {
            Issue.record("the log record is not an impression event")
            return
        }
        #expect(i.decisionID == d.id && i.action == d.action && i.propensity == d.propensity && i.user == "u1")
        #expect(i.surface == "offer" && i.context == ["recency": 0.3])
        let object = try JSONSerialization.jsonObject(with: Data(record)) as! [String: Any]
        #expect((object["eligible"] as? [String]) == ["x", "y"])
        // Applied, it waits in the join of its user's partition, and only there.
        e.apply()
        let p = e.routing.partition(of: "u1")
        for q in Int32(0)..<4 {
            let open = e.state(partition: q).learner(BanditLearner.self)!.join.pendingCount
            #expect(open == (q == p ? 1 : 0), "partition \(q)")
        }
        #expect(counters(e, "offer").decisions == 1)
    }

    @Test func badRequestsAreRefusedWithReasonsAndChangeNothing() async throws {
        let e = try engine()
        let s = e.decisions
        func refusal(_ r: DecisionRequest, _ service: DecisionService? = nil) async -> DecisionError? {
            do { _ = try await (service ?? s).decide(r); return nil } catch { return error }
        }
        #expect(await refusal(DecisionRequest(surface: "nope", user: "u"))?.kind == .notFound)
        #expect(await refusal(DecisionRequest(surface: "offer", user: ""))?.kind == .invalid)
        let unknownFeature = await refusal(DecisionRequest(surface: "offer", user: "u", context: ["recncy": 1]))
        #expect(unknownFeature?.kind == .invalid && unknownFeature!.message.contains("recency, mobile"), "\(String(describing: unknownFeature))")
        #expect(await refusal(DecisionRequest(surface: "offer", user: "u", context: ["mobile": .nan]))?.kind == .invalid)
        #expect(await refusal(DecisionRequest(surface: "banner", user: "u", eligible: []))?.kind == .invalid)
        #expect(await refusal(DecisionRequest(surface: "banner", user: "u", eligible: ["a", "zz"]))?.message.contains("zz") == true)
        #expect(await refusal(DecisionRequest(surface: "banner", user: "u", eligible: ["a", "a"]))?.kind == .invalid)
        #expect(e.pendingRecords == 0, "nothing refused is logged")
        // A decision that cannot be logged, or is never acknowledged, is not made.
        let publisher = LocalStatePublisher(views: e.views)
        let refusing = DecisionService(views: e.views, log: RefusingLog(), publisher: publisher, routing: e.routing, seed: 0, instance: "r", logger: Logger(label: "test"))
        #expect(await refusal(DecisionRequest(surface: "banner", user: "u"), refusing)?.kind == .unavailable)
        let silent = DecisionService(views: e.views, log: UnacknowledgingLog(), publisher: publisher, routing: e.routing, seed: 0, instance: "s", logger: Logger(label: "test"))
        #expect(await refusal(DecisionRequest(surface: "banner", user: "u"), silent)?.kind == .unavailable)
        let unwaiting = DecisionService(
            views: e.views, log: UnacknowledgingLog(), publisher: publisher, routing: e.routing, seed: 0, instance: "w", waitForLog: false, logger: Logger(label: "test"))
        #expect(await refusal(DecisionRequest(surface: "banner", user: "u"), unwaiting) == nil, "without wait_for_log the answer does not wait for the log")
    }

    @Test func aClientIDIsAnIdempotencyKey() async throws {
        let e = try engine()
        let first = try await e.decisions.decide(DecisionRequest(surface: "banner", user: "u", decisionID: "mine"))
        let again = try await e.decisions.decide(DecisionRequest(surface: "banner", user: "u", decisionID: "mine"))
        #expect(again == first)
        #expect(e.pendingRecords == 1, "a retry answered from memory is not logged again")
        do {
            _ = try await e.decisions.decide(DecisionRequest(surface: "banner", user: "someone else", decisionID: "mine"))
            Issue.record("a client id reused for another user must be refused")
        } catch {
            #expect(error.kind == .conflict)
        }
    }

    @Test func eligibleSetsAreHonoured() async throws {
        let e = try engine()
        for k in 0..<200 {
            let d = try await e.decisions.decide(DecisionRequest(surface: "banner", user: "u\(k)", eligible: ["b", "c"]))
            #expect(d.action != "a")
            #expect(d.eligible == ["b", "c"])
        }
    }

    @Test func equallyFreshViewsGiveTheSameDecisionForTheSameID() async throws {
        let clock = TestClock()
        let a = try engine(clock: clock, partitions: 3), b = try engine(clock: clock, partitions: 3)
        for k in 0..<60 {
            let request = DecisionRequest(surface: "banner", user: "u\(k)", decisionID: "id-\(k)")
            let x = try await a.decisions.decide(request), y = try await b.decisions.decide(request)
            #expect(x == y)
            let rewards = x.action == "b" ? [click("u\(k)", x.id, at: clock.millis + 1)] : []
            a.apply(rewards)
            b.apply(rewards)
            clock.advance(100)
        }
        #expect(a.views.view.fingerprint == b.views.view.fingerprint)
        #expect(StateSummary.digest(a.views.view.bandits) == StateSummary.digest(b.views.view.bandits))
    }

    @Test func clicksTeachThePolicyAndEveryDecisionLearnsOnceAcrossPartitions() async throws {
        let clock = TestClock()
        let e = try engine(clock: clock, partitions: 4)
        var rewarded = 0
        for k in 0..<3000 {
            let d = try await e.decisions.decide(DecisionRequest(surface: "banner", user: "u\(k % 700)"))
            // Arm b is clicked 30% of the time, the others 5%.
            let p = d.action == "b" ? 0.3 : 0.05
            var events: [Event] = []
            if Double((k &* 2_654_435_761) % 1000) / 1000 < p {
                events = [click(d.user, d.id, at: clock.millis + 5), click(d.user, d.id, at: clock.millis + 6)]  // a double click: a duplicate
                rewarded += 1
            }
            if k % 10 == 9 || !events.isEmpty { e.apply(events) }
            clock.advance(100)
        }
        e.apply(later(e, clock))
        let c = counters(e, "banner")
        #expect(c.decisions == 3000)
        #expect(c.joined == Int64(rewarded) && c.duplicate == Int64(rewarded))
        #expect(c.updates == 3000, "every decision learns exactly once: clicked ones at the click, the others at expiry")
        #expect(c.expired == Int64(3000 - rewarded))
        let late = try await e.decisions.decide(DecisionRequest(surface: "banner", user: "z"))
        #expect(late.modelUpdates == 3000)
        // The policy has found the best arm.
        var chosen = [String: Int]()
        for k in 0..<500 { chosen[try await e.decisions.decide(DecisionRequest(surface: "banner", user: "w\(k)")).action, default: 0] += 1 }
        #expect(chosen["b", default: 0] > 400, "\(chosen)")
    }

    @Test func purchasesRewardRevenueSurfacesByUserWithinTheWindow() async throws {
        let clock = TestClock()
        let e = try engine(clock: clock)
        _ = try await e.decisions.decide(DecisionRequest(surface: "offer", user: "buyer", context: ["recency": 1, "mobile": 0]))
        let order = Purchase(user: "buyer", orderID: "o1", items: [.init(item: "i", price: Money(units: 12.5)!, quantity: 1)], revenue: Money(units: 12.5)!, currency: "EUR")
        let at = clock.millis
        e.apply([Event(timestamp: at + 10, body: .purchase(order)), Event(timestamp: at + 20, body: .purchase(order))])
        e.apply(later(e, clock))
        let c = counters(e, "offer")
        #expect(c.joined == 1 && c.duplicate == 1 && c.updates == 1)
        #expect(e.decisions.reading(surface: "offer")!.updates == 1)
        // A purchase after the window is not attributed.
        clock.advance(7_200_000)
        _ = try await e.decisions.decide(DecisionRequest(surface: "offer", user: "late"))
        let purchase = Purchase(user: "late", orderID: "o2", items: [.init(item: "i", price: Money(units: 1)!, quantity: 1)], revenue: Money(units: 1)!, currency: "EUR")
        e.apply([Event(timestamp: clock.millis + 61_000, body: .purchase(purchase))])
        #expect(counters(e, "offer").joined == 1)
    }

    @Test func rewardEventsAreExplicitAndOrphansAreCounted() async throws {
        let clock = TestClock()
        let e = try engine(clock: clock)
        let d = try await e.decisions.decide(DecisionRequest(surface: "offer", user: "u"))
        let t = clock.millis + 1
        e.apply([
            Event(timestamp: t, body: .reward(Reward(decisionID: d.id, value: 3))), Event(timestamp: t, body: .reward(Reward(decisionID: d.id, value: 3))),
            Event(timestamp: t, body: .reward(Reward(decisionID: "unknown", value: 1))), click("u", "unknown-too", at: t),
        ])
        #expect(e.views.view.bandits.join.orphans == 2)
        let offer = counters(e, "offer")
        #expect(offer.joined == 1 && offer.duplicate == 1 && offer.updates == 1)
        // A click naming a revenue surface's decision is not its reward.
        let second = try await e.decisions.decide(DecisionRequest(surface: "offer", user: "u"))
        e.apply([click("u", second.id, at: clock.millis + 2)])
        #expect(counters(e, "offer").joined == 1)
    }

    @Test func armsAndParametersChangeAtRunTimeThroughTheCatalogue() async throws {
        let e = try engine()
        let s = e.decisions
        try await s.addArm(surface: "banner", ArmDefinition(name: "d"))
        await #expect(throws: DecisionError.self) { try await s.addArm(surface: "banner", ArmDefinition(name: "d")) }
        await #expect(throws: DecisionError.self) { try await s.addArm(surface: "banner", ArmDefinition(name: "bad name")) }
        var seen = Set<String>()
        for k in 0..<300 { seen.insert(try await s.decide(DecisionRequest(surface: "banner", user: "u\(k)")).action) }
        #expect(seen.contains("d"))
        try await s.removeArm(surface: "banner", name: "a")
        for k in 0..<300 { #expect(try await s.decide(DecisionRequest(surface: "banner", user: "v\(k)")).action != "a") }
        await #expect(throws: DecisionError.self) { try await s.decide(DecisionRequest(surface: "banner", user: "v", eligible: ["a"])) }
        try await s.addArm(surface: "banner", ArmDefinition(name: "a"))
        #expect(s.reading(surface: "banner")!.arms.allSatisfy { $0.active })
        try await s.setParameters(surface: "offer", ["alpha": 2])
        #expect(s.reading(surface: "offer")!.parameters.first { $0.name == "alpha" }?.value == 2)
        let refused = await #expect(throws: DecisionError.self) { try await s.setParameters(surface: "offer", ["regularization": 3]) }
        #expect(refused?.message.contains("cannot change") == true)
        await #expect(throws: DecisionError.self) { try await s.setParameters(surface: "offer", ["alpha": -1]) }
        #expect(s.reading(surface: "banner")!.version == 4 && s.reading(surface: "offer")!.version == 2)
        // The catalogue's definition travels whole (the state topic's record) and reads back.
        let d = e.views.definition("banner")!
        #expect(try SurfaceDefinition(serialized: d.serialized()) == d)
    }

    @Test func aPartitionSnapshotRestoresThePoliciesAndTheJoinExactly() async throws {
        let clock = TestClock()
        let e = try engine(clock: clock, partitions: 2)
        var open: [Decision] = []
        for k in 0..<200 {
            let d = try await e.decisions.decide(DecisionRequest(surface: "banner", user: "u\(k)"))
            if k % 3 == 0 { e.apply([click(d.user, d.id, at: clock.millis + 1)]) } else { open.append(d) }
            clock.advance(10)
        }
        e.apply()
        for p in Int32(0)..<2 {
            let snapshot = PartitionSnapshot(stream: "s", partition: p, nextOffset: 99, state: e.state(partition: p))
            var notes: [String] = []
            let restored = try PartitionSnapshot(serialized: snapshot.serialized(), context: e.context, notes: &notes)
            #expect(notes.isEmpty && restored.state.bytes == snapshot.state.bytes)
            // Rewards for decisions made before the snapshot are joined once, after it.
            var before = snapshot.state, after = restored.state
            let pending = open.filter { e.routing.partition(of: $0.user) == p }.prefix(5)
            for d in pending {
                let reward = click(d.user, d.id, at: clock.millis)
                before.learn(reward)
                after.learn(reward)
                after.learn(reward)
            }
            #expect(after.learner(BanditLearner.self)!.join.counters[0].joined == before.learner(BanditLearner.self)!.join.counters[0].joined)
            #expect(after.learner(BanditLearner.self)!.join.counters[0].duplicate == Int64(pending.count))
        }
    }
}
