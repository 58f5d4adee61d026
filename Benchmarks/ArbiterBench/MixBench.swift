import ArgumentParser
import Foundation
import MarketingMix

/// Marketing-mix fit speed: data simulated from the model (`weeks` × `channels`, two
/// controls), `chains` × (`warmup` + `draws`) NUTS iterations; the whole fit (chains in
/// parallel, diagnostics, summaries) is timed. Writes the data as CSV for other tools
/// with `--csv`.
struct MixFitBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mmm")
    @Option var weeks = 156
    @Option var channels = 8
    @Option var chains = 4
    @Option var warmup = 1000
    @Option var draws = 1000
    @Option var seed: UInt64 = 1
    @Option var targetAcceptance = FitSettings().sampler.targetAcceptance
    @Option(help: "Write the simulated data here.") var csv: String?

    func run() throws {
        let sim = try MixSimulation(weeks: weeks, channels: channels, seed: seed)
        if let csv { try sim.csv.write(toFile: csv, atomically: true, encoding: .utf8) }
        let fit = MixFit.fit(sim.model, settings: FitSettings(chains: chains, sampler: NUTSSettings(warmup: warmup, draws: draws, targetAcceptance: targetAcceptance), seed: seed))
        let truth = sim.trueEffects
        let covered = zip(fit.channels, truth).filter { $0.roi.contains($1.roi) }.count
        emit([
            ("benchmark", "mmm"), ("weeks", weeks), ("channels", channels), ("chains", chains), ("warmup", warmup), ("draws", draws),
            ("seconds", fit.seconds), ("worst_r_hat", fit.worstRHat), ("min_bulk_ess", fit.smallestBulkESS), ("min_tail_ess", fit.smallestTailESS),
            ("min_bulk_ess_per_s", fit.smallestBulkESS / fit.seconds), ("divergences", fit.divergences), ("max_depth_hits", fit.maxDepthHits),
            ("gradients", fit.chains.reduce(0) { $0 + $1.gradientEvaluations }), ("converged", fit.converged ? 1 : 0),
            ("roi_covered", covered), ("peak_rss_bytes", peakResidentBytes()),
        ])
    }
}

/// The coverage study: fits on data simulated from the model with known parameters, for
/// `seeds` seeds; counts the channel × seed cases whose 90 % ROI interval covers the
/// truth. One JSON line per seed, then the total.
struct MixCoverage: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mmm-coverage")
    @Option var seeds = 10
    @Option var weeks = 104
    @Option var channels = 4
    @Option var warmup = 1000
    @Option var draws = 1000
    @Option var targetAcceptance = FitSettings().sampler.targetAcceptance

    func run() throws {
        var covered = 0, cases = 0, unconverged = 0
        for seed in 1...UInt64(seeds) {
            let sim = try MixSimulation(weeks: weeks, channels: channels, seed: 1000 + seed)
            let fit = MixFit.fit(sim.model, settings: FitSettings(chains: 4, sampler: NUTSSettings(warmup: warmup, draws: draws, targetAcceptance: targetAcceptance), seed: seed))
            let hits = zip(fit.channels, sim.trueEffects).map { $0.roi.contains($1.roi) }
            covered += hits.filter { $0 }.count
            cases += hits.count
            if !fit.converged { unconverged += 1 }
            emit([
                ("seed", Int(seed)), ("converged", fit.converged ? 1 : 0), ("worst_r_hat", fit.worstRHat), ("covered", hits.filter { $0 }.count),
                ("channels", channels), ("seconds", fit.seconds),
            ])
        }
        emit([("benchmark", "mmm-coverage"), ("covered", covered), ("cases", cases), ("coverage", Double(covered) / Double(cases)), ("unconverged_fits", unconverged)])
    }
}

/// The hierarchical model's coverage study: `seeds` data sets of `geos` geos drawn from
/// the model, each fitted; counts the geo × channel cases whose 90 % ROI interval covers
/// the truth, and the fits that did not converge.
struct GeoMixCoverage: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mmm-geo-coverage")
    @Option var seeds = 10
    @Option var geos = 4
    @Option var weeks = 104
    @Option var channels = 2
    @Option(help: "Nest the geos in this many regions (round robin) for a three-level fit; 0: two levels.") var regions = 0
    @Option var warmup = 1000
    @Option var draws = 1000

    func run() throws {
        var covered = 0, cases = 0, unconverged = 0
        for seed in 1...UInt64(seeds) {
            let sim = try GeoMixSimulation(geos: geos, weeks: weeks, channels: channels, seed: 2000 + seed)
            let model = regions > 0
                ? try GeoMixModel(geos: sim.geos, regions: Dictionary(uniqueKeysWithValues: sim.geos.enumerated().map { ($1.name, "r\($0 % regions)") }))
                : sim.model
            let fit = GeoMixFit.fit(model, settings: FitSettings(chains: 4, sampler: NUTSSettings(warmup: warmup, draws: draws, targetAcceptance: 0.9), seed: seed))
            var hits = 0
            for (g, geo) in fit.geoChannels.enumerated() {
                for (c, summary) in geo.enumerated() where summary.roi.contains(sim.trueEffects[g][c].roi) { hits += 1 }
            }
            covered += hits
            cases += geos * channels
            if !fit.converged { unconverged += 1 }
            emit([
                ("seed", Int(seed)), ("converged", fit.converged ? 1 : 0), ("worst_r_hat", fit.worstRHat), ("divergences", fit.divergences),
                ("covered", hits), ("cases", geos * channels), ("seconds", fit.seconds),
            ])
        }
        emit([("benchmark", "mmm-geo-coverage"), ("covered", covered), ("cases", cases), ("coverage", Double(covered) / Double(cases)), ("unconverged_fits", unconverged)])
    }
}
