#if canImport(Glibc)
import Common
import Glibc
#endif
import Logging
import MarketingMix
import Stream
import Synchronization

/// The marketing-mix refit beside the live engine. On its own thread it (1) refits the
/// model every `interval` to the media ledger the engine keeps (spend per channel and
/// the KPI per day) and, when the fit has converged, writes the priors file; (2) watches
/// that file and, whenever its content changes (its own refit, or an `arbiter mmm fit
/// --priors` run elsewhere), hands each channel's posterior mean ROI to the decision
/// points, whose mapped arms take new priors. Decisions never wait for it: the sampler
/// runs here, and the new priors are published like any other change of a surface. A
/// refit that has not converged writes nothing and changes no prior.
public final class MixRefitter: @unchecked Sendable {
    public struct Settings: Sendable {
        /// Milliseconds between refits; 0 only watches the priors file.
        public var intervalMillis: Int
        public var kpi: MixSeries.KPI
        public var period: MixSeries.Period
        public var minimumPeriods: Int
        public var channels: [String]
        /// Model, priors, lift tests, sampler and budget (its data keys are not used).
        public var model: MixConfiguration
        public var priorsFile: String

        public init(
            intervalMillis: Int, kpi: MixSeries.KPI = .revenue, period: MixSeries.Period = .week, minimumPeriods: Int = 26, channels: [String] = [],
            model: MixConfiguration = MixConfiguration(), priorsFile: String
        ) {
            self.intervalMillis = intervalMillis
            self.kpi = kpi
            self.period = period
            self.minimumPeriods = minimumPeriods
            self.channels = channels
            self.model = model
            self.priorsFile = priorsFile
        }
    }

    /// What one refit did.
    public enum Outcome: Sendable, Equatable {
        /// Converged; the priors file was written.
        case written(seconds: Double)
        /// Sampled but not converged: nothing written.
        case notConverged([String])
        /// Not attempted: too little data, or the engine did not answer.
        case skipped(String)
        case failed(String)
    }

    private let settings: Settings
    private let ledger: @Sendable () -> MediaLedger?
    private let apply: @Sendable (MixPriorsFile.Channels) -> Void
    private let logger: Logger
    private let stopping = Atomic<Bool>(false)
    private var thread: WorkerThread?
    /// The priors file's content last applied (refit thread only).
    private var applied: [UInt8]?

    /// - Parameters:
    ///   - ledger: the merged media ledger of the group's view; nil where this process does not refit.
    ///   - apply: hands each channel's posterior mean ROI and marginal ROI to the decision points.
    public init(settings: Settings, ledger: @escaping @Sendable () -> MediaLedger?, apply: @escaping @Sendable (MixPriorsFile.Channels) -> Void, logger: Logger) {
        self.settings = settings
        self.ledger = ledger
        self.apply = apply
        self.logger = logger
    }

    public func start() {
        thread = WorkerThread(name: "mmm-refit", priority: .background) { [self] in
            var lastRefit = MonotonicClock.nanos
            var ticks = 0
            _ = reloadPriors()
            // Wakes 5 times a second to stop promptly; reads the priors file once a second.
            while !stopping.load(ordering: .acquiring) {
                usleep(200_000)
                ticks += 1
                if settings.intervalMillis > 0, MonotonicClock.nanos - lastRefit >= UInt64(settings.intervalMillis) * 1_000_000 {
                    if case .written = refit() { _ = reloadPriors() }
                    lastRefit = MonotonicClock.nanos
                }
                if ticks % 5 == 0 { _ = reloadPriors() }
            }
        }
    }

    /// Stops the thread, after a refit in progress finishes.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        thread?.join()
        thread = nil
    }

    /// One refit now, on the calling thread.
    public func refit() -> Outcome {
        guard let ledger = ledger() else { return log(.skipped("no media ledger to fit: this process does not lead the refits (the owner of partition 0 does), or no partition has published yet")) }
        do throws(MixError) {
            let data = try MixSeries.data(
                from: ledger, kpi: settings.kpi, period: settings.period, channels: settings.channels, minimumPeriods: settings.minimumPeriods)
            let model = try MixModel(data: data, specification: settings.model.specification)
            let fit = MixFit.fit(model, settings: settings.model.fit)
            guard fit.converged else { return log(.notConverged(fit.problems)) }
            let plan = try BudgetOptimiser.plan(fit, budget: settings.model.budget, bounds: settings.model.bounds, seed: settings.model.fit.seed)
            let bytes = try MixPriorsFile.json(fit, plan: plan, kpi: settings.kpi.rawValue)
            do { try FileIO.writeAtomically(bytes, to: settings.priorsFile) } catch { return log(.failed("cannot write \(settings.priorsFile): \(error)")) }
            logger.info("marketing-mix refit converged", metadata: [
                "periods": "\(data.count)", "channels": "\(data.channels)", "worst_r_hat": "\(fit.worstRHat)",
                "roi": "\(Dictionary(uniqueKeysWithValues: fit.channels.map { ($0.name, $0.roi.mean) }))",
            ])
            return .written(seconds: fit.seconds)
        } catch {
            return log(.skipped(error.message))
        }
    }

    /// Applies the priors file when its content differs from what was applied last;
    /// true when it did. A file that cannot be read or is not a priors file changes
    /// nothing (and is reported once per content).
    @discardableResult
    public func reloadPriors() -> Bool {
        guard FileIO.exists(settings.priorsFile), let bytes = try? FileIO.readAll(settings.priorsFile), bytes != applied else { return false }
        applied = bytes
        do throws(MixError) {
            let channels = try MixPriorsFile.channels(bytes)
            apply(channels)
            logger.info("marketing-mix priors applied", metadata: ["file": "\(settings.priorsFile)", "channels": "\(channels.roi.keys.sorted())"])
            return true
        } catch {
            logger.error("marketing-mix priors file refused; priors unchanged", metadata: ["file": "\(settings.priorsFile)", "reason": "\(error.message)"])
            return false
        }
    }

    private func log(_ outcome: Outcome) -> Outcome {
        switch outcome {
        case .notConverged(let problems):
            logger.warning("marketing-mix refit did not converge: priors unchanged", metadata: ["problems": "\(problems)"])
        case .skipped(let why):
            logger.info("marketing-mix refit skipped", metadata: ["reason": "\(why)"])
        case .failed(let why):
            logger.error("marketing-mix refit failed", metadata: ["reason": "\(why)"])
        case .written:
            break
        }
        return outcome
    }
}
