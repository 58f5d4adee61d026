import Foundation
import Testing

@testable import MarketingMix

/// Fits on data simulated from the model: the sampler converges and the 90 % intervals
/// of ROI (and, with one channel, adstock) cover the truth. A fit that has not
/// converged must say so.
@Suite struct MixFitTests {
    static let settings = NUTSSettings(warmup: 500, draws: 500, targetAcceptance: 0.9)

    @Test func aOneChannelFitConvergesCoversTheTruthAndIsReproducible() throws {
        let sim = try MixSimulation(weeks: 104, channels: 1, seed: 21)
        let fit = MixFit.fit(sim.model, settings: FitSettings(chains: 4, sampler: Self.settings, seed: 21))
        let problems = fit.problems
        #expect(problems.isEmpty, "\(problems)")
        let truth = sim.trueEffects[0]
        let summary = fit.channels[0]
        #expect(summary.roi.contains(truth.roi), "ROI \(truth.roi) outside [\(summary.roi.lower), \(summary.roi.upper)]")
        #expect(summary.adstock.contains(truth.adstock), "adstock \(truth.adstock) outside [\(summary.adstock.lower), \(summary.adstock.upper)]")
        #expect(abs(summary.share.mean - 1) < 1e-12)
        // Reproducible from the seed, whatever the threads did.
        let again = MixFit.fit(sim.model, settings: FitSettings(chains: 4, sampler: Self.settings, seed: 21))
        #expect(again.chains.map(\.draws) == fit.chains.map(\.draws))
    }

    @Test func aThreeChannelFitConvergesAndCoversEachTrueROI() throws {
        let sim = try MixSimulation(weeks: 104, channels: 3, seed: 23)
        let fit = MixFit.fit(sim.model, settings: FitSettings(chains: 4, sampler: Self.settings, seed: 23))
        let problems = fit.problems
        #expect(problems.isEmpty, "\(problems)")
        for (summary, truth) in zip(fit.channels, sim.trueEffects) {
            #expect(summary.roi.contains(truth.roi), "\(summary.name): ROI \(truth.roi) outside [\(summary.roi.lower), \(summary.roi.upper)]")
        }
        #expect(abs(fit.channels.map(\.share.mean).reduce(0, +) - 1) < 1e-9)
    }

    @Test func aFitTooShortToConvergeSaysSo() throws {
        let sim = try MixSimulation(weeks: 104, channels: 2, seed: 3)
        let fit = MixFit.fit(sim.model, settings: FitSettings(chains: 4, sampler: NUTSSettings(warmup: 20, draws: 30), seed: 1))
        #expect(!fit.converged)
        #expect(fit.problems.contains { $0.contains("ESS") }, "\(fit.problems)")
    }
}
