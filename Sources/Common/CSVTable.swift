/// A comma-separated file with a header row, read whole (no quoting: the logs and data
/// sets read this way have none). Fields are looked up by header name.
public struct CSVTable: Sendable {
    public let header: [String]
    public let rows: [[Substring]]

    public init(path: String) throws(IOError) {
        let text = String(decoding: try FileIO.readAll(path), as: UTF8.self)
        var lines = text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        guard !lines.isEmpty else { throw IOError("\(path) is empty") }
        header = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false).map { Self.trimmingCarriageReturn($0) }
        rows = lines.map { $0.split(separator: ",", omittingEmptySubsequences: false) }
    }

    /// The index of column `name`, or an error that lists the columns there are.
    public func column(_ name: String, in path: String) throws(IOError) -> Int {
        guard let i = header.firstIndex(of: name) else {
            throw IOError("\(path) has no column '\(name)' (columns: \(header.prefix(12).joined(separator: ", "))\(header.count > 12 ? "…" : ""))")
        }
        return i
    }

    private static func trimmingCarriageReturn(_ s: Substring) -> String {
        s.hasSuffix("\r") ? String(s.dropLast()) : String(s)
    }
}
