import Common
import Foundation
import Testing

/// The samplers Thompson sampling draws from match their distributions.
@Suite struct RandomTests {
    /// Φ(x).
    func cdf(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }

    @Test func theZigguratNormalMatchesTheNormalDistributionIncludingItsTails() {
        var random = SeededRandom(seed: 42)
        let n = 400_000
        var draws = (0..<n).map { _ in random.zigguratNormal() }
        draws.sort()
        // Kolmogorov–Smirnov: the 1 % critical value is 1.63 / √n.
        var d = 0.0
        for (i, x) in draws.enumerated() {
            let f = cdf(x)
            d = max(d, abs(f - Double(i) / Double(n)), abs(f - Double(i + 1) / Double(n)))
        }
        #expect(d < 1.63 / Double(n).squareRoot(), "KS distance \(d)")
        let mean = draws.reduce(0, +) / Double(n)
        let variance = draws.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n - 1)
        #expect(abs(mean) < 0.01 && abs(variance - 1) < 0.01, "mean \(mean), variance \(variance)")
        // Beyond the base layer's edge (R = 3.44): 2·(1 − Φ(R)) = 5.8e-4 of draws, ±5 σ.
        let tail = Double(draws.count { abs($0) > 3.442619855899 }) / Double(n)
        let expected = 2 * (1 - cdf(3.442619855899))
        #expect(abs(tail - expected) < 5 * (expected / Double(n)).squareRoot(), "tail share \(tail), expected \(expected)")
    }

    @Test(arguments: [0.3, 1.0, 3.7, 50.0])
    func gammaDrawsHaveTheirShapesMeanAndVariance(shape: Double) {
        var random = SeededRandom(seed: 7)
        let n = 200_000
        let draws = (0..<n).map { _ in random.gamma(shape: shape) }
        let mean = draws.reduce(0, +) / Double(n)
        let variance = draws.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n - 1)
        // Both are `shape`; the standard error of the mean is √(shape / n).
        #expect(abs(mean - shape) < 5 * (shape / Double(n)).squareRoot(), "mean \(mean)")
        #expect(abs(variance / shape - 1) < 0.05, "variance \(variance)")
    }
}
