import Common
import Logging
import Stream

/// Snapshot files in a directory: `<root>/<stream>/p<partition>/<nextOffset>.snap`, the
/// offset zero-padded to 20 digits so names sort by offset.
///
/// Files are written atomically and durably and never modified. Several engine processes
/// of one consumer group share the directory: the owner of a partition writes it, and the
/// next owner restores it after a rebalance. Because state is a deterministic function of
/// the partition's records, two files with the same name always hold the same bytes, so a
/// late write by a stale owner can never install a different state.
public struct SnapshotStore: Sendable {
    public let root: String
    /// Files kept per partition; older ones are the fallback when the newest is damaged.
    public let keep: Int

    public init(root: String, keep: Int = 3) {
        self.root = root
        self.keep = max(2, keep)
    }

    func directory(stream: String, partition: Int32) -> String {
        "\(root)/\(SnapshotStore.fileSafe(stream))/p\(partition)"
    }

    static func fileSafe(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_" ? $0 : "_" })
    }

    static func fileName(nextOffset: Int64) -> String {
        String(nextOffset).zeroPadded(to: 20) + ".snap"
    }

    /// Writes `snapshot` durably, then removes older files beyond `keep` in all. Only
    /// files older than the one just written are candidates: newer ones may be from
    /// another build or owner, and the new file must never be the one removed.
    public func write(_ snapshot: PartitionSnapshot) throws(IOError) {
        let dir = directory(stream: snapshot.stream, partition: snapshot.partition)
        try FileIO.makeDirectories(dir)
        let name = SnapshotStore.fileName(nextOffset: snapshot.nextOffset)
        try FileIO.writeAtomically(snapshot.serialized(), to: dir + "/" + name)
        let older = ((try? FileIO.list(dir)) ?? []).filter { $0.hasSuffix(".snap") && $0 < name }
        for old in older.dropLast(keep - 1) { FileIO.remove(dir + "/" + old) }
    }

    /// The newest snapshot of the partition that reads back intact. Damaged files are
    /// skipped with a log line naming the file and what is wrong with it.
    public func newest(stream: String, partition: Int32, logger: Logger) -> PartitionSnapshot? {
        newest(in: directory(stream: stream, partition: partition), stream: stream, partition: partition, logger: logger)
    }

    /// The newest intact snapshot of every partition of every stream in the store.
    public func newestOfAll(logger: Logger) -> [PartitionSnapshot] {
        var found: [PartitionSnapshot] = []
        for streamDir in (try? FileIO.list(root)) ?? [] {
            for name in (try? FileIO.list(root + "/" + streamDir)) ?? [] {
                guard name.hasPrefix("p"), let partition = Int32(name.dropFirst()) else { continue }
                let dir = root + "/" + streamDir + "/" + name
                if let s = newest(in: dir, stream: nil, partition: partition, logger: logger) { found.append(s) }
            }
        }
        return found
    }

    private func newest(in dir: String, stream: String?, partition: Int32, logger: Logger) -> PartitionSnapshot? {
        guard let files = try? FileIO.list(dir) else { return nil }
        for name in files.filter({ $0.hasSuffix(".snap") }).reversed() {
            let path = dir + "/" + name
            do {
                let snapshot = try PartitionSnapshot(serialized: try FileIO.readAll(path))
                guard stream == nil || snapshot.stream == stream, snapshot.partition == partition else {
                    logger.warning("snapshot skipped: it belongs to another partition", metadata: ["file": "\(path)"])
                    continue
                }
                return snapshot
            } catch {
                logger.warning("snapshot skipped: unreadable, falling back to the previous one", metadata: ["file": "\(path)", "reason": "\(error)"])
            }
        }
        return nil
    }
}
