import ArgumentParser
import Foundation
import MarketingMix
import Stream

struct Mix: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mmm", abstract: "Bayesian marketing-mix modelling.", subcommands: [MixFitCommand.self])
}

struct MixFitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Fit a Bayesian marketing-mix model to weekly or daily KPI and spend.",
        discussion: """
            The model: intercept, linear trend, Fourier seasonality, control coefficients, and \
            per channel geometric adstock (normalised, --max-lag periods) and Hill saturation \
            (slope 1 unless --learn-slope); \
            Normal or Student-t noise; weakly-informative priors on the scaled problem. \
            Sampled with NUTS (--chains chains in parallel, reproducible from --seed). The \
            JSON result carries every parameter's R-hat and bulk and tail ESS, divergences, \
            and per channel the contribution, its share, ROI and marginal ROI with 90 % \
            intervals. A fit that has not converged says so on standard error and in the \
            result, and the command exits with status 2.
            """)

    @Option(help: "A CSV with a header: one row per period, in time order.")
    var data: String

    @Option(help: "The KPI column.")
    var kpi: String

    @Option(help: "Spend columns, comma-separated.")
    var channels: String

    @Option(help: "Control columns, comma-separated.")
    var controls: String?

    @Option(help: "A YYYY-MM-DD date column (for seasonality).")
    var date: String?

    @Option(name: .customLong("max-lag"), help: "Periods an impulse of spend carries over, its own included.")
    var maxLag = 8

    @Option(help: "Sine–cosine pairs of yearly seasonality.")
    var fourier = 2

    @Option(help: "Degrees of freedom of Student-t noise (default: Normal noise).")
    var studentT: Double?

    @Flag(name: .customLong("learn-slope"), help: "Sample each channel's Hill slope instead of fixing it at 1.")
    var learnSlope = false

    @Option(help: "Chains, run in parallel.")
    var chains = 4

    @Option(help: "Warm-up iterations per chain.")
    var warmup = 1000

    @Option(help: "Draws per chain after warm-up.")
    var draws = 1000

    @Option(name: .customLong("target-acceptance"), help: "NUTS step-size adaptation target; raise it (e.g. 0.95) when the fit reports divergences.")
    var targetAcceptance = 0.9

    @Option(help: "Seed of the initial points and the sampler.")
    var seed: UInt64 = 1

    @Option(name: .shortAndLong, help: "Write the JSON result here (default: standard output).")
    var output: String?

    func validate() throws {
        guard chains >= 2 else { throw ValidationError("--chains must be at least 2: R-hat compares chains") }
        guard warmup >= 20, draws >= 20 else { throw ValidationError("--warmup and --draws must be at least 20") }
        guard targetAcceptance > 0, targetAcceptance < 1 else { throw ValidationError("--target-acceptance must be between 0 and 1") }
        guard maxLag >= 1, fourier >= 0 else { throw ValidationError("--max-lag must be at least 1 and --fourier not negative") }
        if let studentT, !(studentT > 0) { throw ValidationError("--student-t must be positive") }
    }

    func run() throws {
        func list(_ s: String?) -> [String] { (s ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        let table = try MixData.load(data, date: date, kpi: kpi, channels: list(channels), controls: list(controls))
        let specification = MixSpecification(maxLag: maxLag, fourierOrder: fourier, noise: studentT.map { .studentT($0) } ?? .normal, learnSlope: learnSlope)
        let model = try MixModel(data: table, specification: specification)
        let bar = SamplingBar()
        let fit = MixFit.fit(model, settings: FitSettings(chains: chains, sampler: NUTSSettings(warmup: warmup, draws: draws, targetAcceptance: targetAcceptance), seed: seed)) { bar.show($0) }
        bar.finish()
        let json = MixReport.json(fit)
        if let output { try FileIO.writeAtomically(json, to: output) } else { FileHandle.standardOutput.write(Data(json)) }
        guard fit.converged else {
            FileHandle.standardError.write(Data("NOT CONVERGED: \(fit.problems.joined(separator: "; ")). Do not use these estimates; try more warm-up or draws, or a simpler model.\n".utf8))
            throw ExitCode(2)
        }
    }
}

/// A progress line on standard error while sampling, drawn only on a terminal; the fit
/// calls it from one thread at a time.
final class SamplingBar: @unchecked Sendable {
    private let enabled = isatty(2) == 1
    private var last = -1

    func show(_ share: Double) {
        guard enabled else { return }
        let percent = Int(share * 100)
        guard percent != last else { return }
        last = percent
        let filled = percent * 30 / 100
        FileHandle.standardError.write(Data(("\r[" + String(repeating: "#", count: filled) + String(repeating: " ", count: 30 - filled) + "] \(percent) % sampling").utf8))
    }

    func finish() {
        if enabled, last >= 0 { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

extension MixError: LocalizedError {
    public var errorDescription: String? { message }
}
