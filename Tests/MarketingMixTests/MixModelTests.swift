import Common
import Foundation
import Testing

@testable import MarketingMix

/// A log density's analytic gradient at `q` against central finite differences,
/// coordinate by coordinate.
func expectExactGradient(at q: [Double], names: [String], sourceLocation: SourceLocation = #_sourceLocation, _ density: ([Double], inout [Double]) -> Double) {
    var g = [Double](repeating: 0, count: q.count), scratch = g
    _ = density(q, &g)
    for i in q.indices {
        let h = 1e-5 * max(1, abs(q[i]))
        var up = q, down = q
        up[i] += h
        down[i] -= h
        let numeric = (density(up, &scratch) - density(down, &scratch)) / (2 * h)
        #expect(abs(numeric - g[i]) <= 1e-5 * max(1, abs(numeric)), "\(names[i]): analytic \(g[i]), numeric \(numeric)", sourceLocation: sourceLocation)
    }
}

@Suite struct MixModelTests {
    /// The analytic gradient against central finite differences, for both noise models,
    /// with and without a learnt slope, ROI priors and lift tests, at random points.
    @Test(arguments: [
        (MixSpecification.Noise.normal, false, false), (.studentT(5), false, false), (.normal, true, false), (.studentT(3), true, false),
        (.normal, false, true), (.studentT(4), true, true),
    ])
    func theGradientMatchesFiniteDifferences(noise: MixSpecification.Noise, learnSlope: Bool, calibrated: Bool) throws {
        var specification = MixSpecification(maxLag: 4, fourierOrder: 2, noise: noise, learnSlope: learnSlope)
        let sim = try MixSimulation(weeks: 40, channels: 3, seed: 3, specification: specification)
        if calibrated {
            specification.roiPriors = ["ch0": ROIPrior(median: 2, logSD: 0.5), "ch2": ROIPrior(median: 0.8, logSD: 0.3)]
            specification.liftTests = [
                LiftTest(channel: "ch1", first: "5", last: "12", lift: 900, standardError: 200),
                LiftTest(channel: "ch2", first: "30", last: "30", lift: 100, standardError: 80),
            ]
        }
        let model = try MixModel(data: sim.data, specification: specification)
        let w = MixModel.Workspace(model)
        var random = SeededRandom(seed: 9)
        for _ in 0..<5 {
            expectExactGradient(at: sim.truth.map { $0 + 0.3 * random.normal() }, names: model.parameterNames) { model.logDensity($0, gradient: &$1, workspace: w) }
        }
    }

    /// The sampler's coordinates: the map round-trips, and the gradient in them matches
    /// finite differences.
    @Test func theSamplerCoordinatesRoundTripAndTheirGradientIsExact() throws {
        let sim = try MixSimulation(weeks: 40, channels: 2, seed: 5, specification: MixSpecification(maxLag: 4, learnSlope: true))
        let model = sim.model
        let w = MixModel.Workspace(model)
        let z = model.samplerPoint(sim.truth)
        let back = model.modelPoint(z)
        for i in z.indices { #expect(abs(back[i] - sim.truth[i]) < 1e-12) }
        expectExactGradient(at: z, names: model.parameterNames) { model.samplerLogDensity($0, gradient: &$1, workspace: w) }
    }

    @Test func theModelRecoversWhatItSimulatedWithoutNoise() throws {
        let sim = try MixSimulation(weeks: 52, channels: 2, seed: 4, noise: 1e-9)
        let fitted = sim.model.expectedKPI(sim.truth)
        for (f, y) in zip(fitted, sim.data.kpi) { #expect(abs(f - y) < 1e-3 * abs(y), "\(f) vs \(y)") }
    }

    @Test func badInputIsRefusedWithItsLineAndColumn() throws {
        let path = NSTemporaryDirectory() + "arbiter-mmm-\(UUID().uuidString).csv"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var lines = ["week,sales,tv,search"]
        for t in 0..<10 { lines.append("2024-01-\(String(format: "%02d", t + 1)),\(100 + t),\(t),5") }
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let data = try MixData.load(path, date: "week", kpi: "sales", channels: ["tv", "search"])
        #expect(data.count == 10 && data.dayOfYear[2] == 3 && data.totalSpend(0) == 45)
        #expect(throws: MixError.self) { try MixData.load(path, date: "week", kpi: "sales", channels: ["radio"]) }
        lines[3] = "2024-01-03,oops,2,5"
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try MixData.load(path, date: "week", kpi: "sales", channels: ["tv"])
            Issue.record("a non-numeric KPI was accepted")
        } catch {
            #expect(error.message.contains("line 4") && error.message.contains("sales"), "\(error.message)")
        }
        lines[3] = "2024-01-03,102,-2,5"
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: MixError.self, "negative spend") { try MixData.load(path, date: "week", kpi: "sales", channels: ["tv"]) }
    }
}
