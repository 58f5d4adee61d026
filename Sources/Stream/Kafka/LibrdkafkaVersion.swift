import CRdKafka

/// The librdkafka release loaded at run time and whether it can talk to brokers that send
/// tagged fields in ApiVersions v3 responses (KIP-511 / KIP-584), as Tansu does.
public struct LibrdkafkaVersion: Sendable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int

    public init(major: Int, minor: Int, patch: Int) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// Decodes `rd_kafka_version()`'s 0xMMmmrrxx layout.
    public init(hex: Int32) {
        let v = UInt32(bitPattern: hex)
        self.init(major: Int(v >> 24 & 0xFF), minor: Int(v >> 16 & 0xFF), patch: Int(v >> 8 & 0xFF))
    }

    /// The library actually loaded, which may differ from the headers compiled against.
    public static var loaded: LibrdkafkaVersion { LibrdkafkaVersion(hex: rd_kafka_version()) }

    public static var loadedText: String { String(cString: rd_kafka_version_str()) }

    /// The first release whose ApiVersions v3 parsing skips tagged fields correctly.
    /// Up to 2.1.1 the shared tag-skipping macro skips one byte too few
    /// (`if (len > 1) skip(len - 1)`), so a response carrying tagged fields is misread
    /// and every connection fails with "Read underflow"; 2.2.0 fixed it (librdkafka
    /// #4278, listed as a MetadataResponse fix). Bisected against Tansu 0.6.0: 2.1.1
    /// fails, 2.2.0 works.
    public static let minimumForTaggedFields = LibrdkafkaVersion(major: 2, minor: 2, patch: 0)

    public static func < (a: Self, b: Self) -> Bool {
        (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch)
    }

    public var description: String { "\(major).\(minor).\(patch)" }

    /// Refuses an old library unless the operator says the brokers send no tagged fields.
    public static func check(allowOld: Bool) throws(KafkaError) {
        let version = loaded
        guard version < minimumForTaggedFields, !allowOld else { return }
        throw KafkaError("""
            librdkafka \(loadedText) is loaded, but Arbiter needs \(minimumForTaggedFields) or newer: \
            older releases misparse the tagged fields of ApiVersions v3 responses and every \
            connection to such a broker (Tansu, recent Apache Kafka) fails with "Read underflow". \
            Fix: run scripts/setup.sh and put .deps/lib first in LD_LIBRARY_PATH (it holds \
            librdkafka 2.16 from the confluent-kafka wheel), or install librdkafka ≥ \
            \(minimumForTaggedFields) from your distribution. If your brokers send no tagged \
            fields, override with --allow-old-librdkafka (kafka.allow_old_librdkafka: true).
            """)
    }
}
