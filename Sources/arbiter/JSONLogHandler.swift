#if canImport(Glibc)
import Common
import Glibc
#endif
import Logging
import Stream

/// Structured logs: one JSON object per line on standard error, with the time, level,
/// logger label, message and metadata as fields.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var w = JSONWriter(reservingCapacity: 256)
        w.beginObject()
        w.key("ts"); w.string(Timestamp.formatRFC3339(millis: WallClock.millis))
        w.key("level"); w.string(event.level.rawValue)
        w.key("logger"); w.string(label)
        w.key("msg"); w.string(event.message.description)
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        for key in merged.keys.sorted() {
            w.key(key); w.string(merged[key]!.description)
        }
        w.endObject()
        w.newline()
        let line = w.bytes
        // One write(2) per line keeps lines from concurrent threads whole.
        line.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
    }
}

enum LogSetup {
    /// Bootstraps swift-log once per process with the configured format and level.
    static func bootstrap(format: String, level: String) -> Logger {
        let lvl = Logger.Level(rawValue: level) ?? .info
        LoggingSystem.bootstrap { label in
            if format == "text" {
                var h = StreamLogHandler.standardError(label: label)
                h.logLevel = lvl
                return h
            }
            return JSONLogHandler(label: label, logLevel: lvl)
        }
        return Logger(label: "arbiter")
    }
}
