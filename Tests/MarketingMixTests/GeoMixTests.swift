import Bandits
import Foundation
import Testing

@testable import MarketingMix

/// The hierarchical (geo) model: exact gradient, input checks, and a fit on data drawn
/// from it that converges and covers each geo's true ROI.
@Suite struct GeoMixTests {
    @Test func theGradientMatchesFiniteDifferences() throws {
        let sim = try GeoMixSimulation(geos: 3, weeks: 40, channels: 2, seed: 5)
        let model = sim.model
        let w = GeoMixModel.Workspace(model)
        var random = SeededRandom(seed: 2)
        for _ in 0..<3 {
            var z = model.initialPoint(random: &random)
            for i in z.indices { z[i] += 0.2 * random.normal() }
            expectExactGradient(at: z, names: model.parameterNames) { model.logDensity($0, gradient: &$1, workspace: w) }
        }
    }

    @Test func geosAreReadFromOneFileAndMustAgree() throws {
        let path = NSTemporaryDirectory() + "arbiter-geo-\(UUID().uuidString).csv"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var lines = ["region,week,sales,tv"]
        for region in ["north", "south"] {
            for t in 0..<10 { lines.append("\(region),2024-01-\(String(format: "%02d", t + 1)),\(100 + t),\(t + 1)") }
        }
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let geos = try MixData.loadGeos(path, geo: "region", date: "week", kpi: "sales", channels: ["tv"])
        #expect(geos.map(\.name) == ["north", "south"] && geos[1].data.count == 10 && geos[1].data.totalSpend(0) == 55)
        #expect(throws: MixError.self, "one geo is not a hierarchy") { try GeoMixModel(geos: Array(geos.prefix(1))) }
        #expect(throws: MixError.self) {
            try GeoMixModel(geos: geos, specification: MixSpecification(roiPriors: ["tv": ROIPrior(median: 1, logSD: 1)]))
        }
    }

    @Test func aGeoFitConvergesAndCoversEachGeosROI() throws {
        let sim = try GeoMixSimulation(geos: 4, weeks: 104, channels: 2, seed: 11)
        let settings = FitSettings(chains: 4, sampler: NUTSSettings(warmup: 500, draws: 500, targetAcceptance: 0.9), seed: 11)
        let fit = GeoMixFit.fit(sim.model, settings: settings)
        #expect(fit.problems.isEmpty, "\(fit.problems)")
        var covered = 0
        for (g, geo) in fit.geoChannels.enumerated() {
            for (c, summary) in geo.enumerated() where summary.roi.contains(sim.trueEffects[g][c].roi) { covered += 1 }
        }
        #expect(covered >= 7, "\(covered) of 8 geo × channel ROI intervals cover the truth")
        // All geos together: contributions add up.
        for c in 0..<2 {
            let sum = fit.geoChannels.reduce(0.0) { $0 + $1[c].contribution.mean }
            #expect(abs(fit.channels[c].contribution.mean / sum - 1) < 1e-9)
        }
        let again = GeoMixFit.fit(sim.model, settings: settings)
        #expect(again.chains.map(\.draws) == fit.chains.map(\.draws))
    }
}
