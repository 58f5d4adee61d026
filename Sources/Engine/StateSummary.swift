import Common
import Events
import StateFormat

/// A readable JSON account of a state, with digests of its binary encoding: two states
/// (or two learners) are equal exactly when their digests are (the encoding is
/// canonical).
public enum StateSummary {
    /// CRC-32C of the canonical encoding, as 8 hex digits.
    public static func digest(_ state: PartitionState) -> String { digest(state.bytes) }

    static func digest(_ bytes: [UInt8]) -> String {
        String(CRC32C.checksum(bytes), radix: 16).zeroPadded(to: 8)
    }

    /// The digest of one learner's encoding.
    public static func digest(_ learner: any Learner) -> String {
        var w = StateWriter()
        func section<L: Learner>(_ l: L) { w.write(section: l) }
        section(learner)
        return digest(w.bytes)
    }

    /// The summary of `state`; `partitions` lists the offsets it covers, if known.
    public static func json(_ state: PartitionState, partitions: [(partition: Int32, nextOffset: Int64)] = [], top: Int = 10) -> [UInt8] {
        var w = JSONWriter(reservingCapacity: 4096)
        w.beginObject()
        w.key("digest"); w.string(digest(state))
        w.key("digests"); w.beginObject()
        for l in state.learners {
            w.key(type(of: l).name); w.string(digest(l))
        }
        w.endObject()
        // What a published view holds of each learner (per-user parts left out): equal to
        // the view's digests in /v1/status when the view covers the same records.
        w.key("shared_digests"); w.beginObject()
        for l in state.learners {
            if let shared = l.sharedAny { w.key(type(of: l).name); w.string(digest(shared)) }
        }
        w.endObject()
        w.key("partitions"); w.beginArray()
        for p in partitions {
            w.beginObject()
            w.key("partition"); w.int(Int64(p.partition))
            w.key("next_offset"); w.int(p.nextOffset)
            w.endObject()
        }
        w.endArray()
        state.summarize(into: &w, top: top)
        w.endObject()
        w.newline()
        return w.bytes
    }
}
