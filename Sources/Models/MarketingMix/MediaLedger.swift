import Common
import Events
import StateFormat

/// Daily spend per channel and the daily KPI (purchase revenue and conversions): the
/// aggregate series a marketing-mix refit reads.
public struct MediaLedger: Learner, Equatable {
    public static let name = "models.media-ledger"
    public static let stateVersion: UInt16 = 1

    public struct ChannelDay: Hashable, Comparable, Sendable {
        public var channel: String
        public var day: Day
        public static func < (a: Self, b: Self) -> Bool {
            (a.channel, a.day.daysSinceEpoch) < (b.channel, b.day.daysSinceEpoch)
        }
    }

    public struct Outcome: Sendable, Equatable {
        public var revenue = Money.zero
        public var conversions: Int64 = 0

        mutating func record(_ revenue: Money) {
            self.revenue += revenue
            conversions += 1
        }
    }

    public private(set) var spend: [ChannelDay: Money] = [:]
    public private(set) var outcomes: [Day: Outcome] = [:]

    public init() {}

    public var reads: Set<EventKind> { [.spend, .purchase] }

    public mutating func learn(_ event: Event) {
        switch event.body {
        case .spend(let e):
            spend[ChannelDay(channel: e.channel, day: e.day), default: .zero] += e.amount
        case .purchase(let e):
            outcomes[Day(epochMillis: event.timestamp), default: Outcome()].record(e.revenue)
        default:
            break
        }
    }

    public mutating func merge(_ other: MediaLedger) {
        for (key, amount) in other.spend { spend[key, default: .zero] += amount }
        for (day, o) in other.outcomes {
            outcomes[day, default: Outcome()].revenue += o.revenue
            outcomes[day, default: Outcome()].conversions += o.conversions
        }
    }

    public func encode(to w: inout StateWriter) {
        w.writeVarint(UInt64(spend.count))
        for key in spend.keys.sorted() {
            w.write(key.channel)
            w.write(key.day.daysSinceEpoch)
            w.write(spend[key]!)
        }
        w.writeVarint(UInt64(outcomes.count))
        for day in outcomes.keys.sorted() {
            let o = outcomes[day]!
            w.write(day.daysSinceEpoch)
            w.write(o.revenue)
            w.write(o.conversions)
        }
    }

    public init(from r: inout StateReader, version: UInt16) throws(StateFormatError) {
        let n = try r.readCount(elementSize: 21)
        for _ in 0..<n {
            let channel = try r.readString()
            let day = Day(daysSinceEpoch: try r.readInt32())
            spend[ChannelDay(channel: channel, day: day)] = try r.readMoney()
        }
        let m = try r.readCount(elementSize: 28)
        for _ in 0..<m {
            let day = Day(daysSinceEpoch: try r.readInt32())
            outcomes[day] = Outcome(revenue: try r.readMoney(), conversions: try r.readInt64())
        }
    }
}

extension MediaLedger {
    public var gauges: [LearnerGauge] {
        [LearnerGauge("media_days_with_spend", Double(Set(spend.keys.map(\.day)).count)), LearnerGauge("media_days_with_outcomes", Double(outcomes.count))]
    }

    public func summarize(into w: inout JSONWriter, top: Int) {
        w.beginObject()
        w.key("spend_by_channel"); w.beginObject()
        var byChannel: [String: Money] = [:]
        for (key, amount) in spend { byChannel[key.channel, default: .zero] += amount }
        for channel in byChannel.keys.sorted() { w.key(channel); w.raw(byChannel[channel]!.description) }
        w.endObject()
        w.key("days_with_spend"); w.int(Int64(Set(spend.keys.map(\.day)).count))
        w.key("days_with_outcomes"); w.int(Int64(outcomes.count))
        w.key("conversions"); w.int(outcomes.values.reduce(0) { $0 + $1.conversions })
        w.key("revenue"); w.raw(outcomes.values.reduce(Money.zero) { $0 + $1.revenue }.description)
        w.endObject()
    }
}
