import Bandits
import Foundation
import Testing

@testable import MarketingMix

/// Fits on data simulated from the model. One channel: the sampler converges and the
/// 90 % intervals of ROI and adstock cover the truth. This is not yet robust: other seeds
/// leave a few divergent transitions even with one channel, and several channels often
/// fail to converge (docs/mmm.md says what is known). A fit that has not converged must
/// say so.
@Suite struct MixFitTests {
    @Test func aOneChannelFitConvergesAndCoversTheTrueROI() throws {
        let seed: UInt64 = 21
        let sim = try MixSimulation(weeks: 104, channels: 1, seed: seed)
        let fit = MixFit.fit(sim.model, settings: FitSettings(chains: 4, sampler: NUTSSettings(warmup: 500, draws: 500, targetAcceptance: 0.9), seed: seed))
        let problems = fit.problems
        #expect(problems.isEmpty, "seed \(seed): \(problems)")
        let truth = sim.trueEffects[0]
        let summary = fit.channels[0]
        #expect(summary.roi.contains(truth.roi), "ROI \(truth.roi) outside [\(summary.roi.lower), \(summary.roi.upper)]")
        #expect(summary.adstock.contains(truth.adstock), "adstock \(truth.adstock) outside [\(summary.adstock.lower), \(summary.adstock.upper)]")
        #expect(abs(summary.share.mean - 1) < 1e-12)
        // Reproducible from the seed, whatever the threads did.
        let again = MixFit.fit(sim.model, settings: FitSettings(chains: 4, sampler: NUTSSettings(warmup: 500, draws: 500, targetAcceptance: 0.9), seed: seed))
        #expect(again.chains.map(\.draws) == fit.chains.map(\.draws))
    }

    @Test func aFitTooShortToConvergeSaysSo() throws {
        let sim = try MixSimulation(weeks: 104, channels: 2, seed: 3)
        let fit = MixFit.fit(sim.model, settings: FitSettings(chains: 4, sampler: NUTSSettings(warmup: 20, draws: 30), seed: 1))
        #expect(!fit.converged)
        #expect(fit.problems.contains { $0.contains("ESS") }, "\(fit.problems)")
    }
}
