import ArgumentParser
import Common
import Engine
import Evaluation
import Foundation
import Stream

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Estimate what candidate policies would have earned on logged bandit data.",
        discussion: """
            Reads a log of (action, position, reward, propensity) rounds and estimates each \
            candidate's value with the replay method, IPS, SNIPS, the direct method, DR, \
            SNDR and switch-DR, each with a bootstrap interval, and the effective sample \
            size. Rows that cannot be used are counted by reason and never used. The same \
            inputs and seed give the same output. Inputs: the Open Bandit Dataset layout \
            (--obd, --items), any CSV or JSON-lines log with a column mapping (--csv or \
            --jsonl, with --columns), or the \
            engine's decision log joined with an event file (--decisions, --events).
            """)

    @Option(help: "An Open Bandit Dataset log (e.g. obd/random/all/all.csv).")
    var obd: String?

    @Option(help: "With --obd: the campaign's item_context.csv (defines the actions).")
    var items: String?

    @Option(help: "A CSV log; name its columns with --columns.")
    var csv: String?

    @Option(help: "A JSON-lines log (one object per round); name its fields with --columns.")
    var jsonl: String?

    @Option(help: "With --csv or --jsonl: action=COLUMN,reward=COLUMN,propensity=COLUMN[,position=COLUMN].")
    var columns: String?

    @Option(help: "With --csv or --jsonl: slots per round.")
    var positions = 1

    @Option(name: .customLong("position-base"), help: "With --csv or --jsonl: the number of the first slot in the file.")
    var positionBase = 0

    @Option(help: "The engine's decision log (JSON lines, decisions topic records).")
    var decisions: String?

    @Option(help: "With --decisions: the event file holding the clicks and rewards.")
    var events: String?

    @Option(help: "With --decisions: only this surface's decisions.")
    var surface: String?

    @Option(help: "With --decisions and --surface (a pricing surface): this product's price quotes; the actions are its prices.")
    var product: String?

    @Option(name: .customLong("window-ms"), help: "With --product: how long after a quote the user's purchase of the product is its sale.")
    var windowMillis: Int64 = 1_800_000

    @Option(name: .customLong("quote-reward"), help: "With --product: what a quote earned: sale (1 or 0) or revenue (the price of a sale).")
    var quoteReward: String = "revenue"

    @Flag(help: "Evaluate the uniform-random policy.")
    var uniform = false

    @Option(name: .customLong("policy-file"), help: "A candidate as round,action,position,probability rows (round * for every round); repeatable.")
    var policyFiles: [String] = []

    @Option(help: "A configuration file whose surfaces can be candidates (--surface-candidate).")
    var config: String?

    @Option(
        name: .customLong("surface-candidate"),
        help: "With --config: evaluate this surface's policy with its configured arms and priors, learning from the rounds its replay draw matches (contextual policies read their features from the log); repeatable.")
    var surfaceCandidates: [String] = []

    @Flag(help: "Surface candidates keep their priors instead of learning during the replay.")
    var frozen = false

    @Option(help: "Switch-DR threshold on the importance weight.")
    var tau: Double = 1

    @Option(help: "Bootstrap resamples for the intervals.")
    var bootstrap = 1000

    @Option(
        name: .customLong("bootstrap-blocks"),
        help: "Longer logs are resampled in this many blocks of consecutive rounds (0: single rounds however long the log).")
    var bootstrapBlocks = 10_000

    @Option(help: "Seed of the bootstrap and of the replay method's draws.")
    var seed: UInt64 = 1

    @Option(help: "Folds of the reward model's cross-fitting.")
    var folds = 5

    @Option(help: "Raise propensities below this to it (counted).")
    var propensityFloor: Double = 0

    @Option(name: .shortAndLong, help: "Write the JSON results here (default: standard output).")
    var output: String?

    @Option(name: .customLong("reward-model-output"), help: "Write the reward model's table here as JSON.")
    var rewardModelOutput: String?

    @Option(help: "Write a self-contained HTML report with plots here.")
    var html: String?

    func validate() throws {
        let inputs = [obd, csv, jsonl, decisions].compactMap { $0 }.count
        guard inputs == 1 else { throw ValidationError("give exactly one input: --obd, --csv, --jsonl or --decisions") }
        if obd != nil, items == nil { throw ValidationError("--obd needs --items") }
        if csv != nil || jsonl != nil, columns == nil { throw ValidationError("--csv and --jsonl need --columns") }
        if decisions != nil, events == nil { throw ValidationError("--decisions needs --events") }
        if product != nil, decisions == nil || surface == nil { throw ValidationError("--product needs --decisions and --surface (a pricing surface)") }
        if product != nil, DecisionLogInput.QuoteReward(rawValue: quoteReward) == nil { throw ValidationError("--quote-reward must be sale or revenue") }
        guard windowMillis > 0 else { throw ValidationError("--window-ms must be positive") }
        guard uniform || !policyFiles.isEmpty || !surfaceCandidates.isEmpty else {
            throw ValidationError("give --uniform, a --policy-file or a --surface-candidate")
        }
        if !surfaceCandidates.isEmpty, config == nil { throw ValidationError("--surface-candidate needs --config") }
        guard folds >= 2 else { throw ValidationError("--folds must be at least 2") }
        guard bootstrap >= 0, bootstrapBlocks >= 0, tau >= 0 else { throw ValidationError("--bootstrap, --bootstrap-blocks and --tau must not be negative") }
    }

    func run() throws {
        let surfaces = try candidateSurfaces()
        var features: [String] = []
        for surface in surfaces where surface.policy.isContextual {
            for f in surface.features where !features.contains(f) { features.append(f) }
        }
        let source: String
        let data: LoggedBandit
        let base: Int
        if let obd, let items {
            (source, base) = (obd, 1)
            data = try OpenBanditDataset.load(log: obd, items: items, propensityFloor: propensityFloor, features: features)
        } else if let csv, let columns {
            (source, base) = (csv, positionBase)
            data = try GenericCSV.load(
                csv, mapping: try ColumnMapping(parsing: columns), positions: positions, positionBase: positionBase, propensityFloor: propensityFloor,
                features: features)
        } else if let jsonl, let columns {
            (source, base) = (jsonl, positionBase)
            data = try GenericJSONLines.load(
                jsonl, mapping: try ColumnMapping(parsing: columns), positions: positions, positionBase: positionBase, propensityFloor: propensityFloor,
                features: features)
        } else if let product, let surface {
            (source, base) = (decisions!, 0)
            data = try DecisionLogInput.loadQuotes(
                decisions: decisions!, events: events!, surface: surface, product: product, windowMillis: windowMillis,
                reward: DecisionLogInput.QuoteReward(rawValue: quoteReward)!, propensityFloor: propensityFloor, features: features)
        } else {
            (source, base) = (decisions!, 0)
            data = try DecisionLogInput.load(decisions: decisions!, events: events!, surface: surface, propensityFloor: propensityFloor, features: features)
        }
        guard data.count > 0 else { throw ValidationError("no usable rounds in \(source): \(data.rejected)") }
        for (reason, n) in data.rejected.sorted(by: { $0.key < $1.key }) {
            FileHandle.standardError.write(Data("warning: \(n) rows rejected: \(reason)\n".utf8))
        }
        if data.propensityIssues.any {
            FileHandle.standardError.write(Data("warning: propensity issues: \(data.propensityIssues)\n".utf8))
        }
        var candidates: [any CandidatePolicy] = []
        if uniform { candidates.append(FixedPolicy.uniform(actions: data.actionCount, positions: data.positionCount)) }
        for path in policyFiles {
            let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
            candidates.append(try PolicyFile.load(path, name: name, data: data, positionBase: base))
        }
        for surface in surfaces {
            let contextual = surface.policy.isContextual
            candidates.append(
                try SurfaceCandidate(
                    name: "\(surface.name) (\(surface.policy.algorithm.rawValue))", policy: try surface.policy.make(dimension: surface.dimension),
                    payoff: contextual ? surface.policy.payoff : nil,
                    arms: surface.arms,
                    features: contextual ? surface.features : [], data: data, learns: !frozen, seed: seed))
        }
        let model = RewardModel(fitting: data, folds: folds)
        let settings = EstimatorSettings(tau: tau, bootstrapSamples: bootstrap, bootstrapBlocks: bootstrapBlocks, seed: seed)
        let bar = ProgressBar(total: candidates.count)
        let results = candidates.enumerated().map { (k, candidate) in
            OffPolicyEvaluation.evaluate(candidate, on: data, model: model, settings: settings) { bar.show(k, $0) }
        }
        bar.finish()
        let json = EvaluationReport.json(data: data, model: model, settings: settings, results: results)
        if let output { try FileIO.writeAtomically(json, to: output) } else { FileHandle.standardOutput.write(Data(json)) }
        if let rewardModelOutput { try FileIO.writeAtomically(EvaluationReport.rewardModel(model), to: rewardModelOutput) }
        if let html {
            let page = HTMLReport.render(data: data, settings: settings, results: results, source: source)
            try FileIO.writeAtomically(Array(page.utf8), to: html)
        }
    }
}

extension Evaluate {
    /// The surfaces named by --surface-candidate, from --config.
    func candidateSurfaces() throws -> [SurfaceConfiguration] {
        guard let config, !surfaceCandidates.isEmpty else { return [] }
        let settings = try Configuration.load(path: config, environment: [:])
        return try surfaceCandidates.map { name in
            guard let surface = settings.surfaces.first(where: { $0.name == name }) else {
                throw ValidationError("\(config) has no surface '\(name)' (surfaces: \(settings.surfaces.map(\.name).joined(separator: ", ")))")
            }
            return surface
        }
    }
}

/// A one-line progress bar on standard error, drawn only when it is a terminal.
final class ProgressBar {
    private let total: Int
    private let enabled = isatty(2) == 1
    private var last = -1

    init(total: Int) { self.total = total }

    /// `share` (0…1) of candidate `index` is done.
    func show(_ index: Int, _ share: Double) {
        guard enabled else { return }
        let overall = (Double(index) + min(1, max(0, share))) / Double(max(total, 1))
        let percent = Int(overall * 100)
        guard percent != last else { return }
        last = percent
        let filled = percent * 30 / 100
        let line = "\r[" + String(repeating: "#", count: filled) + String(repeating: " ", count: 30 - filled) + "] \(percent) % (policy \(index + 1) of \(total))"
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        if enabled, last >= 0 { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

extension EvaluationError: LocalizedError {
    public var errorDescription: String? { message }
}
