import Common
import Events
import Stream

/// The decision log's record: an `impression` event in the version-1 event schema, in the
/// events topic (keyed by user). The codec reads the fields learning needs — the surface,
/// the context and the chosen arm's features — and skips the rest (eligible arms, policy
/// and version, ranking), which offline evaluation reads.
public enum DecisionRecord {
    public static func encode(_ d: Decision) -> [UInt8] {
        var w = JSONWriter(reservingCapacity: 256)
        w.beginObject()
        w.key("type"); w.string(EventKind.impression.wireName)
        w.key("v"); w.int(Int64(EventDecoder.schemaVersion))
        w.key("ts"); w.int(d.timestamp)
        w.key("user"); w.string(d.user)
        writeOutcome(d, into: &w)
        w.key("eligible"); w.beginArray()
        for a in d.eligible { w.string(a) }
        w.endArray()
        w.key("context"); w.beginObject()
        for name in d.context.keys.sorted() {
            w.key(name); w.double(d.context[name]!)
        }
        w.endObject()
        if !d.armFeatures.isEmpty {
            w.key("arm_features"); w.beginArray()
            for v in d.armFeatures { w.double(v) }
            w.endArray()
        }
        w.endObject()
        return w.bytes
    }

    /// The fields the record and the HTTP answer share: the decision, its propensity, the
    /// policy that made it and the ranked list.
    public static func writeOutcome(_ d: Decision, into w: inout JSONWriter) {
        w.key("decision_id"); w.string(d.id)
        w.key("surface"); w.string(d.surface)
        w.key("action"); w.string(d.action)
        w.key("propensity"); w.double(d.propensity)
        if let draws = d.propensityDraws { w.key("propensity_draws"); w.int(Int64(draws)) }
        w.key("policy"); w.string(d.policy)
        w.key("policy_version"); w.int(d.policyVersion)
        w.key("model_updates"); w.int(d.modelUpdates)
        w.key("ranking"); w.beginArray()
        for a in d.ranking { w.string(a) }
        w.endArray()
    }
}
