import Bandits
import Common

/// The off-policy estimators, all from one pass over the log (definitions as in Open
/// Bandit Pipeline 0.4.0, position-aware): with w = π(a|t,k)/π₀(a|t,k), q̂ the reward model
/// and q̂_π = Σₐ π(a|t,k) q̂(a,k) / Σₐ π(a|t,k),
///
/// - replay (Li et al. 2011): the mean reward over the rounds where the candidate takes
///   the logged action (for a stochastic candidate, an action is drawn per round from a
///   generator seeded by `seed`);
/// - IPS: mean(w r); SNIPS: Σ w r / Σ w;
/// - DM: mean(q̂_π); DR: mean(q̂_π + w (r − q̂(a))); SNDR: mean(q̂_π) + Σ w (r − q̂(a)) / Σ w;
/// - switch-DR: mean(q̂_π + w (r − q̂(a)) · 1{w ≤ τ}).
///
/// 95 % intervals are percentile bootstraps: `bootstrapSamples` resamples drawn with
/// replacement (a generator seeded by `seed`), each estimator recomputed on each resample
/// (ratios included). The resampled units are the rounds themselves when the log has at
/// most `bootstrapBlocks` rounds (the classic bootstrap); a longer log is cut into
/// `bootstrapBlocks` blocks of consecutive rounds, and blocks are resampled (a block
/// bootstrap). Block sums are i.i.d. when rounds are, so the interval estimates the same
/// sampling distribution; its cost stops growing with the log (a per-round resample of
/// 10 M rounds is 10⁷ random increments into a 40 MB array, out of cache), and rounds
/// correlated in time stay together, which the per-round bootstrap ignores.
public struct EstimatorSettings: Sendable {
    public var tau: Double = 1
    public var bootstrapSamples = 1000
    /// The most resampling units; 0 resamples single rounds however long the log.
    public var bootstrapBlocks = 10_000
    public var confidence = 0.95
    public var seed: UInt64 = 1

    public init(tau: Double = 1, bootstrapSamples: Int = 1000, bootstrapBlocks: Int = 10_000, confidence: Double = 0.95, seed: UInt64 = 1) {
        self.tau = tau
        self.bootstrapSamples = bootstrapSamples
        self.bootstrapBlocks = bootstrapBlocks
        self.confidence = confidence
        self.seed = seed
    }

    /// Rounds per resampling unit for a log of `rounds` rounds.
    public func blockSize(rounds: Int) -> Int {
        bootstrapBlocks > 0 && rounds > bootstrapBlocks ? (rounds + bootstrapBlocks - 1) / bootstrapBlocks : 1
    }
}

/// One estimate with its interval.
public struct Estimate: Sendable, Equatable {
    public var value: Double
    public var lower: Double
    public var upper: Double
}

/// Every estimator's result for one candidate policy.
public struct PolicyEvaluation: Sendable {
    public static let estimators = ["replay", "ips", "snips", "dm", "dr", "sndr", "switch-dr"]

    public var policy: String
    public var rounds: Int
    /// Estimator name → estimate (nil for replay when no round matched).
    public var estimates: [String: Estimate]
    /// (Σw)² / Σw²: how many logged rounds the weighted sample is worth.
    public var effectiveSampleSize: Double
    public var replayMatches: Int
    /// True when the candidate puts probability 1 on one action in every round and slot.
    public var deterministic: Bool
    public var maximumWeight: Double
    /// The replay estimate as the log goes on: (rounds read, mean reward of the matched
    /// rounds so far), at about 200 points.
    public var replayCurve: [(round: Int, value: Double)]
}

/// Sufficient sums of one round set, from which every estimator follows.
struct EstimatorSums {
    var n = 0.0
    var wr = 0.0
    var w = 0.0
    var w2 = 0.0
    var qpi = 0.0
    var correction = 0.0
    var switched = 0.0
    var matchReward = 0.0
    var matches = 0.0

    func values() -> [String: Double?] {
        [
            "replay": matches > 0 ? matchReward / matches : nil,
            "ips": wr / n,
            "snips": w > 0 ? wr / w : nil,
            "dm": qpi / n,
            "dr": (qpi + correction) / n,
            "sndr": w > 0 ? qpi / n + correction / w : nil,
            "switch-dr": (qpi + switched) / n,
        ]
    }
}

/// The per-round terms summed per resampling unit, kept for the bootstrap: one cache line
/// per unit, in the order w·r, w, q̂_π, w(r − q̂), switched correction, match·r, match,
/// rounds.
typealias UnitTerms = [SIMD8<Double>]

public enum OffPolicyEvaluation {
    /// Evaluates `policy` on `data` with reward model `model`.
    /// `progress` is called now and then with the share done (0…1), for a progress bar.
    public static func evaluate(
        _ policy: any CandidatePolicy, on data: LoggedBandit, model: RewardModel, settings: EstimatorSettings,
        progress: ((Double) -> Void)? = nil
    ) -> PolicyEvaluation {
        let n = data.count
        let blockSize = settings.blockSize(rounds: n)
        var units = UnitTerms(repeating: .zero, count: (n + blockSize - 1) / blockSize)
        var sums = EstimatorSums()
        sums.n = Double(n)
        var deterministic = true
        var maximumWeight = 0.0
        var replayRandom = SeededRandom(seed: settings.seed &+ 0x5EED)
        var curve: [(round: Int, value: Double)] = []
        let curveStep = max(1, n / 200)
        // The point pass is a fifth of the work when intervals are bootstrapped.
        let passShare = settings.bootstrapSamples > 0 ? 0.2 : 1.0
        model.table.withUnsafeBufferPointer { q in
            for t in 0..<n {
                let a = Int(data.actions[t]), k = Int(data.positions[t])
                let r = data.rewards[t]
                let pi = policy.distribution(round: t, position: k)
                let row = model.row(round: t, position: k)
                var weighted = 0.0, mass = 0.0, top = 0.0
                for j in 0..<pi.count {
                    weighted += pi[j] * q[row + j]
                    mass += pi[j]
                    top = max(top, pi[j])
                }
                let qpi = mass > 0 ? weighted / mass : 0
                let w = pi[a] / data.propensities[t]
                let residual = r - q[row + a]
                let isDeterministic = top == 1
                if !isDeterministic { deterministic = false }
                // Replay: a deterministic candidate matches where it puts probability 1 on
                // the logged action; a stochastic one draws its action.
                let match: Double
                if isDeterministic {
                    match = pi[a] == 1 ? 1 : 0
                } else {
                    var u = replayRandom.unit() * mass
                    var drawn = pi.count - 1
                    for j in 0..<pi.count {
                        if u < pi[j] {
                            drawn = j
                            break
                        }
                        u -= pi[j]
                    }
                    match = drawn == a ? 1 : 0
                }
                policy.observe(round: t, action: a, reward: r, matched: match == 1)
                let switched = w <= settings.tau ? w * residual : 0
                units[t / blockSize] += SIMD8(w * r, w, qpi, w * residual, switched, match * r, match, 1)
                sums.wr += w * r
                sums.w += w
                sums.w2 += w * w
                sums.qpi += qpi
                sums.correction += w * residual
                sums.switched += switched
                sums.matchReward += match * r
                sums.matches += match
                maximumWeight = max(maximumWeight, w)
                if (t + 1) % curveStep == 0 || t == n - 1 {
                    if sums.matches > 0 { curve.append((t + 1, sums.matchReward / sums.matches)) }
                    if let progress, (t + 1) % (curveStep * 20) == 0 { progress(passShare * Double(t + 1) / Double(n)) }
                }
            }
        }
        let points = sums.values()
        let intervals = bootstrap(units, settings: settings) { done in
            progress?(passShare + (1 - passShare) * done)
        }
        var estimates: [String: Estimate] = [:]
        for name in PolicyEvaluation.estimators {
            guard let v = points[name] ?? nil else { continue }
            let (lo, hi) = intervals[name] ?? (v, v)
            estimates[name] = Estimate(value: v, lower: lo, upper: hi)
        }
        return PolicyEvaluation(
            policy: policy.name, rounds: n, estimates: estimates,
            effectiveSampleSize: sums.w2 > 0 ? sums.w * sums.w / sums.w2 : 0,
            replayMatches: Int(sums.matches), deterministic: deterministic, maximumWeight: maximumWeight, replayCurve: curve)
    }

    /// Percentile intervals from resampling the units with replacement.
    static func bootstrap(_ units: UnitTerms, settings: EstimatorSettings, progress: (Double) -> Void = { _ in }) -> [String: (Double, Double)] {
        let m = units.count
        guard m > 0, settings.bootstrapSamples > 0 else { return [:] }
        var random = SeededRandom(seed: settings.seed)
        var samples: [String: [Double]] = [:]
        // A resample is drawn as counts per unit, then summed in one sequential pass.
        var counts = [UInt32](repeating: 0, count: m)
        units.withUnsafeBufferPointer { units in
            counts.withUnsafeMutableBufferPointer { counts in
                for b in 0..<settings.bootstrapSamples {
                    if b % 10 == 0 { progress(Double(b) / Double(settings.bootstrapSamples)) }
                    for _ in 0..<m { counts[Int(random.next() % UInt64(m))] &+= 1 }
                    var acc = SIMD8<Double>.zero
                    for u in 0..<m where counts[u] != 0 {
                        acc += Double(counts[u]) * units[u]
                        counts[u] = 0
                    }
                    var s = EstimatorSums()
                    (s.wr, s.w, s.qpi, s.correction, s.switched, s.matchReward, s.matches, s.n) = (acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7])
                    for (name, v) in s.values() {
                        if let v { samples[name, default: []].append(v) }
                    }
                }
            }
        }
        let alpha = (1 - settings.confidence) / 2
        var out: [String: (Double, Double)] = [:]
        for (name, values) in samples {
            let sorted = values.sorted()
            out[name] = (percentile(sorted, alpha), percentile(sorted, 1 - alpha))
        }
        return out
    }

    /// Linear interpolation between closest ranks (numpy's default).
    static func percentile(_ sorted: [Double], _ q: Double) -> Double {
        guard sorted.count > 1 else { return sorted.first ?? .nan }
        let x = q * Double(sorted.count - 1)
        let i = Int(x.rounded(.down))
        let f = x - Double(i)
        return i + 1 < sorted.count ? sorted[i] + f * (sorted[i + 1] - sorted[i]) : sorted[i]
    }
}
