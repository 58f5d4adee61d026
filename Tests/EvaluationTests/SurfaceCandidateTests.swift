import Bandits
import Common
import Foundation
import Testing

@testable import Evaluation

/// Engine policies as candidates: frozen at their priors, learning from the rounds their
/// replay draw matches, and contextual ones reading each round's context from the log.
@Suite struct SurfaceCandidateTests {
    func arms(_ names: [String], _ priors: [ArmPrior] = []) -> [ArmDefinition] {
        names.enumerated().map { ArmDefinition(name: $1, prior: $0 < priors.count ? priors[$0] : .none) }
    }

    @Test func aFrozenPolicyWithPriorsIsItsChoiceDistribution() throws {
        var b = LoggedBanditBuilder(positionCount: 2, knownActions: ["a", "b", "c"])
        b.add(action: "a", position: 0, reward: 1, propensity: 0.5)
        let data = b.data
        let spec = PolicySpec(algorithm: .epsilonGreedy, parameters: ["epsilon": 0.2])
        let priors = [ArmPrior(trials: 10, rewardSum: 9), ArmPrior(trials: 10, rewardSum: 1), ArmPrior(trials: 10, rewardSum: 9.5)]
        let candidate = try SurfaceCandidate(
            name: "greedy", policy: try spec.make(dimension: 0), payoff: nil, arms: arms(["a", "b"], priors), features: [], data: data, learns: false, seed: 1)
        for k in 0..<2 {
            let p = Array(candidate.distribution(round: 0, position: k))
            #expect(abs(p[0] - 0.9) < 1e-12 && abs(p[1] - 0.1) < 1e-12 && p[2] == 0, "\(p)")
        }
        #expect(candidate.name == "greedy, frozen")
        // An arm the log never shows is not eligible (its prior would otherwise win), and
        // the name says so.
        let partial = try SurfaceCandidate(
            name: "greedy", policy: try spec.make(dimension: 0), payoff: nil, arms: arms(["a", "b", "d"], priors), features: [], data: data, learns: false,
            seed: 1)
        let p = Array(partial.distribution(round: 0, position: 0))
        #expect(abs(p[0] - 0.9) < 1e-12 && abs(p.reduce(0, +) - 1) < 1e-12)
        #expect(partial.name.contains("1 of 3 arms not in the log"))
        #expect(throws: EvaluationError.self) {
            try SurfaceCandidate(name: "x", policy: try spec.make(dimension: 0), payoff: nil, arms: arms(["z"]), features: [], data: data, learns: true, seed: 1)
        }
        let linear = try PolicySpec(algorithm: .linUCB).make(dimension: 2)
        #expect(throws: EvaluationError.self, "a context feature the log was read without") {
            try SurfaceCandidate(name: "l", policy: linear, payoff: .perArm, arms: arms(["a"]), features: ["age"], data: data, learns: true, seed: 1)
        }
    }

    /// A uniform log over three Bernoulli arms (0.2, 0.5, 0.8): UCB1 learning from the
    /// rounds it matches earns close to the best arm, where its frozen self (no data,
    /// every index tied) earns the uniform mean; every estimator agrees with replay.
    @Test func aLearningPolicyApproachesTheBestArmAndEveryEstimatorFollowsIt() throws {
        let means = [0.2, 0.5, 0.8]
        var b = LoggedBanditBuilder(positionCount: 1, knownActions: ["a", "b", "c"])
        var random = SeededRandom(seed: 7)
        for _ in 0..<60_000 {
            let a = Int(random.next() % 3)
            b.add(action: ["a", "b", "c"][a], position: 0, reward: random.unit() < means[a] ? 1 : 0, propensity: 1.0 / 3)
        }
        let data = b.data
        let model = RewardModel(fitting: data)
        let settings = EstimatorSettings(bootstrapSamples: 200, seed: 3)
        func evaluate(learns: Bool) throws -> PolicyEvaluation {
            let c = try SurfaceCandidate(
                name: "ucb", policy: try PolicySpec(algorithm: .ucb1).make(dimension: 0), payoff: nil, arms: arms(["a", "b", "c"]), features: [], data: data,
                learns: learns, seed: 1)
            return OffPolicyEvaluation.evaluate(c, on: data, model: model, settings: settings)
        }
        let learning = try evaluate(learns: true)
        let frozen = try evaluate(learns: false)
        let replay = learning.estimates["replay"]!.value
        #expect(replay > 0.75, "UCB1 learning on the matched rounds: \(replay)")
        #expect(abs(frozen.estimates["ips"]!.value - 0.5) < 0.02, "frozen, no data: uniform among tied arms: \(frozen.estimates["ips"]!)")
        for name in ["ips", "snips", "dr", "sndr"] {
            let e = learning.estimates[name]!
            #expect(abs(e.value - replay) < 0.03, "\(name) \(e.value) vs replay \(replay)")
            #expect(e.lower < e.value && e.value < e.upper)
        }
        // Deterministic: a fresh candidate with the same seed gives the same numbers.
        let again = try evaluate(learns: true)
        #expect(again.estimates == learning.estimates && again.replayMatches == learning.replayMatches)
    }

    /// Context decides the best arm (a when x = 1, b when x = 0, each 0.8 against 0.2):
    /// LinUCB learning on the logged context earns close to 0.8; the best context-free
    /// policy earns 0.5.
    @Test func aContextualPolicyLearnsFromTheLoggedContext() throws {
        let csv = NSTemporaryDirectory() + "arbiter-eval-context-\(UUID().uuidString).csv"
        var lines = ["arm,clicked,p,segment,noise"]
        var random = SeededRandom(seed: 11)
        for _ in 0..<30_000 {
            let segment = random.next() % 2 == 0 ? "young" : "old"
            let arm = random.next() % 2 == 0 ? "a" : "b"
            let good = (segment == "young") == (arm == "a")
            lines.append("\(arm),\(random.unit() < (good ? 0.8 : 0.2) ? 1 : 0),0.5,\(segment),\(random.unit())")
        }
        lines.append("a,1,0.5,young,not-a-number")
        try lines.joined(separator: "\n").write(toFile: csv, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: csv) }
        let features = ["segment=young", "noise"]
        let data = try GenericCSV.load(csv, mapping: try ColumnMapping(parsing: "action=arm,reward=clicked,propensity=p"), positions: 1, features: features)
        #expect(data.count == 30_000 && data.rejected == ["non-numeric context feature": 1])
        #expect(data.contextNames == features && data.contexts.count == 60_000)
        let candidate = try SurfaceCandidate(
            name: "linucb", policy: try PolicySpec(algorithm: .linUCB, parameters: ["alpha": 0.5]).make(dimension: 2), payoff: .perArm,
            arms: arms(["a", "b"]), features: ["segment=young"], data: data, learns: true, seed: 1)
        let r = OffPolicyEvaluation.evaluate(candidate, on: data, model: RewardModel(fitting: data), settings: EstimatorSettings(bootstrapSamples: 100))
        for name in ["replay", "ips", "dr"] {
            #expect(r.estimates[name]!.value > 0.75, "\(name): \(r.estimates[name]!.value)")
        }
    }

    @Test func jsonContextsTreatAbsentFeaturesAsZeroAndRejectNonNumbers() throws {
        let path = NSTemporaryDirectory() + "arbiter-eval-context-\(UUID().uuidString).jsonl"
        try """
            {"arm":"x","r":1,"p":0.5,"age":30,"tier":"gold"}
            {"arm":"y","r":0,"p":0.5}
            {"arm":"x","r":0,"p":0.5,"age":"thirty"}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let data = try GenericJSONLines.load(
            path, mapping: try ColumnMapping(parsing: "action=arm,reward=r,propensity=p"), positions: 1, features: ["age", "tier=gold"])
        #expect(data.count == 2 && data.rejected == ["non-numeric context feature": 1])
        #expect(data.contexts == [30, 1, 0, 0])
    }
}
