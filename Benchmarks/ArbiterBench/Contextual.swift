import ArgumentParser
import Bandits
import Common
import Foundation
import Stream

/// A simulated contextual data set written by `tools/contextual_data.py`: per round the
/// context, the reward every arm would get, and a uniformly logged action.
struct ContextualData {
    var features: Int
    var arms: Int
    var contexts: [[Double]] = []
    var rewards: [[Double]] = []
    var actions: [Int] = []
    var probabilities: [Double] = []

    /// Reads the CSV (`x0..,r0..,action,probability`). Numbers are converted in place by
    /// `strtod` on the file's bytes: what a data loader on a hot path would do.
    init(path: String) throws {
        var bytes = try FileIO.readAll(path)
        bytes.append(0)
        guard let headerEnd = bytes.firstIndex(of: UInt8(ascii: "\n")) else { throw ValidationError("\(path) has no header") }
        let header = String(decoding: bytes[0..<headerEnd], as: UTF8.self).split(separator: ",")
        features = header.filter { $0.hasPrefix("x") }.count
        arms = header.filter { $0.hasPrefix("r") }.count
        let columns = header.count
        guard columns == features + arms + 2, features > 0, arms > 1 else { throw ValidationError("\(path): unexpected header") }
        var row = [Double](repeating: 0, count: columns)
        let (f, a) = (features, arms)
        var parsed: (contexts: [[Double]], rewards: [[Double]], actions: [Int], probabilities: [Double]) = ([], [], [], [])
        try bytes.withUnsafeBufferPointer { buffer in
            let base = UnsafeMutablePointer(mutating: buffer.baseAddress!)
            var p = UnsafeMutablePointer<CChar>(OpaquePointer(base + headerEnd + 1))
            let end = UnsafeMutablePointer<CChar>(OpaquePointer(base + buffer.count - 1))
            var line = 2
            while p < end {
                for c in 0..<columns {
                    var next: UnsafeMutablePointer<CChar>?
                    row[c] = strtod(p, &next)
                    guard let n = next, n != p else { throw ValidationError("\(path): line \(line) column \(c + 1) is not a number") }
                    p = n + 1  // the ',' or '\n' after the number
                }
                parsed.contexts.append(Array(row[0..<f]))
                parsed.rewards.append(Array(row[f..<(f + a)]))
                parsed.actions.append(Int(row[f + a]))
                parsed.probabilities.append(row[f + a + 1])
                line += 1
            }
        }
        (contexts, rewards, actions, probabilities) = parsed
    }

    func policy(_ name: String, alpha: Double) throws -> BanditPolicy {
        switch name {
        case "linucb": return try make(.linUCB, ["alpha": alpha], dimension: features)
        case "linear-thompson": return try make(.linearThompson, ["scale": alpha, "propensity_draws": 1], dimension: features)
        default: throw ValidationError("policy must be linucb or linear-thompson")
        }
    }
}

/// Online simulation on the full-information data set: the policy chooses each round and
/// sees the reward of its choice (tools/crosscheck-linear.py compares the cumulative
/// reward with MABWiser's).
struct Simulate: ParsableCommand {
    @Option(help: "CSV from tools/contextual_data.py.") var data: String
    @Option(help: "linucb or linear-thompson.") var policy: String
    @Option(help: "LinUCB's α, or linear Thompson's posterior scale v.") var alpha: Double = 1
    @Option(help: "Rounds at the start that choose arm t mod K (as the reference is fitted).") var warmup: Int = 0
    @Option(help: "Mixed into each round's decision seed.") var seed: UInt64 = 1

    func run() throws {
        let set = try ContextualData(path: data)
        var p = try set.policy(policy, alpha: alpha)
        for _ in 0..<set.arms { _ = p.addArm(prior: .none) }
        let eligible = Array(0..<set.arms)
        var total = 0.0
        let start = MonotonicClock.nanos
        for t in set.contexts.indices {
            let x = set.contexts[t]
            var random = SeededRandom(decisionID: "r\(t)", salt: seed)
            let choice = t < warmup ? Choice(arm: t % set.arms, propensity: 1) : p.choose(DecisionInput(eligible: eligible, features: x), random: &random)
            let reward = set.rewards[t][choice.arm]
            total += reward
            p.update(arm: choice.arm, features: x, reward: reward, propensity: choice.propensity)
        }
        emit([("benchmark", "simulate"), ("policy", policy), ("rounds", set.contexts.count), ("cumulative_reward", total),
              ("seconds", Double(MonotonicClock.nanos - start) / 1e9)])
    }
}

/// Learning from logged data as Vowpal Wabbit does with `-d`: read and parse the file,
/// and for each example predict (choose) on its context, then learn the logged action's
/// reward. The timed region includes reading and parsing the file, like VW's.
struct Logged: ParsableCommand {
    @Option(help: "CSV from tools/contextual_data.py.") var data: String
    @Option(help: "linucb or linear-thompson.") var policy: String = "linucb"
    @Option(help: "LinUCB's α, or linear Thompson's posterior scale v.") var alpha: Double = 1

    func run() throws {
        let start = MonotonicClock.nanos
        let set = try ContextualData(path: data)
        var p = try set.policy(policy, alpha: alpha)
        for _ in 0..<set.arms { _ = p.addArm(prior: .none) }
        let eligible = Array(0..<set.arms)
        var matches = 0
        for t in set.contexts.indices {
            let x = set.contexts[t]
            var random = SeededRandom(seed: UInt64(t))
            let choice = p.choose(DecisionInput(eligible: eligible, features: x), random: &random)
            if choice.arm == set.actions[t] { matches += 1 }
            p.update(arm: set.actions[t], features: x, reward: set.rewards[t][set.actions[t]], propensity: set.probabilities[t])
        }
        let seconds = Double(MonotonicClock.nanos - start) / 1e9
        emit([("benchmark", "logged"), ("policy", policy), ("examples", set.contexts.count), ("seconds", seconds),
              ("examples_per_second", Double(set.contexts.count) / seconds), ("agreement_with_log", Double(matches) / Double(set.contexts.count))])
    }
}
