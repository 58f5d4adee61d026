import CRdKafka
import Common
import Logging

/// A librdkafka failure, with the library's own error name and text.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var code: Int32

    public init(_ message: String, code: Int32 = -1) {
        self.message = message
        self.code = code
    }

    init(_ context: String, _ err: rd_kafka_resp_err_t) {
        self.init("\(context): \(String(cString: rd_kafka_err2name(err))) (\(String(cString: rd_kafka_err2str(err))))", code: err.rawValue)
    }

    public var description: String { message }
}

/// Key/value configuration handed to librdkafka, property names as in its CONFIGURATION.md.
public typealias KafkaProperties = [String: String]

extension KafkaProperties {
    /// Builds a librdkafka configuration object; the caller owns the result until it is
    /// passed to `rd_kafka_new`.
    func makeConfiguration() throws(KafkaError) -> OpaquePointer {
        let conf = rd_kafka_conf_new()!
        var errstr = [CChar](repeating: 0, count: 512)
        for (name, value) in self.sorted(by: { $0.key < $1.key }) {
            let result = rd_kafka_conf_set(conf, name, value, &errstr, errstr.count)
            guard result == RD_KAFKA_CONF_OK else {
                rd_kafka_conf_destroy(conf)
                let reason = String(decoding: errstr.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                throw KafkaError("invalid librdkafka property '\(name)': \(reason)")
            }
        }
        return conf
    }
}

/// What a librdkafka client's opaque points to: the object its callbacks reach, which
/// also carries the logger librdkafka's own log lines are routed to.
protocol LibrdkafkaCallbackTarget: AnyObject {
    var logger: Logger { get }
    var logThrottle: LogThrottle { get }
}

/// Lets one line per facility through every few seconds and counts the rest: while a
/// broker is down librdkafka reports every reconnection attempt, many times a second.
final class LogThrottle: @unchecked Sendable {
    private let lock = ConditionLock()
    private var last: [String: (at: UInt64, suppressed: Int)] = [:]
    private let intervalNanos: UInt64 = 5_000_000_000

    /// nil to drop the line, else the number of lines of the facility dropped before it.
    func admit(_ facility: String) -> Int? {
        let now = MonotonicClock.nanos
        return lock.withLock {
            if let entry = last[facility], now - entry.at < intervalNanos {
                last[facility] = (entry.at, entry.suppressed + 1)
                return nil
            }
            let suppressed = last[facility]?.suppressed ?? 0
            last[facility] = (now, 0)
            return suppressed
        }
    }
}

/// Routes librdkafka's log lines into swift-log (structured like the engine's), instead
/// of librdkafka's own stderr format. The conf's opaque must be a `LibrdkafkaCallbackTarget`.
func forwardLibrdkafkaLogs(_ conf: OpaquePointer) {
    rd_kafka_conf_set_log_cb(conf, librdkafkaLogLine)
}

private func librdkafkaLogLine(_ rk: OpaquePointer?, _ level: Int32, _ facility: UnsafePointer<CChar>?, _ message: UnsafePointer<CChar>?) {
    guard let rk, let opaque = rd_kafka_opaque(rk),
        let target = Unmanaged<AnyObject>.fromOpaque(opaque).takeUnretainedValue() as? LibrdkafkaCallbackTarget
    else { return }
    let mapped: Logger.Level = switch level {
    case ...3: .error
    case 4: .warning
    case 5, 6: .info
    default: .debug
    }
    let facilityName = facility.map { String(cString: $0) } ?? ""
    guard let suppressed = target.logThrottle.admit(facilityName) else { return }
    var metadata: Logger.Metadata = ["facility": "\(facilityName)"]
    if suppressed > 0 { metadata["suppressed_since_last"] = "\(suppressed)" }
    target.logger.log(level: mapped, "librdkafka: \(message.map { String(cString: $0) } ?? "")", metadata: metadata)
}
