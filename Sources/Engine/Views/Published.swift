import Bidding
import Common
import StateFormat

/// What partition owners publish for every process: a partition's shared state as of an
/// offset. Views keep the newest per partition (by offset), so a view never goes back
/// when a new owner restores an older snapshot and catches up.
public struct PublishedPartition: Sendable {
    public static let stateVersion: UInt16 = 1

    public var stream: String
    public var partition: Int32
    /// The first offset the state does not include.
    public var nextOffset: Int64
    /// Wall-clock time of publication: the age of this part of a view.
    public var publishedAtMillis: Int64
    public var state: PartitionState

    public init(stream: String, partition: Int32, nextOffset: Int64, publishedAtMillis: Int64, state: PartitionState) {
        self.stream = stream
        self.partition = partition
        self.nextOffset = nextOffset
        self.publishedAtMillis = publishedAtMillis
        self.state = state
    }

    public func serialized() -> [UInt8] {
        var w = StateWriter()
        w.write(Self.stateVersion)
        w.write(stream)
        w.write(partition)
        w.write(nextOffset)
        w.write(publishedAtMillis)
        state.encode(to: &w)
        return Envelope.seal(w.bytes)
    }

    public init(serialized bytes: [UInt8], context: LearnerContext) throws(StateFormatError) {
        var r = StateReader(try Envelope.open(bytes))
        let version = try r.readUInt16()
        guard version == Self.stateVersion else { throw StateFormatError("published state version \(version) is not \(Self.stateVersion)") }
        stream = try r.readString()
        partition = try r.readInt32()
        nextOffset = try r.readInt64()
        publishedAtMillis = try r.readInt64()
        state = try PartitionState(publishedFrom: &r, context: context)
        guard r.isAtEnd else { throw StateFormatError("\(r.remaining) unread bytes after the published state") }
    }
}

/// A process of the group as it advertises itself: where its HTTP server answers and
/// which partitions it owns, so that any process can forward a per-user read to the
/// owner of the user's partition.
public struct Member: Sendable, Equatable {
    public static let stateVersion: UInt16 = 1

    public var instance: String
    /// Base URL of its HTTP server, e.g. "http://10.0.0.5:8080".
    public var address: String
    public var partitions: [Int32]
    public var updatedAtMillis: Int64

    public init(instance: String, address: String, partitions: [Int32], updatedAtMillis: Int64) {
        self.instance = instance
        self.address = address
        self.partitions = partitions
        self.updatedAtMillis = updatedAtMillis
    }

    public func serialized() -> [UInt8] {
        var w = StateWriter()
        w.write(Self.stateVersion)
        w.write(instance)
        w.write(address)
        w.writeVarint(UInt64(partitions.count))
        for p in partitions { w.write(p) }
        w.write(updatedAtMillis)
        return Envelope.seal(w.bytes)
    }

    public init(serialized bytes: [UInt8]) throws(StateFormatError) {
        var r = StateReader(try Envelope.open(bytes))
        guard try r.readUInt16() == Self.stateVersion else { throw StateFormatError("member record of another version") }
        instance = try r.readString()
        address = try r.readString()
        partitions = []
        for _ in 0..<(try r.readCount(elementSize: 4)) { partitions.append(try r.readInt32()) }
        updatedAtMillis = try r.readInt64()
    }
}

/// Where the engine publishes what every process needs: partition owners' shared state
/// (engine thread), this process's partitions, and changes to the surface catalogue.
public protocol StatePublisher: AnyObject, Sendable {
    /// Publishes one partition's shared state. Called on the engine thread: must not wait
    /// on I/O.
    func publish(_ partition: PublishedPartition)
    /// Says that a partition's published state is still current at `atMillis` (nothing
    /// changed since): what keeps the view's age honest for quiet partitions, without
    /// publishing the state again.
    func heartbeat(partition: Int32, nextOffset: Int64, atMillis: Int64)
    /// This process now holds exactly `partitions` (after an assignment or a revocation).
    func holding(_ partitions: [Int32])
    /// Publishes a changed surface definition and waits until it is durable (or fails).
    func publish(surface: SurfaceDefinition) async throws
    /// Publishes a changed campaign and waits until it is durable (or fails).
    func publish(campaign: CampaignDefinition) async throws
    /// Waits until this process has applied every change the group published before the
    /// call (true), or `timeoutMillis` passed (false): an admin change is built on it, so
    /// that a change made through one process and then another through a second process
    /// never builds on what the first replaced.
    func readToPresent(timeoutMillis: Int) async -> Bool
}
