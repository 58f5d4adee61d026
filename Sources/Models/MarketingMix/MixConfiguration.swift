import Yams

/// A marketing-mix fit described in YAML (`arbiter mmm fit --config FILE`): the data's
/// columns, the model, ROI priors, lift tests, sampler settings and the budget question.
/// Every key is checked: a misspelt key is an error, never silently ignored.
///
/// ```yaml
/// data: weekly.csv            # relative to the working directory
/// date: week
/// kpi: sales
/// channels: [tv, search, social]
/// controls: [price_index]
/// model: {max_lag: 8, fourier: 2, noise: normal, learn_slope: false}   # noise: student-t with nu
/// roi_priors:
///   tv: {median: 1.5, log_sd: 0.5}
/// lift_tests:
///   - {channel: search, first: 2024-03-04, last: 2024-03-25, lift: 120000, standard_error: 30000}   # geo: NAME with --geo
/// sampler: {chains: 4, warmup: 1000, draws: 1000, target_acceptance: 0.9, seed: 1}
/// budget: {per_period: 50000, bounds: {tv: [0, 30000]}}
/// ```
public struct MixConfiguration: Sendable {
    public var data: String?
    public var date: String?
    public var kpi: String?
    public var channels: [String] = []
    public var controls: [String] = []
    public var specification = MixSpecification()
    public var fit = FitSettings()
    /// Budget per period for the optimiser (default: the data's mean total).
    public var budget: Double?
    public var bounds: [String: ClosedRange<Double>] = [:]

    public init() {}

    public static func parse(yaml: String, source: String) throws(MixError) -> MixConfiguration {
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch { throw MixError("\(source) is not valid YAML: \(error)") }
        var config = MixConfiguration()
        guard let root else { return config }
        let top = try Mapping(root, "\(source)", known: ["data", "date", "kpi", "channels", "controls", "model", "roi_priors", "lift_tests", "sampler", "budget"])
        config.data = try top.string("data")
        config.date = try top.string("date")
        config.kpi = try top.string("kpi")
        config.channels = try top.strings("channels") ?? []
        config.controls = try top.strings("controls") ?? []
        if let node = top["model"] {
            let m = try Mapping(node, "\(source): model", known: ["max_lag", "fourier", "noise", "nu", "learn_slope"])
            config.specification.maxLag = try m.int("max_lag", min: 1) ?? config.specification.maxLag
            config.specification.fourierOrder = try m.int("fourier", min: 0) ?? config.specification.fourierOrder
            config.specification.learnSlope = try m.bool("learn_slope") ?? false
            switch try m.string("noise") ?? "normal" {
            case "normal": break
            case "student-t":
                guard let nu = try m.double("nu"), nu > 0 else { throw MixError("\(source): model.noise student-t needs a positive 'nu'") }
                config.specification.noise = .studentT(nu)
            case let other: throw MixError("\(source): model.noise must be normal or student-t, found '\(other)'")
            }
        }
        if let node = top["roi_priors"] {
            let priors = try Mapping(node, "\(source): roi_priors", known: nil)
            for (channel, value) in priors.entries {
                let p = try Mapping(value, "\(source): roi_priors.\(channel)", known: ["median", "log_sd"])
                guard let median = try p.double("median"), let logSD = try p.double("log_sd") else {
                    throw MixError("\(source): roi_priors.\(channel) needs median and log_sd")
                }
                config.specification.roiPriors[channel] = ROIPrior(median: median, logSD: logSD)
            }
        }
        if let node = top["lift_tests"] {
            guard case .sequence(let tests) = node else { throw MixError("\(source): lift_tests must be a list") }
            for (i, test) in tests.enumerated() {
                let t = try Mapping(test, "\(source): lift_tests[\(i)]", known: ["channel", "first", "last", "lift", "standard_error", "geo"])
                guard let channel = try t.string("channel"), let first = try t.string("first"), let last = try t.string("last"),
                    let lift = try t.double("lift"), let se = try t.double("standard_error")
                else { throw MixError("\(source): lift_tests[\(i)] needs channel, first, last, lift and standard_error") }
                config.specification.liftTests.append(LiftTest(channel: channel, first: first, last: last, lift: lift, standardError: se, geo: try t.string("geo")))
            }
        }
        if let node = top["sampler"] {
            let s = try Mapping(node, "\(source): sampler", known: ["chains", "warmup", "draws", "target_acceptance", "max_tree_depth", "seed"])
            config.fit.chains = try s.int("chains", min: 2) ?? config.fit.chains
            config.fit.sampler.warmup = try s.int("warmup", min: 20) ?? config.fit.sampler.warmup
            config.fit.sampler.draws = try s.int("draws", min: 20) ?? config.fit.sampler.draws
            config.fit.sampler.maxDepth = try s.int("max_tree_depth", min: 1) ?? config.fit.sampler.maxDepth
            config.fit.seed = try s.int("seed", min: 0).map(UInt64.init) ?? config.fit.seed
            if let target = try s.double("target_acceptance") {
                guard target > 0, target < 1 else { throw MixError("\(source): sampler.target_acceptance must be between 0 and 1") }
                config.fit.sampler.targetAcceptance = target
            }
        }
        if let node = top["budget"] {
            let b = try Mapping(node, "\(source): budget", known: ["per_period", "bounds"])
            config.budget = try b.double("per_period")
            if let bounds = b["bounds"] {
                for (channel, value) in try Mapping(bounds, "\(source): budget.bounds", known: nil).entries {
                    guard case .sequence(let pair) = value, pair.count == 2, let low = pair[0].scalar.flatMap({ Double($0.string) }),
                        let high = pair[1].scalar.flatMap({ Double($0.string) }), low >= 0, low <= high
                    else { throw MixError("\(source): budget.bounds.\(channel) must be [low, high] with 0 ≤ low ≤ high") }
                    config.bounds[channel] = low...high
                }
            }
        }
        return config
    }
}

/// A YAML mapping with typed, checked lookups.
private struct Mapping {
    let entries: [(String, Node)]
    let context: String

    /// `known` nil accepts any key (maps keyed by channel).
    init(_ node: Node, _ context: String, known: Set<String>?) throws(MixError) {
        guard case .mapping(let mapping) = node else { throw MixError("\(context) must be a mapping") }
        var entries: [(String, Node)] = []
        for (k, v) in mapping {
            guard let key = k.string else { throw MixError("\(context): keys must be strings") }
            if let known, !known.contains(key) {
                throw MixError("\(context): unknown key '\(key)'; known keys: \(known.sorted().joined(separator: ", "))")
            }
            entries.append((key, v))
        }
        self.entries = entries
        self.context = context
    }

    subscript(_ key: String) -> Node? { entries.first { $0.0 == key }?.1 }

    func string(_ key: String) throws(MixError) -> String? {
        guard let node = self[key] else { return nil }
        guard let s = node.scalar?.string, !s.isEmpty else { throw MixError("\(context): '\(key)' must be a single non-empty value") }
        return s
    }

    func strings(_ key: String) throws(MixError) -> [String]? {
        guard let node = self[key] else { return nil }
        guard case .sequence(let items) = node else { throw MixError("\(context): '\(key)' must be a list") }
        return try items.map { (item) throws(MixError) in
            guard let s = item.scalar?.string, !s.isEmpty else { throw MixError("\(context): '\(key)' must list names") }
            return s
        }
    }

    func double(_ key: String) throws(MixError) -> Double? {
        guard let s = try string(key) else { return nil }
        guard let v = Double(s), v.isFinite else { throw MixError("\(context): '\(key)' must be a number, found '\(s)'") }
        return v
    }

    func int(_ key: String, min: Int) throws(MixError) -> Int? {
        guard let s = try string(key) else { return nil }
        guard let v = Int(s), v >= min else { throw MixError("\(context): '\(key)' must be an integer of at least \(min), found '\(s)'") }
        return v
    }

    func bool(_ key: String) throws(MixError) -> Bool? {
        guard let s = try string(key) else { return nil }
        switch s.lowercased() {
        case "true", "yes": return true
        case "false", "no": return false
        default: throw MixError("\(context): '\(key)' must be true or false, found '\(s)'")
        }
    }
}
