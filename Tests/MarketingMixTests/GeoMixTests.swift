import Common
import Foundation
import Testing

@testable import MarketingMix

/// The hierarchical (geo) model: exact gradient, input checks, and a fit on data drawn
/// from it that converges and covers each geo's true ROI.
@Suite struct GeoMixTests {
    /// The gradient at three random points around the model's starting region.
    func expectExactGradients(_ model: GeoMixModel, seed: UInt64, sourceLocation: SourceLocation = #_sourceLocation) {
        let w = GeoMixModel.Workspace(model)
        var random = SeededRandom(seed: seed)
        for _ in 0..<3 {
            var z = model.initialPoint(random: &random)
            for i in z.indices { z[i] += 0.2 * random.normal() }
            expectExactGradient(at: z, names: model.parameterNames, sourceLocation: sourceLocation) { model.logDensity($0, gradient: &$1, workspace: w) }
        }
    }

    @Test func theGradientMatchesFiniteDifferences() throws {
        let sim = try GeoMixSimulation(geos: 3, weeks: 40, channels: 2, seed: 5)
        // With a lift test in one geo, which enters that geo's likelihood only.
        let lift = LiftTest(channel: "ch1", first: "5", last: "12", lift: 2000, standardError: 500, geo: "geo1")
        // And an ROI prior on ch0 over all geos.
        let model = try GeoMixModel(geos: sim.geos, specification: MixSpecification(roiPriors: ["ch0": ROIPrior(median: 0.8, logSD: 0.3)], liftTests: [lift]))
        #expect(model.models[1].lifts.count == 1 && model.models[0].lifts.isEmpty)
        #expect(throws: MixError.self, "a lift test must name its geo") {
            try GeoMixModel(geos: sim.geos, specification: MixSpecification(liftTests: [LiftTest(channel: "ch1", first: "5", last: "12", lift: 1, standardError: 1)]))
        }
        expectExactGradients(model, seed: 2)
    }

    /// With a third level: four geos in two regions.
    @Test func theThreeLevelGradientMatchesFiniteDifferences() throws {
        let sim = try GeoMixSimulation(geos: 4, weeks: 30, channels: 2, seed: 6)
        let model = try GeoMixModel(geos: sim.geos, regions: ["geo0": "east", "geo1": "west", "geo2": "east", "geo3": "west"])
        #expect(model.regions == ["east", "west"] && model.regionOf == [0, 1, 0, 1])
        #expect(throws: MixError.self, "one region is not a level") { try GeoMixModel(geos: sim.geos, regions: Dictionary(uniqueKeysWithValues: sim.geos.map { ($0.name, "all") })) }
        expectExactGradients(model, seed: 3)
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
            try GeoMixModel(geos: geos, specification: MixSpecification(roiPriors: ["radio": ROIPrior(median: 1, logSD: 1)]))
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
        // The plan allocates among geo × channel pairs, the priors file speaks of
        // channels, the report adds the geos up.
        let plan = try BudgetOptimiser.plan(fit.spendUnits)
        #expect(plan.channels.count == 8 && plan.channels[5] == "geo2/ch1")
        #expect(abs(plan.optimal.total - plan.current.total) < 1e-6 * plan.current.total && plan.gain.mean >= 0)
        let roi = try MixPriorsFile.roi(try MixPriorsFile.json(fit, plan: plan, kpi: "kpi"))
        for c in 0..<2 { #expect(roi["ch\(c)"] == fit.channels[c].roi.mean) }
        let figures = try #require(fit.figures(plan: plan))
        #expect(abs(figures.actual[7] - sim.geos.reduce(0.0) { $0 + $1.data.kpi[7] }) < 1e-9 * abs(figures.actual[7]))
        #expect(figures.curves.count == 2 && figures.contributions.count == 2)
        #expect(MixHTMLReport.render(figures, problems: fit.problems, source: "sim").components(separatedBy: "<svg").count == 5)
        // A confident ROI prior on a channel over all geos pulls its ROI there.
        let spend = sim.geos.reduce(0.0) { $0 + $1.data.totalSpend(1) }
        let truth = sim.trueEffects.reduce(0.0) { $0 + $1[1].contribution } / spend
        let pulled = GeoMixFit.fit(
            try GeoMixModel(geos: sim.geos, specification: MixSpecification(roiPriors: ["ch1": ROIPrior(median: 2 * truth, logSD: 0.03)])), settings: settings)
        #expect(abs(pulled.channels[1].roi.mean / (2 * truth) - 1) < 0.1, "ROI \(pulled.channels[1].roi.mean), prior median \(2 * truth)")
        #expect(abs(fit.channels[1].roi.mean / truth - 1) < 0.5)
        let again = GeoMixFit.fit(sim.model, settings: settings)
        #expect(again.chains.map(\.draws) == fit.chains.map(\.draws))
    }
}
