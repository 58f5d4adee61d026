import ArgumentParser
import Common
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
            (slope 1 unless --learn-slope); Normal or Student-t noise; weakly-informative \
            priors on the scaled problem, optional ROI priors and lift tests (--config). \
            Sampled with NUTS (--chains chains in parallel, reproducible from --seed). The \
            JSON result carries every parameter's R-hat and bulk and tail ESS, divergences, \
            per channel the contribution, its share, ROI and marginal ROI with 90 % \
            intervals, response curves, and the budget optimiser's answer. Options given on \
            the command line override the configuration file. A fit that has not converged \
            says so on standard error and in the result, writes no priors file, and the \
            command exits with status 2.
            """)

    @Option(help: "A YAML file describing the fit (see docs/mmm.md); options below override it.")
    var config: String?

    @Option(help: "A CSV with a header: one row per period, in time order.")
    var data: String?

    @Option(help: "The KPI column.")
    var kpi: String?

    @Option(help: "Spend columns, comma-separated.")
    var channels: String?

    @Option(help: "Control columns, comma-separated.")
    var controls: String?

    @Option(help: "A YYYY-MM-DD date column (for seasonality and lift-test periods).")
    var date: String?

    @Option(help: "A column naming each row's geo or segment: fits the hierarchical model, channel effects partially pooled across geos.")
    var geo: String?

    @Option(help: "With --geo, a column naming each geo's region: a third level, geos pooled within their region, regions around the whole.")
    var region: String?

    @Option(name: .customLong("max-lag"), help: "Periods an impulse of spend carries over, its own included (default 8).")
    var maxLag: Int?

    @Option(help: "Sine–cosine pairs of yearly seasonality (default 2).")
    var fourier: Int?

    @Option(help: "Degrees of freedom of Student-t noise (default: Normal noise).")
    var studentT: Double?

    @Flag(name: .customLong("learn-slope"), help: "Sample each channel's Hill slope instead of fixing it at 1.")
    var learnSlope = false

    @Option(help: "Chains, run in parallel (default 4).")
    var chains: Int?

    @Option(help: "Warm-up iterations per chain (default 1000).")
    var warmup: Int?

    @Option(help: "Draws per chain after warm-up (default 1000).")
    var draws: Int?

    @Option(name: .customLong("target-acceptance"), help: "NUTS step-size adaptation target (default 0.9).")
    var targetAcceptance: Double?

    @Option(help: "Seed of the initial points and the sampler (default 1).")
    var seed: UInt64?

    @Option(help: "Budget per period for the optimiser (default: the data's mean total spend per period).")
    var budget: Double?

    @Option(name: .customLong("bound"), help: "A channel's spend bounds per period, NAME=LOW:HIGH (repeatable; default 0 to its largest spend in one period).")
    var bounds: [String] = []

    @Option(name: .shortAndLong, help: "Write the JSON result here (default: standard output).")
    var output: String?

    @Option(help: "Write a self-contained HTML report here.")
    var report: String?

    @Option(help: "Write the engine's priors file here (only when the fit converged).")
    var priors: String?

    func validate() throws {
        if let chains, chains < 2 { throw ValidationError("--chains must be at least 2: R-hat compares chains") }
        if let warmup, warmup < 20 { throw ValidationError("--warmup must be at least 20") }
        if let draws, draws < 20 { throw ValidationError("--draws must be at least 20") }
        if let targetAcceptance, !(targetAcceptance > 0 && targetAcceptance < 1) { throw ValidationError("--target-acceptance must be between 0 and 1") }
        if let maxLag, maxLag < 1 { throw ValidationError("--max-lag must be at least 1") }
        if let fourier, fourier < 0 { throw ValidationError("--fourier must not be negative") }
        if let studentT, !(studentT > 0) { throw ValidationError("--student-t must be positive") }
        _ = try parsedBounds()
    }

    func parsedBounds() throws -> [String: ClosedRange<Double>] {
        var out: [String: ClosedRange<Double>] = [:]
        for b in bounds {
            let parts = b.split(separator: "=", maxSplits: 1)
            let range = parts.count == 2 ? parts[1].split(separator: ":") : []
            guard parts.count == 2, range.count == 2, let low = Double(range[0]), let high = Double(range[1]), low >= 0, low <= high else {
                throw ValidationError("--bound must be NAME=LOW:HIGH with 0 ≤ LOW ≤ HIGH, found '\(b)'")
            }
            out[String(parts[0])] = low...high
        }
        return out
    }

    /// The configuration file, if any, with the command line's options laid over it.
    func resolved() throws -> MixConfiguration {
        var c = MixConfiguration()
        if let config {
            let text: String
            do { text = try String(contentsOfFile: config, encoding: .utf8) } catch { throw ValidationError("cannot read \(config): \(error.localizedDescription)") }
            c = try MixConfiguration.parse(yaml: text, source: config)
        }
        func list(_ s: String) -> [String] { s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        if let data { c.data = data }
        if let kpi { c.kpi = kpi }
        if let date { c.date = date }
        if let channels { c.channels = list(channels) }
        if let controls { c.controls = list(controls) }
        if let maxLag { c.specification.maxLag = maxLag }
        if let fourier { c.specification.fourierOrder = fourier }
        if let studentT { c.specification.noise = .studentT(studentT) }
        if learnSlope { c.specification.learnSlope = true }
        if let chains { c.fit.chains = chains }
        if let warmup { c.fit.sampler.warmup = warmup }
        if let draws { c.fit.sampler.draws = draws }
        if let targetAcceptance { c.fit.sampler.targetAcceptance = targetAcceptance }
        if let seed { c.fit.seed = seed }
        if let budget { c.budget = budget }
        c.bounds.merge(try parsedBounds()) { $1 }
        return c
    }

    func run() throws {
        let c = try resolved()
        guard let path = c.data else { throw ValidationError("name the data with --data or 'data:' in --config") }
        guard let kpi = c.kpi else { throw ValidationError("name the KPI column with --kpi or 'kpi:' in --config") }
        guard !c.channels.isEmpty else { throw ValidationError("name the spend columns with --channels or 'channels:' in --config") }
        if let geo { return try fitGeos(c, path: path, kpi: kpi, geo: geo) }
        guard region == nil else { throw ValidationError("--region needs --geo") }
        let table = try MixData.load(path, date: c.date, kpi: kpi, channels: c.channels, controls: c.controls)
        let model = try MixModel(data: table, specification: c.specification)
        // Refuse an impossible budget before minutes of sampling, not after.
        _ = try BudgetOptimiser.resolve(table, budget: c.budget, bounds: c.bounds)
        let bar = SamplingBar()
        let fit = MixFit.fit(model, settings: c.fit) { bar.show($0) }
        bar.finish()
        let plan = try BudgetOptimiser.plan(fit, budget: c.budget, bounds: c.bounds, seed: c.fit.seed)
        let curves = fit.responseCurves(plan: plan)
        try deliver(
            json: MixReport.json(fit, plan: plan, curves: curves), figures: report == nil ? nil : fit.figures(plan: plan), plan: plan, problems: fit.problems, source: path
        ) { () throws(MixError) in try MixPriorsFile.json(fit, plan: plan, kpi: kpi) }
    }
}

extension MixFitCommand {
    /// The hierarchical fit: the budget plan allocates among geo × channel pairs (bounds
    /// named `geo/channel`); the report draws all geos together.
    func fitGeos(_ c: MixConfiguration, path: String, kpi: String, geo: String) throws {
        let geos = try MixData.loadGeos(path, geo: geo, date: c.date, kpi: kpi, channels: c.channels, controls: c.controls)
        let regions = try region.map { (column) throws(MixError) in try MixData.regions(path, geo: geo, region: column) }
        let model = try GeoMixModel(geos: geos, regions: regions, specification: c.specification)
        if report != nil, geos.contains(where: { $0.data.periods != geos[0].data.periods }) {
            throw ValidationError("--report adds the geos up period by period: every geo needs the same periods")
        }
        let names = geos.flatMap { g in g.data.channels.map { "\(g.name)/\($0)" } }
        _ = try BudgetOptimiser.resolve(
            names: names, current: geos.flatMap { g in g.data.channels.indices.map(g.data.meanSpend) },
            peak: geos.flatMap { g in g.data.channels.indices.map(g.data.peakSpend) }, budget: c.budget, bounds: c.bounds)
        let bar = SamplingBar()
        let fit = GeoMixFit.fit(model, settings: c.fit) { bar.show($0) }
        bar.finish()
        let plan = try BudgetOptimiser.plan(fit.spendUnits, budget: c.budget, bounds: c.bounds, seed: c.fit.seed)
        try deliver(json: MixReport.json(fit, plan: plan), figures: report == nil ? nil : fit.figures(plan: plan), plan: plan, problems: fit.problems, source: path) {
            () throws(MixError) in try MixPriorsFile.json(fit, plan: plan, kpi: kpi)
        }
    }

    /// Writes the JSON (to `--output` or standard output) and the report; then, for a
    /// converged fit, the priors file, or else says plainly that it has not converged
    /// and exits with status 2.
    func deliver(json: [UInt8], figures: MixFigures?, plan: BudgetPlan, problems: [String], source: String, priorsFile: () throws(MixError) -> [UInt8]) throws {
        if let output { try FileIO.writeAtomically(json, to: output) } else { FileHandle.standardOutput.write(Data(json)) }
        if let report, let figures {
            let html = MixHTMLReport.render(figures, problems: problems, source: source, allocation: MixHTMLReport.allocationTable(plan))
            try FileIO.writeAtomically(Array(html.utf8), to: report)
        }
        guard problems.isEmpty else {
            FileHandle.standardError.write(Data("NOT CONVERGED: \(problems.joined(separator: "; ")). Do not use these estimates\(priors == nil ? "" : "; no priors file written"); try more warm-up or draws, or a simpler model.\n".utf8))
            throw ExitCode(2)
        }
        if let priors { try FileIO.writeAtomically(try priorsFile(), to: priors) }
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
