import Bandits
import Events
import Foundation
import Logging
import Stream
import Synchronization
import Testing

@testable import Engine

/// A decision log that keeps records in memory (the file and Kafka logs are exercised by
/// the integration tests).
final class MemoryDecisionLog: DecisionLog {
    let records = Mutex<[[UInt8]]>([])
    let failing = Atomic<Bool>(false)
    struct Refused: Error {}

    func append(key: [UInt8], record: [UInt8]) throws {
        if failing.load(ordering: .relaxed) { throw Refused() }
        records.withLock { $0.append(record) }
    }
    func flush(timeoutMillis: Int) -> Bool { true }
    var count: Int { records.withLock { $0.count } }
}

/// A settable clock.
final class TestClock: Sendable {
    let now = Atomic<Int64>(1_700_000_000_000)
    func advance(_ ms: Int64) { now.add(ms, ordering: .relaxed) }
    var read: @Sendable () -> Int64 { { [self] in now.load(ordering: .relaxed) } }
}

@Suite struct DecisionServiceTests {
    static let banner = SurfaceConfiguration(
        name: "banner", policy: PolicySpec(algorithm: .thompsonBeta, parameters: ["propensity_draws": 200]),
        arms: ["a", "b", "c"].map { SurfaceConfiguration.Arm(name: $0) }, reward: .click, attributionWindowMillis: 60_000)
    static let offer = SurfaceConfiguration(
        name: "offer", policy: PolicySpec(algorithm: .linUCB, parameters: ["alpha": 0.5]), features: ["recency", "mobile"],
        arms: ["x", "y"].map { SurfaceConfiguration.Arm(name: $0) }, reward: .revenue, attributionWindowMillis: 60_000)

    func service(_ log: MemoryDecisionLog = MemoryDecisionLog(), clock: TestClock = TestClock(), restoring: [UInt8]? = nil, surfaces: [SurfaceConfiguration] = [banner, offer]) throws -> DecisionService {
        try DecisionService(surfaces: surfaces, seed: 7, instance: "t", maxPending: 10_000, log: log, restoring: restoring, logger: Logger(label: "test"), clock: clock.read)
    }

    /// Equal policies, arms and counts, and equal joins.
    func sameState(_ a: DecisionService, _ b: DecisionService) -> Bool {
        let x = a.current, y = b.current
        let empty = RewardJoin(surfaces: x.surfaces.count, capacity: 1)
        return x.join == y.join
            && DecisionState.encode(surfaces: x.surfaces, join: empty) == DecisionState.encode(surfaces: y.surfaces, join: empty)
    }

    func click(_ user: String, _ decision: String?) -> Event {
        Event(timestamp: 0, body: .click(Click(user: user, decisionID: decision)))
    }

    @Test func decisionsAreLoggedAsImpressionEventsWithTheirDetails() throws {
        let log = MemoryDecisionLog()
        let s = try service(log)
        let d = try s.decide(DecisionRequest(surface: "offer", user: "u1", context: ["recency": 0.3], rankingLength: 2))
        #expect(["x", "y"].contains(d.action) && d.ranking.count == 2 && d.ranking[0] == d.action)
        #expect(d.propensity == 1 || d.propensity == 0.5, "LinUCB is deterministic but for ties")
        #expect(d.policy == "linucb" && d.policyVersion == 1 && d.modelUpdates == 0)
        #expect(log.count == 1)
        var decoder = EventDecoder()
        guard case .success(let event) = decoder.decode(log.records.withLock { $0[0] }), case .impression(let i) = event.body else {
            Issue.record("the log record is not an impression event")
            return
        }
        #expect(i.decisionID == d.id && i.action == d.action && i.propensity == d.propensity && i.user == "u1")
        let object = try JSONSerialization.jsonObject(with: Data(log.records.withLock { $0[0] })) as! [String: Any]
        #expect(object["surface"] as? String == "offer")
        #expect((object["context"] as? [String: Double]) == ["recency": 0.3])
        #expect((object["eligible"] as? [String]) == ["x", "y"])
    }

    @Test func badRequestsAreRefusedWithReasonsAndChangeNothing() throws {
        let log = MemoryDecisionLog()
        let s = try service(log)
        func refusal(_ r: DecisionRequest) -> DecisionError? {
            do { _ = try s.decide(r); return nil } catch { return error }
        }
        #expect(refusal(DecisionRequest(surface: "nope", user: "u"))?.kind == .notFound)
        #expect(refusal(DecisionRequest(surface: "offer", user: ""))?.kind == .invalid)
        let unknownFeature = refusal(DecisionRequest(surface: "offer", user: "u", context: ["recncy": 1]))
        #expect(unknownFeature?.kind == .invalid && unknownFeature!.message.contains("recency, mobile"), "\(String(describing: unknownFeature))")
        #expect(refusal(DecisionRequest(surface: "offer", user: "u", context: ["mobile": .nan]))?.kind == .invalid)
        #expect(refusal(DecisionRequest(surface: "banner", user: "u", eligible: []))?.kind == .invalid)
        #expect(refusal(DecisionRequest(surface: "banner", user: "u", eligible: ["a", "zz"]))?.message.contains("zz") == true)
        #expect(refusal(DecisionRequest(surface: "banner", user: "u", eligible: ["a", "a"]))?.kind == .invalid)
        _ = try s.decide(DecisionRequest(surface: "banner", user: "u", decisionID: "mine"))
        #expect(refusal(DecisionRequest(surface: "banner", user: "u", decisionID: "mine"))?.kind == .conflict)
        log.failing.store(true, ordering: .relaxed)
        #expect(refusal(DecisionRequest(surface: "banner", user: "u"))?.kind == .unavailable)
        #expect(log.count == 1, "only the one accepted decision is logged")
        #expect(s.counters.pending == 1, "refused decisions are not waiting for rewards")
    }

    @Test func eligibleSetsAreHonoured() throws {
        let s = try service()
        for k in 0..<200 {
            let d = try s.decide(DecisionRequest(surface: "banner", user: "u\(k)", eligible: ["b", "c"]))
            #expect(d.action != "a")
            #expect(d.eligible == ["b", "c"])
        }
    }

    @Test func theSameDecisionIDOnTheSameStateGivesTheSameDecision() throws {
        let clock = TestClock()
        let a = try service(clock: clock)
        let b = try service(clock: clock)
        for k in 0..<50 {
            let request = DecisionRequest(surface: "banner", user: "u\(k)", decisionID: "id-\(k)")
            let x = try a.decide(request), y = try b.decide(request)
            #expect(x == y)
            // Both learn the same thing, so they stay in step.
            if x.action == "b" {
                a.observe(click("u\(k)", x.id))
                b.observe(click("u\(k)", y.id))
            }
            a.tick()
            b.tick()
        }
        #expect(sameState(a, b))
    }

    @Test func clicksTeachThePolicyAndEveryDecisionLearnsOnce() throws {
        let clock = TestClock()
        let s = try service(clock: clock)
        var rewarded = 0
        for k in 0..<3000 {
            let d = try s.decide(DecisionRequest(surface: "banner", user: "u\(k)"))
            // Arm b is clicked 30% of the time, the others 5%.
            let p = d.action == "b" ? 0.3 : 0.05
            if Double((k &* 2_654_435_761) % 1000) / 1000 < p {
                s.observe(click("u\(k)", d.id))
                s.observe(click("u\(k)", d.id))  // a double click: a duplicate
                rewarded += 1
            }
            clock.advance(100)
            s.tick()
        }
        clock.advance(120_000)
        s.tick()
        let c = s.counters.surfaces.first { $0.0 == "banner" }!.1
        #expect(c.decisions == 3000)
        #expect(c.joined == Int64(rewarded) && c.duplicate == Int64(rewarded))
        #expect(c.updates == 3000, "every decision learns exactly once: clicked ones at the click, the others at expiry")
        #expect(c.expired == Int64(3000 - rewarded))
        let late = try s.decide(DecisionRequest(surface: "banner", user: "z"))
        #expect(late.modelUpdates == 3000)
        // The policy has found the best arm.
        var chosen = [String: Int]()
        for k in 0..<500 { chosen[try s.decide(DecisionRequest(surface: "banner", user: "w\(k)")).action, default: 0] += 1 }
        #expect(chosen["b", default: 0] > 400, "\(chosen)")
    }

    @Test func purchasesRewardRevenueSurfacesByUserWithinTheWindow() throws {
        let clock = TestClock()
        let s = try service(clock: clock)
        let d = try s.decide(DecisionRequest(surface: "offer", user: "buyer", context: ["recency": 1, "mobile": 0]))
        let order = Purchase(user: "buyer", orderID: "o1", items: [], revenue: Money(units: 12.5)!, currency: "EUR")
        s.observe(Event(timestamp: 0, body: .purchase(order)))
        s.observe(Event(timestamp: 0, body: .purchase(order)))
        clock.advance(61_000)
        s.tick()
        let c = s.counters.surfaces.first { $0.0 == "offer" }!.1
        #expect(c.joined == 1 && c.duplicate == 1 && c.updates == 1)
        let reading = s.reading(surface: "offer")!
        #expect(reading.updates == 1)
        _ = d
        // A purchase after the window is not attributed.
        _ = try s.decide(DecisionRequest(surface: "offer", user: "late"))
        clock.advance(61_000)
        s.observe(Event(timestamp: 0, body: .purchase(Purchase(user: "late", orderID: "o2", items: [], revenue: Money(units: 1)!, currency: "EUR"))))
        #expect(s.counters.surfaces.first { $0.0 == "offer" }!.1.joined == 1)
    }

    @Test func rewardEventsAreExplicitAndOrphansAreCounted() throws {
        let s = try service()
        let d = try s.decide(DecisionRequest(surface: "offer", user: "u"))
        s.observe(Event(timestamp: 0, body: .reward(Reward(decisionID: d.id, value: 3))))
        s.observe(Event(timestamp: 0, body: .reward(Reward(decisionID: d.id, value: 3))))
        s.observe(Event(timestamp: 0, body: .reward(Reward(decisionID: "unknown", value: 1))))
        s.observe(click("u", "unknown-too"))
        let counters = s.counters
        #expect(counters.orphans == 2)
        let offer = counters.surfaces.first { $0.0 == "offer" }!.1
        #expect(offer.joined == 1 && offer.duplicate == 1 && offer.updates == 1)
        // A click naming a revenue surface's decision is not its reward.
        let e = try s.decide(DecisionRequest(surface: "offer", user: "u"))
        s.observe(click("u", e.id))
        #expect(s.counters.surfaces.first { $0.0 == "offer" }!.1.joined == 1)
    }

    @Test func armsAndParametersChangeAtRunTime() throws {
        let s = try service()
        try s.addArm(surface: "banner", SurfaceConfiguration.Arm(name: "d"))
        #expect(throws: DecisionError.self) { try s.addArm(surface: "banner", SurfaceConfiguration.Arm(name: "d")) }
        #expect(throws: DecisionError.self) { try s.addArm(surface: "banner", SurfaceConfiguration.Arm(name: "bad name")) }
        var seen = Set<String>()
        for k in 0..<300 { seen.insert(try s.decide(DecisionRequest(surface: "banner", user: "u\(k)")).action) }
        #expect(seen.contains("d"))
        try s.removeArm(surface: "banner", name: "a")
        for k in 0..<300 { #expect(try s.decide(DecisionRequest(surface: "banner", user: "v\(k)")).action != "a") }
        #expect(throws: DecisionError.self) { try s.decide(DecisionRequest(surface: "banner", user: "v", eligible: ["a"])) }
        try s.addArm(surface: "banner", SurfaceConfiguration.Arm(name: "a"))
        #expect(s.reading(surface: "banner")!.arms.allSatisfy { $0.active })
        try s.setParameters(surface: "offer", ["alpha": 2])
        #expect(s.reading(surface: "offer")!.parameters.first { $0.name == "alpha" }?.value == 2)
        let refused = #expect(throws: DecisionError.self) { try s.setParameters(surface: "offer", ["regularization": 3]) }
        #expect(refused?.message.contains("cannot change") == true)
        #expect(throws: DecisionError.self) { try s.setParameters(surface: "offer", ["alpha": -1]) }
        #expect(s.reading(surface: "banner")!.version == 4 && s.reading(surface: "offer")!.version == 2)
    }

    @Test func stateRestoresPoliciesArmsAndTheJoin() throws {
        let clock = TestClock()
        let s = try service(clock: clock)
        try s.addArm(surface: "banner", SurfaceConfiguration.Arm(name: "runtime", prior: ArmPrior(trials: 10, rewardSum: 5)))
        var open: [String] = []
        for k in 0..<200 {
            let d = try s.decide(DecisionRequest(surface: "banner", user: "u\(k)"))
            if k % 3 == 0 { s.observe(click("u\(k)", d.id)) } else { open.append(d.id) }
        }
        s.tick()
        let state = s.encodeState()
        let restored = try service(clock: clock, restoring: state)
        #expect(sameState(restored, s))
        #expect(restored.reading(surface: "banner")!.arms.map(\.name) == ["a", "b", "c", "runtime"])
        // The same decisions after the restore, and rewards for decisions made before it
        // are joined, once.
        #expect(try s.decide(DecisionRequest(surface: "banner", user: "q", decisionID: "q1")) == (try restored.decide(DecisionRequest(surface: "banner", user: "q", decisionID: "q1"))))
        restored.observe(click("u1", open[0]))
        restored.observe(click("u0", nil))
        #expect(restored.counters.surfaces[0].1.joined == 67 + 1)
        // A changed configuration: the surface whose algorithm changed starts fresh, the
        // other keeps its state.
        var changed = Self.banner
        changed.policy = PolicySpec(algorithm: .ucb1)
        let fresh = try service(clock: clock, restoring: state, surfaces: [changed, Self.offer])
        #expect(fresh.reading(surface: "banner")!.updates == 0 && fresh.reading(surface: "banner")!.arms.count == 3)
        #expect(throws: ConfigurationError.self) { try service(clock: clock, restoring: Array(state.dropLast())) }
    }
}
