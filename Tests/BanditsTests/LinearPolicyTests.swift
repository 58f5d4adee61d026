import Common
import Events
import StateFormat
import Testing

@testable import Bandits

/// Solves A·x = b by Gaussian elimination with partial pivoting: an independent check of
/// the Cholesky-updated ridge regression.
func solveDense(_ a: [[Double]], _ b: [Double]) -> [Double] {
    var m = a
    var v = b
    let n = b.count
    for col in 0..<n {
        let pivot = (col..<n).max { abs(m[$0][col]) < abs(m[$1][col]) }!
        m.swapAt(col, pivot)
        v.swapAt(col, pivot)
        for row in (col + 1)..<n {
            let f = m[row][col] / m[col][col]
            for k in col..<n { m[row][k] -= f * m[col][k] }
            v[row] -= f * v[col]
        }
    }
    var x = [Double](repeating: 0, count: n)
    for row in stride(from: n - 1, through: 0, by: -1) {
        var s = v[row]
        for k in (row + 1)..<n { s -= m[row][k] * x[k] }
        x[row] = s / m[row][row]
    }
    return x
}

/// Linear contextual rewards with a known optimum: arm a pays θₐᵀx + noise.
struct LinearEnvironment {
    let dimension: Int
    let thetas: [[Double]]

    init(dimension: Int, arms: Int, seed: UInt64) {
        var r = SeededRandom(seed: seed)
        self.dimension = dimension
        thetas = (0..<arms).map { _ in
            let v = (0..<dimension).map { _ in r.normal() }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return v.map { $0 / norm }
        }
    }

    func context(_ r: inout SeededRandom) -> [Double] {
        let v = (0..<dimension).map { _ in r.normal() }
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return v.map { $0 / norm }
    }

    func payoff(_ arm: Int, _ x: [Double]) -> Double {
        zip(thetas[arm], x).reduce(0) { $0 + $1.0 * $1.1 }
    }

    /// Per-arm runs feed the context; shared runs feed each arm's one-hot block of the
    /// context (the arm × context interaction a shared model needs to express per-arm θ).
    func run(_ policy: inout BanditPolicy, rounds: Int, shared: Bool, seed: UInt64) -> [Double] {
        let arms = thetas.count
        for _ in 0..<arms { _ = policy.addArm(prior: .none) }
        var env = SeededRandom(seed: seed)
        var regrets: [Double] = []
        for t in 0..<rounds {
            let x = context(&env)
            let blocks = (0..<arms).map { a in (0..<arms).flatMap { $0 == a ? x : [Double](repeating: 0, count: dimension) } }
            let input = DecisionInput(eligible: Array(0..<arms), features: shared ? [] : x, armFeatures: shared ? blocks : [])
            var random = SeededRandom(decisionID: "c\(t)", salt: seed)
            let choice = policy.choose(input, random: &random)
            let reward = payoff(choice.arm, x) + 0.1 * env.normal()
            regrets.append((0..<arms).map { payoff($0, x) }.max()! - payoff(choice.arm, x))
            policy.update(arm: choice.arm, features: shared ? blocks[choice.arm] : x, reward: reward, propensity: choice.propensity)
        }
        return regrets
    }
}

@Suite struct LinearPolicyTests {
    @Test func choleskyUpdatedRidgeMatchesADirectSolveAndTheFactorisationAfterAMerge() {
        var r = SeededRandom(seed: 21)
        let d = 6
        var model = RidgeRegression(dimension: d, regularization: 0.5)
        var a = (0..<d).map { i in (0..<d).map { $0 == i ? 0.5 : 0.0 } }
        var b = [Double](repeating: 0, count: d)
        for _ in 0..<200 {
            let x = (0..<d).map { _ in r.normal() }
            let y = r.normal()
            model.update(x, y)
            for i in 0..<d {
                b[i] += y * x[i]
                for j in 0..<d { a[i][j] += x[i] * x[j] }
            }
        }
        let theta = solveDense(a, b)
        for i in 0..<d { #expect(abs(model.theta[i] - theta[i]) < 1e-9) }
        let probe = (0..<d).map { _ in r.normal() }
        let ainvProbe = solveDense(a, probe)
        let width = zip(probe, ainvProbe).reduce(0) { $0 + $1.0 * $1.1 }
        #expect(abs(model.width(probe) - width) < 1e-9)
        // Merged into an empty model, the statistics are refactored through LAPACK: the
        // same estimates.
        var merged = RidgeRegression(dimension: d, regularization: 0.5)
        merged.merge(model)
        #expect(merged == model)
        for i in 0..<d { #expect(abs(merged.theta[i] - theta[i]) < 1e-9) }
        #expect(abs(merged.width(probe) - width) < 1e-9)
    }

    /// The Gram sums take two paths (64-bit sums of rounded terms for ordinary features,
    /// 128-bit exact sums for products of 2¹¹ and more, settled into each other as the
    /// 64-bit ones fill): whatever the order, sharding and encoding, the statistics are
    /// the same bits, and the estimates those of a direct solve.
    @Test func ridgeStatisticsAreTheSameBitsWhateverOrderShardingAndPathOfEachObservation() throws {
        var r = SeededRandom(seed: 5)
        let d = 4
        // Features up to 45 put up to 2,025 into the 64-bit sums per observation (about
        // 1,350 on average), so a model settles them into the exact sums every 6,000 or
        // so; features up to 100 take the 128-bit path.
        let observations: [([Double], Double)] = (0..<30_000).map { k in
            let size = k % 7 == 0 ? 100.0 : 45.0
            return ((0..<d).map { _ in size * (r.unit() * 2 - 1) }, r.normal())
        }
        var onlyBatched = RidgeRegression(dimension: d)
        for (k, (x, y)) in observations.enumerated() where k % 7 != 0 { onlyBatched.update(x, y) }
        #expect(onlyBatched.gram.contains { $0 != ExactSum() }, "the 64-bit sums were never settled")
        var sequential = RidgeRegression(dimension: d)
        for (x, y) in observations { sequential.update(x, y) }
        var backward = RidgeRegression(dimension: d)
        for (x, y) in observations.reversed() { backward.update(x, y) }
        var shards = [RidgeRegression](repeating: RidgeRegression(dimension: d), count: 3)
        for (k, (x, y)) in observations.enumerated() { shards[(k * 7919) % 3].update(x, y) }
        var merged = RidgeRegression(dimension: d)
        for s in shards.reversed() { merged.merge(s) }
        #expect(sequential == backward)
        #expect(sequential == merged)
        var w = StateWriter()
        sequential.encode(to: &w)
        var reader = StateReader(w.bytes)
        let decoded = try RidgeRegression(from: &reader, version: RidgeRegression.stateVersion)
        #expect(decoded == sequential)
        var a = (0..<d).map { i in (0..<d).map { $0 == i ? 1.0 : 0.0 } }
        var b = [Double](repeating: 0, count: d)
        for (x, y) in observations {
            for i in 0..<d {
                b[i] += y * x[i]
                for j in 0..<d { a[i][j] += x[i] * x[j] }
            }
        }
        let theta = solveDense(a, b)
        for i in 0..<d {
            #expect(abs(sequential.theta[i] - theta[i]) < 1e-9)
            #expect(abs(decoded.theta[i] - theta[i]) < 1e-9)
        }
    }

    @Test func ridgeDrawsHaveTheirPosteriorMeanAndCovariance() {
        var model = RidgeRegression(dimension: 2, regularization: 1)
        model.update([1, 0], 2)
        model.update([1, 1], 1)
        // A = I + [[2,1],[1,1]] = [[3,1],[1,2]]; A⁻¹ = [[2,-1],[-1,3]] / 5.
        var r = SeededRandom(seed: 4)
        let n = 100_000
        var mean = [0.0, 0.0]
        var cov = [[0.0, 0.0], [0.0, 0.0]]
        let draws = (0..<n).map { _ in model.sample(scale: 1, &r) }
        for d in draws { for i in 0..<2 { mean[i] += d[i] / Double(n) } }
        for d in draws { for i in 0..<2 { for j in 0..<2 { cov[i][j] += (d[i] - mean[i]) * (d[j] - mean[j]) / Double(n) } } }
        for i in 0..<2 { #expect(abs(mean[i] - model.theta[i]) < 0.01) }
        #expect(abs(cov[0][0] - 0.4) < 0.01 && abs(cov[1][1] - 0.6) < 0.01 && abs(cov[0][1] + 0.2) < 0.01, "\(cov)")
    }

    @Test(arguments: [false, true])
    func linUCBAndLinearThompsonLearnTheOptimalArm(shared: Bool) {
        let env = LinearEnvironment(dimension: 5, arms: 4, seed: 8)
        let d = shared ? 20 : 5
        let rounds = 20_000
        let payoff: LinearPayoff = shared ? .shared : .perArm
        var ucb = makePolicy(.linUCB, ["alpha": 0.5], dimension: d, payoff: payoff)
        var ts = makePolicy(.linearThompson, ["scale": 0.1, "propensity_draws": 1], dimension: d, payoff: payoff)
        // ε-greedy over the same ridge model: a combination, not a new type.
        var greedy = makePolicy(.epsilonGreedy, ["epsilon": 0.05], dimension: d, payoff: payoff, estimator: .ridge)
        var uniform = makePolicy(.exp3, ["gamma": 1])  // γ = 1: uniformly random, the no-learning baseline
        let rUCB = env.run(&ucb, rounds: rounds, shared: shared, seed: 2)
        let rTS = env.run(&ts, rounds: rounds, shared: shared, seed: 2)
        let rGreedy = env.run(&greedy, rounds: rounds, shared: shared, seed: 2)
        let rUniform = env.run(&uniform, rounds: rounds, shared: shared, seed: 2)
        let total = { (r: [Double]) in r.reduce(0, +) }
        let lateMean = { (r: [Double]) in r.suffix(2_000).reduce(0, +) / 2_000 }
        #expect(rGreedy.reduce(0, +) < 0.2 * rUniform.reduce(0, +), "ε-greedy over ridge regret \(rGreedy.reduce(0, +)) vs uniform \(rUniform.reduce(0, +))")
        for (name, r) in [("linucb", rUCB), ("linear-thompson", rTS)] {
            #expect(total(r) < 0.1 * total(rUniform), "\(name) regret \(total(r)) vs uniform \(total(rUniform))")
            #expect(lateMean(r) < 0.01, "\(name) still loses \(lateMean(r)) per round at the end")
            // Sublinear: the second half costs less than the first.
            let firstHalf: Double = r.prefix(rounds / 2).reduce(0, +)
            let secondHalf: Double = r.suffix(rounds / 2).reduce(0, +)
            #expect(secondHalf < firstHalf / 2, "\(name): \(secondHalf) after \(firstHalf)")
        }
    }

    @Test func linearThompsonPropensitiesMatchChoiceFrequencies() {
        let env = LinearEnvironment(dimension: 3, arms: 3, seed: 1)
        var ts = makePolicy(.linearThompson, ["scale": 1, "propensity_draws": 1], dimension: 3)
        _ = env.run(&ts, rounds: 30, shared: false, seed: 5)
        let input = DecisionInput(eligible: [0, 1, 2], features: [0.6, 0.0, 0.8])
        var r = SeededRandom(seed: 3)
        let reference = ts.distribution(input, draws: 100_000, &r)
        #expect(abs(reference.reduce(0, +) - 1) < 1e-9)
        var counts = [0, 0, 0]
        for k in 0..<20_000 {
            var random = SeededRandom(decisionID: "p\(k)")
            counts[ts.choose(input, random: &random).arm] += 1
        }
        for arm in 0..<3 {
            #expect(abs(Double(counts[arm]) / 20_000 - reference[arm]) < 0.015, "arm \(arm): \(counts) vs \(reference)")
        }
    }
}
