import Stream
import Common
import Events
import StateFormat

/// Exact counts of accepted events by type and of rejected inputs by reason: the
/// engine's own bookkeeping, snapshotted with the learners so counts survive restarts.
public struct EventTally: Learner, Equatable {
    public static let name = "engine.event-tally"
    public static let stateVersion: UInt16 = 1

    /// Accepted events by type, indexed by `EventKind.rawValue` (an array: this is
    /// updated for every event, and hashing a key would cost more than the count).
    private var counts = [Int64](repeating: 0, count: EventKind.allCases.count)
    /// Rejected inputs by `DecodeError.Category` raw value.
    public private(set) var rejected: [String: Int64] = [:]
    public private(set) var earliest: Int64 = .max
    public private(set) var latest: Int64 = .min

    public init() {}

    /// Accepted events by type (types never seen are absent).
    public var accepted: [EventKind: Int64] {
        var out: [EventKind: Int64] = [:]
        for kind in EventKind.allCases where counts[Int(kind.rawValue)] > 0 { out[kind] = counts[Int(kind.rawValue)] }
        return out
    }

    public var reads: Set<EventKind> { EventKind.everything }

    public mutating func learn(_ event: Event) {
        counts[Int(event.kind.rawValue)] += 1
        earliest = min(earliest, event.timestamp)
        latest = max(latest, event.timestamp)
    }

    public mutating func reject(category: String) {
        rejected[category, default: 0] += 1
    }

    public var acceptedTotal: Int64 { counts.reduce(0, +) }
    public var rejectedTotal: Int64 { rejected.values.reduce(0, +) }

    public mutating func merge(_ other: EventTally) {
        for i in counts.indices { counts[i] += other.counts[i] }
        for (k, n) in other.rejected { rejected[k, default: 0] += n }
        earliest = min(earliest, other.earliest)
        latest = max(latest, other.latest)
    }

    public func encode(to w: inout StateWriter) {
        let seen = accepted
        w.writeVarint(UInt64(seen.count))
        for kind in seen.keys.sorted() {
            w.write(kind.rawValue)
            w.write(seen[kind]!)
        }
        w.writeVarint(UInt64(rejected.count))
        for category in rejected.keys.sorted() {
            w.write(category)
            w.write(rejected[category]!)
        }
        w.write(earliest)
        w.write(latest)
    }

    public init(from r: inout StateReader, version: UInt16) throws(StateFormatError) {
        let n = try r.readCount(elementSize: 9)
        for _ in 0..<n {
            let raw = try r.readUInt8()
            guard let kind = EventKind(rawValue: raw) else { throw StateFormatError("unknown event kind \(raw) in tally") }
            counts[Int(kind.rawValue)] = try r.readInt64()
        }
        let m = try r.readCount(elementSize: 9)
        for _ in 0..<m {
            let category = try r.readString()
            rejected[category] = try r.readInt64()
        }
        earliest = try r.readInt64()
        latest = try r.readInt64()
    }
}

extension EventTally {
    public func summarize(into w: inout JSONWriter, top: Int) {
        w.beginObject()
        w.key("accepted"); w.int(acceptedTotal)
        w.key("by_type"); w.beginObject()
        for kind in EventKind.allCases { w.key(kind.wireName); w.int(accepted[kind] ?? 0) }
        w.endObject()
        w.key("rejected"); w.int(rejectedTotal)
        w.key("rejected_by_reason"); w.beginObject()
        for category in rejected.keys.sorted() { w.key(category); w.int(rejected[category]!) }
        w.endObject()
        if acceptedTotal > 0 {
            w.key("earliest"); w.string(Timestamp.formatRFC3339(millis: earliest))
            w.key("latest"); w.string(Timestamp.formatRFC3339(millis: latest))
        }
        w.endObject()
    }
}
