import Common
import Foundation

/// A posterior summary: mean and a central interval.
public struct Interval: Sendable, Equatable {
    public var mean: Double
    public var lower: Double
    public var upper: Double

    /// From draws, with the central `mass` interval.
    init(_ values: [Double], mass: Double = 0.9) {
        let sorted = values.sorted()
        mean = values.reduce(0, +) / Double(max(values.count, 1))
        lower = Convergence.quantile(sorted, (1 - mass) / 2)
        upper = Convergence.quantile(sorted, 1 - (1 - mass) / 2)
    }

    public init(mean: Double, lower: Double, upper: Double) {
        self.mean = mean
        self.lower = lower
        self.upper = upper
    }

    public func contains(_ v: Double) -> Bool { lower <= v && v <= upper }
}

/// What the fit says about one channel, each with a 90 % interval.
public struct ChannelSummary: Sendable {
    public var name: String
    public var spend: Double
    public var contribution: Interval
    /// Share of all channels' contribution.
    public var share: Interval
    public var roi: Interval
    public var marginalROI: Interval
    public var adstock: Interval
    public var halfSaturation: Interval
    public var slope: Interval

    public init(
        name: String, spend: Double, contribution: Interval, share: Interval, roi: Interval, marginalROI: Interval, adstock: Interval,
        halfSaturation: Interval, slope: Interval
    ) {
        self.name = name
        self.spend = spend
        self.contribution = contribution
        self.share = share
        self.roi = roi
        self.marginalROI = marginalROI
        self.adstock = adstock
        self.halfSaturation = halfSaturation
        self.slope = slope
    }
}

/// Settings of a fit.
public struct FitSettings: Sendable {
    public var chains = 4
    /// Target acceptance 0.9 rather than Stan's 0.8: the smaller steps cost little here
    /// and avoid most divergent transitions near saturation.
    public var sampler = NUTSSettings(targetAcceptance: 0.9)
    public var seed: UInt64 = 1

    public init(chains: Int = 4, sampler: NUTSSettings = NUTSSettings(targetAcceptance: 0.9), seed: UInt64 = 1) {
        self.chains = chains
        self.sampler = sampler
        self.seed = seed
    }
}

/// A fitted marketing-mix model: the chains, their diagnostics, and channel summaries.
public struct MixFit: Sendable {
    public var model: MixModel
    public var settings: FitSettings
    public var chains: [ChainDraws]
    /// Per unconstrained coordinate, in `model.parameterNames` order.
    public var convergence: [Convergence]
    public var channels: [ChannelSummary]
    /// Per post-warm-up draw (chains in order), every channel's effects.
    public var effects: [[ChannelEffect]]
    public var seconds: Double

    public var divergences: Int { chains.reduce(0) { $0 + $1.divergences } }
    public var maxDepthHits: Int { chains.reduce(0) { $0 + $1.maxDepthHits } }
    public var worstRHat: Double { convergence.map(\.rHat).max() ?? .nan }
    public var smallestBulkESS: Double { convergence.map(\.bulkESS).min() ?? .nan }
    public var smallestTailESS: Double { convergence.map(\.tailESS).min() ?? .nan }

    /// Why the fit cannot be trusted; empty when it has converged.
    public var problems: [String] { Self.problems(names: model.parameterNames, convergence: convergence, chains: chains, settings: settings) }

    /// Why a fit cannot be trusted; empty when it has converged: every R-hat below 1.01,
    /// bulk and tail ESS of at least 100 per chain, no divergent transition.
    static func problems(names: [String], convergence: [Convergence], chains: [ChainDraws], settings: FitSettings) -> [String] {
        var out: [String] = []
        if let (i, c) = convergence.enumerated().max(by: { $0.1.rHat < $1.1.rHat }), !(c.rHat < 1.01) {
            out.append("R-hat \(String(format: "%.3f", c.rHat)) for \(names[i]) (needs < 1.01)")
        }
        let needed = Double(100 * settings.chains)
        let bulk = convergence.map(\.bulkESS).min() ?? .nan, tail = convergence.map(\.tailESS).min() ?? .nan
        if !(bulk >= needed) { out.append("bulk ESS \(Int(bulk.isNaN ? 0 : bulk)) (needs ≥ \(Int(needed)))") }
        if !(tail >= needed) { out.append("tail ESS \(Int(tail.isNaN ? 0 : tail)) (needs ≥ \(Int(needed)))") }
        let divergences = chains.reduce(0) { $0 + $1.divergences }
        if divergences > 0 { out.append("\(divergences) divergent transitions") }
        return out
    }

    public var converged: Bool { problems.isEmpty }

    /// Runs `settings.chains` chains in parallel (chain k seeded from the seed and k, so
    /// the result does not depend on scheduling), then summarises them. `progress` gets
    /// the share of iterations done, from one thread at a time.
    public static func fit(_ model: MixModel, settings: FitSettings = FitSettings(), progress: (@Sendable (Double) -> Void)? = nil) -> MixFit {
        let clock = ContinuousClock.now
        let chains = ChainRunner.run(settings: settings, progress: progress) { random in
            (BoundModel(model), model.samplerPoint(model.initialPoint(random: &random)))
        } finish: { chain in
            // Everything downstream reads model coordinates.
            let workspace = MixModel.Workspace(model)
            for d in 0..<chain.count {
                let range = (d * chain.dimension)..<((d + 1) * chain.dimension)
                chain.draws.replaceSubrange(range, with: model.modelPoint(Array(chain.draws[range]), workspace: workspace))
            }
        }
        let convergence = (0..<model.dimension).map { i in
            Convergence(chains: chains.map { c in (0..<c.count).map { c.value($0, i) } })
        }
        var effects: [[ChannelEffect]] = []
        for c in chains {
            for d in 0..<c.count { effects.append(model.channelEffects(c.point(d))) }
        }
        let elapsed = ContinuousClock.now - clock
        return MixFit(
            model: model, settings: settings, chains: chains, convergence: convergence, channels: summarise(model, effects), effects: effects,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    static func summarise(_ model: MixModel, _ effects: [[ChannelEffect]]) -> [ChannelSummary] {
        model.data.channels.enumerated().map { k, name in
            let shares = effects.map { e in e[k].contribution / max(e.reduce(0) { $0 + $1.contribution }, .leastNormalMagnitude) }
            return ChannelSummary(
                name: name, spend: model.data.totalSpend(k), contribution: Interval(effects.map { $0[k].contribution }), share: Interval(shares),
                roi: Interval(effects.map { $0[k].roi }), marginalROI: Interval(effects.map { $0[k].marginalROI }),
                adstock: Interval(effects.map { $0[k].adstock }), halfSaturation: Interval(effects.map { $0[k].halfSaturation }),
                slope: Interval(effects.map { $0[k].slope }))
        }
    }
}

/// The model in sampler coordinates with a workspace of its own, as the sampler's
/// target (one per chain).
struct BoundModel: LogDensityGradient {
    let model: MixModel
    let workspace: MixModel.Workspace
    var dimension: Int { model.dimension }

    init(_ model: MixModel) {
        self.model = model
        workspace = MixModel.Workspace(model)
    }

    mutating func evaluate(_ q: [Double], gradient: inout [Double]) -> Double {
        model.samplerLogDensity(q, gradient: &gradient, workspace: workspace)
    }
}

/// Runs `settings.chains` NUTS chains in parallel. Chain k's generator is seeded from the
/// seed and k, and `chain` builds its target and starting point from it, so the result
/// does not depend on scheduling; `finish` post-processes each chain on its thread.
enum ChainRunner {
    static func run<Target: LogDensityGradient>(
        settings: FitSettings, progress: (@Sendable (Double) -> Void)?, chain: @Sendable (inout SeededRandom) -> (Target, [Double]),
        finish: @Sendable (inout ChainDraws) -> Void = { _ in }
    ) -> [ChainDraws] {
        let results = ChainResults(count: settings.chains)
        let total = Double(settings.chains * (settings.sampler.warmup + settings.sampler.draws))
        DispatchQueue.concurrentPerform(iterations: settings.chains) { k in
            var seeds = SeededRandom(seed: settings.seed &+ UInt64(k) &* 0x9E37_79B9_7F4A_7C15)
            let (target, start) = chain(&seeds)
            var sampler = NUTSSampler(target: target, start: start, settings: settings.sampler, seed: seeds.next())
            var draws = sampler.run { done in
                if let progress, done % 50 == 0 { results.advance(50, of: total, report: progress) }
            }
            finish(&draws)
            results.set(k, draws)
        }
        return results.all
    }
}

/// Chains finishing on worker threads.
private final class ChainResults: @unchecked Sendable {
    private let lock = NSLock()
    private var chains: [ChainDraws?]
    private var done = 0.0

    init(count: Int) { chains = Array(repeating: nil, count: count) }

    func set(_ k: Int, _ c: ChainDraws) {
        lock.lock()
        chains[k] = c
        lock.unlock()
    }

    func advance(_ n: Double, of total: Double, report: (Double) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        done += n
        report(done / total)
    }

    var all: [ChainDraws] {
        lock.lock()
        defer { lock.unlock() }
        return chains.map { $0! }
    }
}
