import CRdKafka

/// Where a keyed record goes: librdkafka's own partitioners, so that the engine knows
/// the partition of a user exactly as every librdkafka producer places the user's events
/// (the decision log and per-user reads depend on it). Configured by the librdkafka
/// property `partitioner`, which the engine's producer uses too.
public enum Partitioner: String, Sendable, CaseIterable {
    /// librdkafka's default: CRC-32 of the key.
    case consistentRandom = "consistent_random"
    case consistent
    /// The Java client's default: murmur2 of the key.
    case murmur2Random = "murmur2_random"
    case murmur2
    case fnv1aRandom = "fnv1a_random"
    case fnv1a

    /// The partition of a non-empty `key` among `count` partitions.
    public func partition(of key: String, count: Int32) -> Int32 {
        precondition(count > 0 && !key.isEmpty)
        var key = key
        return key.withUTF8 { k in
            let raw = UnsafeRawPointer(k.baseAddress!)
            // Every partitioner reads only the key for a non-empty key; the topic handle
            // is consulted only to pick a random available partition for a missing key.
            switch self {
            case .consistentRandom: return rd_kafka_msg_partitioner_consistent_random(nil, raw, k.count, count, nil, nil)
            case .consistent: return rd_kafka_msg_partitioner_consistent(nil, raw, k.count, count, nil, nil)
            case .murmur2Random: return rd_kafka_msg_partitioner_murmur2_random(nil, raw, k.count, count, nil, nil)
            case .murmur2: return rd_kafka_msg_partitioner_murmur2(nil, raw, k.count, count, nil, nil)
            case .fnv1aRandom: return rd_kafka_msg_partitioner_fnv1a_random(nil, raw, k.count, count, nil, nil)
            case .fnv1a: return rd_kafka_msg_partitioner_fnv1a(nil, raw, k.count, count, nil, nil)
            }
        }
    }
}
