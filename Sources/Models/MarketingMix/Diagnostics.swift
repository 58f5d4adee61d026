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

/// Φ⁻¹(p) for 0 < p < 1 (Acklam's rational approximation, relative error below 1.2e-9,
/// refined by one Halley step on erfc).
func normalQuantile(_ p: Double) -> Double {
    let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
    let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01]
    let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
    let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
    let low = 0.02425
    var x: Double
    if p < low {
        let q = (-2 * log(p)).squareRoot()
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    } else if p <= 1 - low {
        let q = p - 0.5, r = q * q
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    } else {
        let q = (-2 * log(1 - p)).squareRoot()
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    }
    let e = 0.5 * erfc(-x / 2.0.squareRoot()) - p
    let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
    return x - u / (1 + x * u / 2)
}
