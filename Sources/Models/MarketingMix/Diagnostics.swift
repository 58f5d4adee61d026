import Common
import Foundation

/// Convergence diagnostics of Vehtari, Gelman, Simpson, Carpenter and Bürkner (2021):
/// rank-normalised split R-hat (the larger of the bulk and folded versions), bulk ESS
/// (on rank-normalised split chains) and tail ESS (the smaller of the ESS of the 5 % and
/// 95 % quantile indicators). ESS uses Geyer's initial monotone sequence over the
/// chains' combined autocorrelation.
public struct Convergence: Sendable, Equatable {
    public var rHat: Double
    public var bulkESS: Double
    public var tailESS: Double

    /// `chains[m][i]`: draw i of chain m (equal lengths, at least 4 draws).
    public init(chains: [[Double]]) {
        let split = Self.split(chains)
        let all = split.flatMap { $0 }
        let median = Self.quantile(all.sorted(), 0.5)
        let bulk = Self.rankNormalised(split)
        let folded = Self.rankNormalised(split.map { $0.map { abs($0 - median) } })
        rHat = max(Self.rHat(bulk), Self.rHat(folded))
        bulkESS = Self.ess(bulk)
        let sorted = all.sorted()
        let low = Self.quantile(sorted, 0.05), high = Self.quantile(sorted, 0.95)
        tailESS = min(Self.ess(split.map { $0.map { $0 <= low ? 1 : 0 } }), Self.ess(split.map { $0.map { $0 <= high ? 1 : 0 } }))
    }

    static func split(_ chains: [[Double]]) -> [[Double]] {
        chains.flatMap { c -> [[Double]] in
            let half = c.count / 2
            // An odd draw in the middle is left out, as in the reference implementation.
            return [Array(c[0..<half]), Array(c[(c.count - half)...])]
        }
    }

    /// Normal scores of the pooled ranks (ties share their average rank).
    static func rankNormalised(_ chains: [[Double]]) -> [[Double]] {
        let values = chains.flatMap { $0 }
        let s = Double(values.count)
        let order = values.indices.sorted { values[$0] < values[$1] }
        var ranks = [Double](repeating: 0, count: values.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count, values[order[j + 1]] == values[order[i]] { j += 1 }
            let rank = Double(i + j) / 2 + 1
            for k in i...j { ranks[order[k]] = rank }
            i = j + 1
        }
        var out: [[Double]] = []
        var offset = 0
        for c in chains {
            out.append((0..<c.count).map { normalQuantile((ranks[offset + $0] - 0.375) / (s + 0.25)) })
            offset += c.count
        }
        return out
    }

    static func rHat(_ chains: [[Double]]) -> Double {
        let m = Double(chains.count), n = Double(chains[0].count)
        let means = chains.map { $0.reduce(0, +) / n }
        let variances = zip(chains, means).map { c, mean in c.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1) }
        let grand = means.reduce(0, +) / m
        let between = means.reduce(0) { $0 + ($1 - grand) * ($1 - grand) } / (m - 1)
        let within = variances.reduce(0, +) / m
        guard within > 0 else { return .nan }
        return (((n - 1) / n * within + between) / within).squareRoot()
    }

    static func ess(_ chains: [[Double]]) -> Double {
        let m = chains.count, n = chains[0].count
        let means = chains.map { $0.reduce(0, +) / Double(n) }
        func autocovariance(_ lag: Int) -> Double {
            var total = 0.0
            for (c, mean) in zip(chains, means) {
                var s = 0.0
                for i in 0..<(n - lag) { s += (c[i] - mean) * (c[i + lag] - mean) }
                total += s / Double(n)
            }
            return total / Double(m)
        }
        let meanVariance = autocovariance(0) * Double(n) / Double(n - 1)
        let grand = means.reduce(0, +) / Double(m)
        let between = m > 1 ? means.reduce(0) { $0 + ($1 - grand) * ($1 - grand) } / Double(m - 1) : 0
        let varPlus = meanVariance * Double(n - 1) / Double(n) + between
        guard varPlus > 0 else { return .nan }
        func rho(_ lag: Int) -> Double { 1 - (meanVariance - autocovariance(lag)) / varPlus }
        var rhos = [Double](repeating: 0, count: n)
        rhos[0] = 1
        rhos[1] = rho(1)
        var even = 1.0, odd = rhos[1]
        var t = 1
        while t < n - 3, even + odd > 0 {
            even = rho(t + 1)
            odd = rho(t + 2)
            if even + odd >= 0 {
                rhos[t + 1] = even
                rhos[t + 2] = odd
            }
            t += 2
        }
        let last = t - 2
        if even > 0, last + 1 < n { rhos[last + 1] = even }
        // Initial monotone sequence: pair sums may not increase.
        t = 1
        while t <= last - 2 {
            if rhos[t + 1] + rhos[t + 2] > rhos[t - 1] + rhos[t] {
                rhos[t + 1] = (rhos[t - 1] + rhos[t]) / 2
                rhos[t + 2] = rhos[t + 1]
            }
            t += 2
        }
        let draws = Double(m * n)
        var tau = -1.0
        for k in 0...max(last, 0) { tau += 2 * rhos[k] }
        if last + 1 < n { tau += rhos[last + 1] }
        tau = max(tau, 1 / log10(draws))
        return draws / tau
    }

    /// Linear interpolation between closest ranks.
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        guard sorted.count > 1 else { return sorted.first ?? .nan }
        let x = q * Double(sorted.count - 1)
        let i = Int(x.rounded(.down))
        let f = x - Double(i)
        return i + 1 < sorted.count ? sorted[i] + f * (sorted[i + 1] - sorted[i]) : sorted[i]
    }
}
