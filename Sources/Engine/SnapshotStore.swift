import Common
import Logging

/// Where partition snapshots live: local files for one process, an object store for a
/// group whose processes share no file system. Keys are
/// `<stream>/p<partition>/<nextOffset>.snap`, the offset zero-padded to 20 digits so keys
/// sort by offset.
///
/// Snapshots are written whole and never modified. Because state is a deterministic
/// function of the partition's records, two snapshots under the same key always hold the
/// same bytes, so a late write by a stale owner can never install a different state.
public protocol SnapshotStore: Sendable {
    /// Names the store in logs and errors ("run/snapshots", "s3://bucket/prefix").
    var location: String { get }
    /// Snapshots kept per partition; older ones are the fallback when the newest is damaged.
    var keep: Int { get }
    /// Stores `bytes` durably under `key` (replacing nothing half-way: readers see the old
    /// object or the new one).
    func put(_ bytes: [UInt8], key: String) throws
    func get(_ key: String) throws -> [UInt8]
    /// Every key that starts with `prefix`, sorted.
    func list(prefix: String) throws -> [String]
    func delete(_ key: String) throws
}

extension SnapshotStore {
    static func prefix(stream: String, partition: Int32) -> String {
        "\(fileSafe(stream))/p\(partition)/"
    }

    static func fileSafe(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_" ? $0 : "_" })
    }

    static func name(nextOffset: Int64) -> String {
        String(nextOffset).zeroPadded(to: 20) + ".snap"
    }

    /// Writes `snapshot` durably, then removes older snapshots of the partition beyond
    /// `keep` in all. Only ones older than the one just written are candidates: newer
    /// ones may be from another build or owner, and the new one must never be removed.
    /// Returns the size written.
    @discardableResult
    public func write(_ snapshot: PartitionSnapshot) throws -> Int {
        let prefix = Self.prefix(stream: snapshot.stream, partition: snapshot.partition)
        let key = prefix + Self.name(nextOffset: snapshot.nextOffset)
        let bytes = snapshot.serialized()
        try put(bytes, key: key)
        let older = ((try? list(prefix: prefix)) ?? []).filter { $0.hasSuffix(".snap") && $0 < key }
        for old in older.dropLast(max(2, keep) - 1) { try? delete(old) }
        return bytes.count
    }

    /// The newest snapshot of the partition that reads back intact. Damaged ones are
    /// skipped with a log line naming the key and what is wrong with it.
    public func newest(stream: String, partition: Int32, context: LearnerContext, logger: Logger) -> PartitionSnapshot? {
        newest(keys: (try? list(prefix: Self.prefix(stream: stream, partition: partition))) ?? [], stream: stream, partition: partition, context: context, adopt: true, logger: logger)
    }

    /// The newest intact snapshot of every partition of every stream in the store, read
    /// as written (not adopting `context`) unless `adopt`.
    public func newestOfAll(context: LearnerContext, adopt: Bool = false, logger: Logger) -> [PartitionSnapshot] {
        var byPartition: [String: [String]] = [:]
        for key in (try? list(prefix: "")) ?? [] where key.hasSuffix(".snap") {
            let parts = key.split(separator: "/")
            guard parts.count == 3, parts[1].hasPrefix("p"), Int32(parts[1].dropFirst()) != nil else { continue }
            byPartition[parts[0] + "/" + parts[1], default: []].append(key)
        }
        return byPartition.keys.sorted().compactMap { group in
            let partition = Int32(group.split(separator: "/")[1].dropFirst())!
            return newest(keys: byPartition[group]!.sorted(), stream: nil, partition: partition, context: context, adopt: adopt, logger: logger)
        }
    }

    private func newest(keys: [String], stream: String?, partition: Int32, context: LearnerContext, adopt: Bool, logger: Logger) -> PartitionSnapshot? {
        for key in keys.filter({ $0.hasSuffix(".snap") }).reversed() {
            do {
                var notes: [String] = []
                let snapshot = try PartitionSnapshot(serialized: try get(key), context: context, adopt: adopt, notes: &notes)
                guard stream == nil || snapshot.stream == stream, snapshot.partition == partition else {
                    logger.warning("snapshot skipped: it belongs to another partition", metadata: ["snapshot": "\(location)/\(key)"])
                    continue
                }
                for note in notes { logger.warning("snapshot restored with a change: \(note)", metadata: ["snapshot": "\(location)/\(key)"]) }
                return snapshot
            } catch {
                logger.warning("snapshot skipped: unreadable, falling back to the previous one", metadata: ["snapshot": "\(location)/\(key)", "reason": "\(error)"])
            }
        }
        return nil
    }
}

/// Snapshots as files under a directory: written to a temporary file, fsynced, renamed
/// and the directory fsynced, so a crash leaves the old file or the new one.
public struct FileSnapshotStore: SnapshotStore {
    public let root: String
    public let keep: Int

    public init(root: String, keep: Int = 3) {
        self.root = root
        self.keep = max(2, keep)
    }

    public var location: String { root }

    public func put(_ bytes: [UInt8], key: String) throws {
        let path = root + "/" + key
        try FileIO.makeDirectories(String(path[..<path.lastIndex(of: "/")!]))
        try FileIO.writeAtomically(bytes, to: path)
    }

    public func get(_ key: String) throws -> [UInt8] { try FileIO.readAll(root + "/" + key) }

    public func list(prefix: String) throws -> [String] {
        // Keys are at most three levels deep (stream/partition/file): walk the
        // directories the prefix names, then everything below.
        var found: [String] = []
        func walk(_ relative: String) {
            let path = relative.isEmpty ? root : root + "/" + relative
            guard let names = try? FileIO.list(path) else { return }
            for name in names {
                let key = relative.isEmpty ? name : relative + "/" + name
                if FileIO.isDirectory(root + "/" + key) {
                    walk(key)
                } else if key.hasPrefix(prefix), !name.contains(".tmp") {
                    found.append(key)
                }
            }
        }
        let directory = prefix.contains("/") ? String(prefix[..<prefix.lastIndex(of: "/")!]) : ""
        walk(directory)
        return found.sorted()
    }

    public func delete(_ key: String) throws { FileIO.remove(root + "/" + key) }
}
