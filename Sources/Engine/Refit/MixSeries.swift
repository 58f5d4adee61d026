import Events
import MarketingMix

/// The engine's media ledger as the marketing-mix model's data: one row per day or
/// seven-day block, from the first day with spend or purchases to the last, spend per
/// channel and the KPI (purchase revenue or count). Days without events count as zero:
/// the ledger sees every spend and purchase event, so a missing day is a day without any.
public enum MixSeries {
    public enum KPI: String, Sendable { case revenue, conversions }
    public enum Period: String, Sendable { case day, week }

    /// Fails (with why) when there is too little data or a named channel has no spend.
    public static func data(from ledger: MediaLedger, kpi: KPI, period: Period, channels wanted: [String], minimumPeriods: Int) throws(MixError) -> MixData {
        let days = ledger.spend.keys.map(\.day) + Array(ledger.outcomes.keys)
        guard let first = days.min(), let last = days.max() else { throw MixError("no spend or purchases yet") }
        let length = period == .day ? 1 : 7
        let count = Int(last.daysSinceEpoch - first.daysSinceEpoch) / length + 1
        let channels = wanted.isEmpty ? Array(Set(ledger.spend.keys.map(\.channel))).sorted() : wanted
        guard !channels.isEmpty else { throw MixError("no spend yet") }
        guard count >= minimumPeriods else { throw MixError("\(count) \(period.rawValue)s of data; the refit waits for \(minimumPeriods)") }
        func row(_ day: Day) -> Int { Int(day.daysSinceEpoch - first.daysSinceEpoch) / length }
        let index = Dictionary(uniqueKeysWithValues: channels.enumerated().map { ($1, $0) })
        var spend = [Double](repeating: 0, count: count * channels.count)
        for (key, amount) in ledger.spend {
            guard let c = index[key.channel] else { continue }
            spend[row(key.day) * channels.count + c] += amount.units
        }
        var outcome = [Double](repeating: 0, count: count)
        for (day, o) in ledger.outcomes {
            outcome[row(day)] += kpi == .revenue ? o.revenue.units : Double(o.conversions)
        }
        // A trailing block shorter than a week would look like a collapse of every series.
        let complete = period == .week && (Int(last.daysSinceEpoch - first.daysSinceEpoch) + 1) % 7 != 0 ? count - 1 : count
        guard complete >= minimumPeriods else { throw MixError("\(complete) complete weeks of data; the refit waits for \(minimumPeriods)") }
        let periods = (0..<complete).map { Day(daysSinceEpoch: first.daysSinceEpoch + Int32($0 * length)).description }
        let data = MixData(
            periods: periods, kpi: Array(outcome.prefix(complete)), channels: channels, spend: Array(spend.prefix(complete * channels.count)),
            dayOfYear: periods.map { MixData.dayOfYear($0) ?? 1 })
        for (c, name) in channels.enumerated() where data.totalSpend(c) <= 0 {
            throw MixError("channel '\(name)' has no spend in the data")
        }
        return data
    }
}
