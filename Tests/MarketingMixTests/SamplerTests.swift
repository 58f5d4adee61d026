import Common
import Foundation
import Testing

@testable import MarketingMix

/// A Gaussian with independent coordinates of very different scales and one strongly
/// correlated pair: the mass matrix must adapt to the scales, and the trajectories must
/// follow the correlation.
struct Gaussian: LogDensityGradient {
    let scales: [Double]
    let correlation = 0.9
    var dimension: Int { scales.count }

    mutating func evaluate(_ q: [Double], gradient g: inout [Double]) -> Double {
        var lp = 0.0
        for i in 2..<q.count {
            let z = q[i] / scales[i]
            lp -= z * z / 2
            g[i] = -z / scales[i]
        }
        // The first two: unit variances, correlation ρ.
        let (x, y, r) = (q[0], q[1], correlation)
        let k = 1 / (1 - r * r)
        lp -= k * (x * x - 2 * r * x * y + y * y) / 2
        g[0] = -k * (x - r * y)
        g[1] = -k * (y - r * x)
        return lp
    }
}

@Suite struct SamplerTests {
    @Test func normalQuantilesAreExact() {
        #expect(abs(normalQuantile(0.975) - 1.959963984540054) < 1e-12)
        #expect(abs(normalQuantile(0.5)) < 1e-15)
        #expect(abs(normalQuantile(0.001) + 3.090232306167813) < 1e-11)
        #expect(abs(normalQuantile(1e-10) + 6.361340902404056) < 1e-9)
    }

    /// Independent draws have ESS near their number and R-hat near 1; an AR(1) chain with
    /// φ = 0.9 has ESS near n(1 − φ)/(1 + φ); chains stuck in different places have a
    /// large R-hat.
    @Test func diagnosticsMeasureWhatTheyShould() {
        var random = SeededRandom(seed: 1)
        let independent = (0..<4).map { _ in (0..<1000).map { _ in random.normal() } }
        let ok = Convergence(chains: independent)
        #expect(ok.rHat < 1.01 && ok.bulkESS > 3000 && ok.bulkESS < 5000 && ok.tailESS > 2500, "\(ok)")
        let phi = 0.9
        let ar = (0..<4).map { _ in
            var x = 0.0
            return (0..<4000).map { _ in
                x = phi * x + (1 - phi * phi).squareRoot() * random.normal()
                return x
            }
        }
        let expected = 16_000 * (1 - phi) / (1 + phi)
        let sticky = Convergence(chains: ar)
        #expect(abs(sticky.bulkESS / expected - 1) < 0.25, "ESS \(sticky.bulkESS), expected about \(expected)")
        let apart = (0..<4).map { k in (0..<1000).map { _ in random.normal() + Double(k) } }
        #expect(Convergence(chains: apart).rHat > 1.5)
        // Same spread but different scales: only the folded R-hat sees it.
        let scaled = (0..<4).map { k in (0..<1000).map { _ in random.normal() * (k == 0 ? 5 : 1) } }
        #expect(Convergence(chains: scaled).rHat > 1.05)
    }

    @Test func nutsRecoversAGaussiansMomentsAndIsReproducible() {
        let scales = [1.0, 1, 0.01, 1, 100, 3]
        func run(seed: UInt64) -> [ChainDraws] {
            (0..<4).map { k in
                var sampler = NUTSSampler(
                    target: Gaussian(scales: scales), start: [Double](repeating: 0.5, count: scales.count),
                    settings: NUTSSettings(warmup: 500, draws: 1000), seed: seed &+ UInt64(k))
                return sampler.run()
            }
        }
        let chains = run(seed: 7)
        #expect(chains.allSatisfy { $0.divergences == 0 && $0.maxDepthHits == 0 })
        for i in scales.indices {
            let values = chains.flatMap { c in (0..<c.count).map { c.value($0, i) } }
            let diagnostics = Convergence(chains: chains.map { c in (0..<c.count).map { c.value($0, i) } })
            #expect(diagnostics.rHat < 1.01 && diagnostics.bulkESS > 1000, "coordinate \(i): \(diagnostics)")
            let mean = values.reduce(0, +) / Double(values.count)
            let sd = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)).squareRoot()
            // Five standard errors of the mean at the measured ESS; 10 % on the spread.
            #expect(abs(mean) < 5 * scales[i] / diagnostics.bulkESS.squareRoot(), "coordinate \(i): mean \(mean)")
            #expect(abs(sd / scales[i] - 1) < 0.1, "coordinate \(i): sd \(sd) vs \(scales[i])")
        }
        // The pair's correlation.
        let xs = chains.flatMap { c in (0..<c.count).map { c.value($0, 0) } }
        let ys = chains.flatMap { c in (0..<c.count).map { c.value($0, 1) } }
        let r = zip(xs, ys).map(*).reduce(0, +) / Double(xs.count)
        #expect(abs(r - 0.9) < 0.03, "correlation \(r)")
        // Adapted: the mass matrix found the scales.
        #expect(chains[0].inverseMass[4] > 1000 && chains[0].inverseMass[2] < 0.01)
        #expect(run(seed: 7).map(\.draws) == chains.map(\.draws), "same seed, same draws")
    }
}
