import Bandits
import Common
import Events
import Bidding
import MarketingMix
import Recommenders
import Scoring
import StateFormat
import Stream

/// A readable JSON account of a learner set, with a digest of its complete binary state:
/// two states are equal exactly when their digests are (the encoding is canonical).
public enum StateSummary {
    /// CRC-32C of the canonical encoding, as 8 hex digits.
    public static func digest(_ learners: LearnerSet) -> String {
        var w = StateWriter()
        learners.encode(to: &w)
        return String(CRC32C.checksum(w.bytes), radix: 16).zeroPadded(to: 8)
    }

    /// The summary of `learners`; `partitions` lists the offsets it covers, if known.
    public static func json(_ learners: LearnerSet, partitions: [(partition: Int32, nextOffset: Int64)] = [], top: Int = 10) -> [UInt8] {
        var w = JSONWriter(reservingCapacity: 4096)
        w.beginObject()
        w.key("digest"); w.string(digest(learners))
        w.key("partitions"); w.beginArray()
        for p in partitions {
            w.beginObject()
            w.key("partition"); w.int(Int64(p.partition))
            w.key("next_offset"); w.int(p.nextOffset)
            w.endObject()
        }
        w.endArray()

        let tally = learners.tally
        w.key("events"); w.beginObject()
        w.key("accepted"); w.int(tally.acceptedTotal)
        w.key("by_type"); w.beginObject()
        for kind in EventKind.allCases { w.key(kind.wireName); w.int(tally.accepted[kind] ?? 0) }
        w.endObject()
        w.key("rejected"); w.int(tally.rejectedTotal)
        w.key("rejected_by_reason"); w.beginObject()
        for category in tally.rejected.keys.sorted() { w.key(category); w.int(tally.rejected[category]!) }
        w.endObject()
        if tally.acceptedTotal > 0 {
            w.key("earliest"); w.string(Timestamp.formatRFC3339(millis: tally.earliest))
            w.key("latest"); w.string(Timestamp.formatRFC3339(millis: tally.latest))
        }
        w.endObject()

        let actions = learners.actions
        w.key("actions"); w.beginObject()
        w.key("count"); w.int(Int64(actions.actions.count))
        w.key("impressions"); w.int(actions.actions.values.reduce(0) { $0 + $1.impressions })
        w.key("clicks"); w.int(actions.clicks)
        w.key("clicks_with_decision"); w.int(actions.clicksWithDecision)
        w.key("rewards"); w.int(actions.rewards)
        w.key("reward_sum"); w.double(actions.rewardSum.value)
        w.key("most_shown"); w.beginArray()
        for (action, x) in actions.actions.sorted(by: { ($0.value.impressions, $1.key) > ($1.value.impressions, $0.key) }).prefix(top) {
            w.beginObject()
            w.key("action"); w.string(action)
            w.key("impressions"); w.int(x.impressions)
            w.key("inverse_propensity_sum"); w.double(x.inversePropensitySum.value)
            w.endObject()
        }
        w.endArray()
        w.endObject()

        let customers = learners.customers.customers
        let buyers = customers.values.filter { $0.purchases > 0 }
        w.key("customers"); w.beginObject()
        w.key("count"); w.int(Int64(customers.count))
        w.key("purchasers"); w.int(Int64(buyers.count))
        w.key("repeat_purchasers"); w.int(Int64(buyers.filter { $0.purchaseDays > 1 }.count))
        w.key("purchases"); w.int(buyers.reduce(0) { $0 + $1.purchases })
        w.key("revenue"); w.raw(buyers.reduce(Money.zero) { $0 + $1.revenue }.description)
        w.endObject()

        let media = learners.media
        w.key("media"); w.beginObject()
        w.key("spend_by_channel"); w.beginObject()
        var byChannel: [String: Money] = [:]
        for (key, amount) in media.spend { byChannel[key.channel, default: .zero] += amount }
        for channel in byChannel.keys.sorted() { w.key(channel); w.raw(byChannel[channel]!.description) }
        w.endObject()
        w.key("days_with_spend"); w.int(Int64(Set(media.spend.keys.map(\.day)).count))
        w.key("days_with_outcomes"); w.int(Int64(media.outcomes.count))
        w.key("conversions"); w.int(media.outcomes.values.reduce(0) { $0 + $1.conversions })
        w.key("revenue"); w.raw(media.outcomes.values.reduce(Money.zero) { $0 + $1.revenue }.description)
        w.endObject()

        let items = learners.items.items
        w.key("items"); w.beginObject()
        w.key("count"); w.int(Int64(items.count))
        w.key("most_bought"); w.beginArray()
        for (item, c) in items.sorted(by: { ($0.value.units, $1.key) > ($1.value.units, $0.key) }).prefix(top) {
            w.beginObject()
            w.key("item"); w.string(item)
            w.key("views"); w.int(c.views)
            w.key("adds_to_cart"); w.int(c.addsToCart)
            w.key("units"); w.int(c.units)
            w.key("revenue"); w.raw(c.revenue.description)
            w.endObject()
        }
        w.endArray()
        w.endObject()

        let auctions = learners.auctions
        w.key("auctions"); w.beginObject()
        w.key("count"); w.int(auctions.auctions)
        w.key("wins"); w.int(auctions.wins)
        w.key("cost"); w.raw(auctions.cost.description)
        w.key("clicks"); w.int(auctions.clicks)
        w.key("conversions"); w.int(auctions.conversions)
        w.endObject()
        w.endObject()
        w.newline()
        return w.bytes
    }
}
