import Common
import Events
import StateFormat
import Testing

@testable import Bandits

/// The decision points' learning in a partition: decisions arrive as impression events,
/// rewards join them in the partition, and the partitions' estimators merge.
@Suite struct BanditLearnerTests {
    static let surfaces = [
        SurfaceLearning(name: "banner", policy: PolicySpec(algorithm: .thompsonBeta), features: [], armFeatureCount: 0, reward: .click, attributionWindowMillis: 1000),
        SurfaceLearning(name: "offer", policy: PolicySpec(algorithm: .linUCB), features: ["recency", "orders"], armFeatureCount: 0, reward: .purchase, attributionWindowMillis: 5000),
        SurfaceLearning(name: "upsell", policy: PolicySpec(algorithm: .ucb1), features: [], armFeatureCount: 0, reward: .revenue, attributionWindowMillis: 3000),
        SurfaceLearning(name: "adversarial", policy: PolicySpec(algorithm: .exp3), features: [], armFeatureCount: 0, reward: .click, attributionWindowMillis: 2000),
        SurfaceLearning(
            name: "shared", policy: PolicySpec(algorithm: .linearThompson, payoff: .shared), features: ["recency"], armFeatureCount: 1, reward: .click,
            attributionWindowMillis: 2000),
    ]
    static let arms = ["banner": ["a", "b", "c"], "offer": ["x", "y"], "upsell": ["w", "z"], "adversarial": ["p", "q", "r"], "shared": ["s1", "s2"]]

    /// A time-ordered stream: decisions on every surface, then clicks, purchases and
    /// rewards for some, some late and some repeated, for 60 users.
    static func stream(seed: UInt64) -> [Event] {
        var r = SeededRandom(seed: seed)
        var events: [Event] = []
        var ts: Int64 = 1_000_000
        for k in 0..<3000 {
            ts += Int64(r.next() % 20)
            let user = "u\(r.next() % 60)"
            let names = surfaces.map(\.name)
            let surface = names[Int(r.next() % UInt64(names.count))]
            let arms = Self.arms[surface]!
            let id = "d\(k)"
            let context = ["recency": Double(r.next() % 30), "orders": Double(r.next() % 4)]
            let armFeatures = surface == "shared" ? [Double(r.next() % 3)] : []
            events.append(Event(timestamp: ts, body: .impression(Impression(
                decisionID: id, user: user, action: arms[Int(r.next() % UInt64(arms.count))], propensity: 0.25 + r.unit() / 2, surface: surface,
                context: context, armFeatures: armFeatures))))
            switch r.next() % 6 {
            case 0: events.append(Event(timestamp: ts + 1, body: .click(Click(user: user, decisionID: id))))
            case 1: events.append(Event(timestamp: ts + 2, body: .click(Click(user: user))))
            case 2:
                let revenue = Money(units: Double(r.next() % 100))!
                events.append(Event(timestamp: ts + 3, body: .purchase(Purchase(
                    user: user, orderID: "o\(k)", items: [.init(item: "i", price: revenue, quantity: 1)], revenue: revenue, currency: "EUR"))))
            case 3: events.append(Event(timestamp: ts + 1, body: .reward(Reward(decisionID: id, value: r.unit(), user: user))))
            case 4: events.append(Event(timestamp: ts + 1, body: .impression(Impression(decisionID: id, user: user, action: arms[0], surface: surface, context: context, armFeatures: armFeatures))))
            default: break
            }
            ts += 1
        }
        return events
    }

    static func partition(_ e: Event, of n: Int) -> Int { Int(e.user!.utf8.reduce(UInt32(7)) { $0 &* 31 &+ UInt32($1) } % UInt32(n)) }

    func bytes(_ l: BanditLearner) -> [UInt8] {
        var w = StateWriter()
        l.encode(to: &w)
        return w.bytes
    }

    @Test func shardedByUserThenMergedEqualsOneSequentialLearnerBitForBit() throws {
        let events = Self.stream(seed: 11)
        let end = events.last!.timestamp + 100_000
        var sequential = try BanditLearner(surfaces: Self.surfaces)
        var shards = try (0..<4).map { _ in try BanditLearner(surfaces: Self.surfaces) }
        for e in events {
            sequential.learn(e)
            shards[Self.partition(e, of: 4)].learn(e)
        }
        // Every partition's clock passes every window, as later events would.
        for k in 0..<4 {
            let late = Event(timestamp: end, body: .click(Click(user: "closing-\(k)")))
            sequential.learn(late)
            shards[k].learn(late)
        }
        var merged = shards[0].shared!
        for s in shards.dropFirst() { merged.merge(s.shared!) }
        #expect(bytes(merged) == bytes(sequential.shared!), "the merged partitions must hold exactly the sequential estimators and counters")
        let counters = sequential.join.counters
        #expect(counters.allSatisfy { $0.decisions > 0 && $0.joined > 0 && $0.expired > 0 && $0.repeated > 0 }, "\(counters)")
        #expect(sequential.surfaces.allSatisfy { $0.estimator.updates > 0 })
        // Merged in another order, the state is the same too.
        var reversed = shards[3].shared!
        for s in shards.dropLast().reversed() { reversed.merge(s.shared!) }
        #expect(bytes(reversed) == bytes(merged))
    }

    @Test func aRepeatedDecisionIsLearntOnceAndAnUnknownSurfaceNotAtAll() throws {
        var l = try BanditLearner(surfaces: Self.surfaces)
        let first = Impression(decisionID: "d", user: "u", action: "a", propensity: 0.5, surface: "banner")
        l.learn(Event(timestamp: 10, body: .impression(first)))
        l.learn(Event(timestamp: 11, body: .impression(first)))
        l.learn(Event(timestamp: 12, body: .impression(Impression(decisionID: "e", user: "u", action: "a", surface: "nowhere"))))
        l.learn(Event(timestamp: 13, body: .click(Click(user: "u", decisionID: "d"))))
        l.learn(Event(timestamp: 14, body: .click(Click(user: "u", decisionID: "d"))))
        let c = l.join.counters[0]
        #expect(c.decisions == 1 && c.repeated == 1 && c.joined == 1 && c.duplicate == 1 && c.updates == 1, "\(c)")
        #expect(l.unlearnable == 1)
        #expect(l.surface(named: "banner")!.estimator.updates == 1)
    }

    @Test func aRestoredLearnerKeepsWhatStillLearnsAlikeAndSaysWhatItDropped() throws {
        var l = try BanditLearner(surfaces: Self.surfaces)
        for e in Self.stream(seed: 3).prefix(500) { l.learn(e) }
        var w = StateWriter()
        l.encode(to: &w)
        var r = StateReader(w.bytes)
        var restored = try BanditLearner(from: &r, version: BanditLearner.stateVersion)
        #expect(bytes(restored) == w.bytes, "decoding and encoding again gives the same bytes")
        // Now configured: banner as before, offer with another estimator setting, upsell gone.
        var offer = Self.surfaces[1]
        offer.policy.parameters["regularization"] = 5
        let fresh = try BanditLearner(surfaces: [Self.surfaces[0], offer])
        let notes = restored.adopt(configurationOf: fresh)
        #expect(notes.count == 4, "\(notes)")
        #expect(notes.contains { $0.contains("'offer'") && $0.contains("starts fresh") } && notes.contains { $0.contains("'upsell'") && $0.contains("no longer configured") })
        #expect(restored.surfaces.map(\.learning.name) == ["banner", "offer"])
        #expect(restored.surface(named: "banner")!.estimator.updates == l.surface(named: "banner")!.estimator.updates)
        #expect(restored.surface(named: "offer")!.estimator.updates == 0)
        #expect(restored.join.counters[0] == l.join.counters[0])
    }

    @Test func preparedPoliciesDecideOnTheCatalogueArmsWithTheirPriors() throws {
        var l = try BanditLearner(surfaces: [Self.surfaces[0]])
        // Arm "b" is learnt to be good; "c" is in the catalogue but never shown; "gone" was
        // shown but is no longer listed.
        var t: Int64 = 0
        for k in 0..<400 {
            t += 10
            let arm = ["a", "b", "gone"][k % 3]
            l.learn(Event(timestamp: t, body: .impression(Impression(decisionID: "d\(k)", user: "u\(k)", action: arm, propensity: 1, surface: "banner"))))
            if arm == "b" || (arm == "a" && k % 9 == 0) { l.learn(Event(timestamp: t + 1, body: .click(Click(user: "u\(k)", decisionID: "d\(k)")))) }
        }
        l.learn(Event(timestamp: t + 10_000, body: .click(Click(user: "x"))))
        let catalogue = BanditLearner.Catalogue(
            spec: PolicySpec(algorithm: .thompsonBeta, parameters: ["propensity_draws": 200]),
            arms: [ArmDefinition(name: "a"), ArmDefinition(name: "b"), ArmDefinition(name: "c", prior: ArmPrior(trials: 50, rewardSum: 1))], dimension: 0)
        try l.prepare(["banner": catalogue])
        let policy = l.policies["banner"]!
        #expect(policy.count(arm: 0) == 134, "arm a keeps its 134 observations")
        #expect(policy.count(arm: 2) == 50, "arm c has only its prior")
        var random = SeededRandom(decisionID: "q")
        let answer = try l.decide(BanditLearner.Request(surface: "banner", input: DecisionInput(eligible: [0, 1, 2]), rankingLength: 3), random: &random)
        #expect(answer.choice.arm == 1 && answer.ranking == [1, 0, 2], "\(answer)")
        var again = SeededRandom(decisionID: "q")
        #expect(try l.decide(BanditLearner.Request(surface: "banner", input: DecisionInput(eligible: [0, 1, 2]), rankingLength: 3), random: &again) == answer)
    }
}
