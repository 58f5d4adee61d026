import Common
import Events
import Foundation
import Logging
import MarketingMix
import Stream
import Synchronization
import Testing

@testable import Engine

/// The engine's side of the marketing-mix refit: its ledger becomes the model's data,
/// a converged refit writes the priors file, and the file's content reaches the
/// decision points once per change.
@Suite struct MixRefitTests {
    static let monday = Day(year: 2024, month: 1, day: 1)!

    /// Spend and purchase events for `sim`'s weeks, each week's totals spread evenly
    /// over its seven days (one purchase per day carrying that day's revenue).
    static func ledger(_ sim: MixSimulation, weeks: Int? = nil) -> MediaLedger {
        var ledger = MediaLedger()
        for t in 0..<(weeks ?? sim.data.count) {
            for d in 0..<7 {
                let day = Day(daysSinceEpoch: monday.daysSinceEpoch + Int32(7 * t + d))
                for (c, channel) in sim.data.channels.enumerated() where sim.data.spend(t, c) > 0 {
                    ledger.learn(Event(timestamp: 0, body: .spend(Spend(channel: channel, amount: Money(units: sim.data.spend(t, c) / 7)!, day: day))))
                }
                let revenue = Money(units: max(0, sim.data.kpi[t]) / 7)!
                let purchase = Purchase(user: "u\(t)-\(d)", orderID: "o\(t)-\(d)", items: [], revenue: revenue, currency: "EUR")
                ledger.learn(Event(timestamp: Int64(day.daysSinceEpoch) * 86_400_000 + 3_600_000, body: .purchase(purchase)))
            }
        }
        return ledger
    }

    @Test func theLedgerBecomesWeeklyOrDailySeries() throws {
        let sim = try MixSimulation(weeks: 30, channels: 2, seed: 4)
        var ledger = Self.ledger(sim)
        let weekly = try MixSeries.data(from: ledger, kpi: .revenue, period: .week, channels: [], minimumPeriods: 8)
        #expect(weekly.count == 30 && weekly.channels == ["ch0", "ch1"] && weekly.periods[1] == "2024-01-08")
        for t in [0, 17, 29] {
            #expect(abs(weekly.kpi[t] - max(0, sim.data.kpi[t])) < 1e-3 * max(1, abs(sim.data.kpi[t])))
            #expect(abs(weekly.spend(t, 1) - sim.data.spend(t, 1)) < 1e-3)
        }
        let daily = try MixSeries.data(from: ledger, kpi: .conversions, period: .day, channels: ["ch1"], minimumPeriods: 8)
        #expect(daily.count == 210 && daily.channels == ["ch1"] && daily.kpi.allSatisfy { $0 == 1 })
        // A week not yet complete is left out rather than read as a collapse.
        ledger.learn(Event(timestamp: Int64(Self.monday.daysSinceEpoch + 211) * 86_400_000, body: .purchase(Purchase(user: "x", orderID: "x", items: [], revenue: .zero, currency: "EUR"))))
        #expect(try MixSeries.data(from: ledger, kpi: .revenue, period: .week, channels: [], minimumPeriods: 8).count == 30)
        #expect(throws: MixError.self) { try MixSeries.data(from: ledger, kpi: .revenue, period: .week, channels: [], minimumPeriods: 40) }
        #expect(throws: MixError.self) { try MixSeries.data(from: ledger, kpi: .revenue, period: .week, channels: ["radio"], minimumPeriods: 8) }
        #expect(throws: MixError.self) { try MixSeries.data(from: MediaLedger(), kpi: .revenue, period: .week, channels: [], minimumPeriods: 8) }
    }

    @Test func aConvergedRefitWritesPriorsThatAreAppliedOncePerChange() throws {
        let sim = try MixSimulation(weeks: 104, channels: 3, seed: 23)
        let ledger = Self.ledger(sim)
        let file = temporaryDirectory("mmm-refit") + "/priors.json"
        var model = MixConfiguration()
        model.fit = FitSettings(chains: 4, sampler: NUTSSettings(warmup: 500, draws: 500, targetAcceptance: 0.9), seed: 23)
        let received = Mutex<[MixPriorsFile.Channels]>([])
        let refitter = MixRefitter(
            settings: .init(intervalMillis: 0, minimumPeriods: 26, model: model, priorsFile: file), ledger: { ledger },
            apply: { channels in received.withLock { $0.append(channels) } }, logger: Logger(label: "test"))
        #expect(!refitter.reloadPriors(), "no file yet")
        guard case .written = refitter.refit() else {
            Issue.record("the refit did not converge")
            return
        }
        #expect(refitter.reloadPriors())
        #expect(!refitter.reloadPriors(), "the same content is applied once")
        let applied = try #require(received.withLock { $0.first })
        let roi = applied.roi
        #expect(Set(roi.keys) == ["ch0", "ch1", "ch2"])
        // Exactly the posterior a fit of the ledger's weekly series gives (same seed), and
        // near the truth the events were drawn from.
        let data = try MixSeries.data(from: ledger, kpi: .revenue, period: .week, channels: [], minimumPeriods: 26)
        let fit = MixFit.fit(try MixModel(data: data), settings: model.fit)
        for (c, truth) in sim.trueEffects.enumerated() {
            #expect(roi["ch\(c)"] == fit.channels[c].roi.mean)
            #expect(applied.marginalROI["ch\(c)"] == fit.channels[c].marginalROI.mean)
            #expect(abs(roi["ch\(c)"]! / truth.roi - 1) < 0.5, "ch\(c): \(roi["ch\(c)"]!) vs \(truth.roi)")
        }
        // A file that is not a priors file changes nothing.
        try FileIO.writeAtomically(Array("{\"format\": \"other\"}".utf8), to: file)
        #expect(!refitter.reloadPriors())
        #expect(received.withLock { $0.count } == 1)
    }

    @Test func aRefitThatDoesNotConvergeWritesNothing() throws {
        let sim = try MixSimulation(weeks: 40, channels: 2, seed: 3)
        let ledger = Self.ledger(sim)
        let file = temporaryDirectory("mmm-refit-short") + "/priors.json"
        var model = MixConfiguration()
        model.fit = FitSettings(chains: 2, sampler: NUTSSettings(warmup: 20, draws: 20), seed: 1)
        let refitter = MixRefitter(
            settings: .init(intervalMillis: 0, minimumPeriods: 26, model: model, priorsFile: file), ledger: { ledger }, apply: { _ in Issue.record("applied") },
            logger: Logger(label: "test"))
        guard case .notConverged(let problems) = refitter.refit() else {
            Issue.record("a 20-draw fit claimed convergence")
            return
        }
        #expect(!problems.isEmpty && !FileManager.default.fileExists(atPath: file))
        let waiting = MixRefitter(
            settings: .init(intervalMillis: 0, minimumPeriods: 60, model: model, priorsFile: file), ledger: { ledger }, apply: { _ in },
            logger: Logger(label: "test"))
        #expect(waiting.refit() == .skipped("40 weeks of data; the refit waits for 60"))
    }
}
