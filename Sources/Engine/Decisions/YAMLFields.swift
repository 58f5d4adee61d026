import Events
import Stream
import Yams

/// Reading the mappings of the configuration's product sections (pricing, bidding):
/// known keys only, numbers in range, amounts of money and times, each error naming
/// where it is.
enum YAMLFields {
    static func fields(_ node: Node, _ known: Set<String>, _ at: String) throws(ConfigurationError) -> [String: Node] {
        guard case .mapping(let m) = node else { throw ConfigurationError("\(at) must be a mapping") }
        var out: [String: Node] = [:]
        for (k, v) in m {
            guard let key = k.string, known.contains(key) else {
                throw ConfigurationError("\(at): unknown key '\(k.string ?? "?")'; known: \(known.sorted().joined(separator: ", "))")
            }
            out[key] = v
        }
        return out
    }

    static func number(_ node: Node?, _ at: String, default value: Double, in range: ClosedRange<Double>, integer: Bool = false) throws(ConfigurationError)
        -> Double
    {
        guard let node else { return value }
        guard let x = node.scalar.flatMap({ Double($0.string) }), x.isFinite, range.contains(x), !integer || x == x.rounded() else {
            throw ConfigurationError("\(at) must be \(integer ? "an integer" : "a number") from \(range.lowerBound) to \(range.upperBound)")
        }
        return x
    }

    static func money(_ node: Node?, _ at: String) throws(ConfigurationError) -> Money? {
        guard let node else { return nil }
        guard let m = node.scalar.flatMap({ Double($0.string) }).flatMap({ Money(units: $0) }) else { throw ConfigurationError("\(at) must be an amount from 0 to 1e12") }
        return m
    }

    /// An RFC 3339 time with an offset, as epoch milliseconds; nil when absent.
    static func time(_ node: Node?, _ at: String) throws(ConfigurationError) -> Int64? {
        guard let node else { return nil }
        guard let text = node.scalar?.string else { throw ConfigurationError("\(at) must be an RFC 3339 time, e.g. 2026-12-01T00:00:00Z") }
        let parsed = Array(text.utf8).withUnsafeBufferPointer { Timestamp.parseRFC3339($0) }
        guard let ms = parsed else { throw ConfigurationError("\(at) '\(text)' is not an RFC 3339 time with an offset") }
        return ms
    }

    /// A list of strings.
    static func strings(_ node: Node?, _ at: String) throws(ConfigurationError) -> [String] {
        guard let node else { return [] }
        guard case .sequence(let seq) = node else { throw ConfigurationError("\(at) must be a list") }
        var out: [String] = []
        for item in seq {
            guard let s = item.scalar?.string, !s.isEmpty else { throw ConfigurationError("\(at) must be a list of non-empty strings") }
            out.append(s)
        }
        return out
    }
}
