import Bidding
import Common
import Logging
import StateFormat
import Stream

/// The compacted state topic every process of a group shares: partition owners publish
/// their partitions' shared state (key `p/<partition>`, and `h/<partition>` heartbeats
/// while it does not change), processes advertise their HTTP
/// address and partitions (`m/<instance>`), and admin changes to the surface catalogue
/// and the campaigns travel as whole definitions (`s/<surface>`, `c/<campaign>`). Every process reads all of it, from the
/// beginning, into its view builder, so every process decides on the same views.
///
/// Threads: `state-publish` encodes and sends partition states handed over by the engine
/// thread (which never waits on it); the `state-reader` thread of `TopicReader` applies
/// what arrives and rebuilds the view.
public final class StateTopic: StatePublisher, @unchecked Sendable {
    public let topic: String
    private let producer: KafkaProducer
    private let reader: TopicReader
    private let views: ViewBuilder
    private let context: LearnerContext
    private let instance: String
    private let address: String
    private let logger: Logger
    private let queue = Mailbox<PublishedPartition?>()
    private var thread: WorkerThread?
    private let lock = ConditionLock()
    private var held: [Int32] = []

    public init(
        topic: String, producer: KafkaProducer, readerProperties: KafkaProperties, views: ViewBuilder, context: LearnerContext, instance: String,
        address: String, logger: Logger
    ) throws(KafkaError) {
        self.topic = topic
        self.producer = producer
        self.views = views
        self.context = context
        self.instance = instance
        self.address = address
        self.logger = logger
        reader = try TopicReader(topic: topic, properties: readerProperties, logger: logger)
    }

    /// Starts reading (and waits up to `timeoutMillis` until what the topic held is in the
    /// view: the catalogue and members as the group left them) and publishing.
    public func start(timeoutMillis: Int = 30_000) throws(KafkaError) {
        try reader.start { [self] messages in apply(messages) }
        if !reader.waitUntilCaughtUp(timeoutMillis: timeoutMillis) {
            logger.warning("the state topic was not read to its end in time; views fill in as it is", metadata: ["topic": "\(topic)"])
        }
        views.rebuild()
        thread = WorkerThread(name: "state-publish", priority: .background) { [self] in
            while true {
                guard let next = queue.take(timeoutMillis: 1000) else { continue }
                guard let p = next else { return }
                send(key: "p/\(p.partition)", value: p.serialized())
            }
        }
        holding([])
    }

    /// Stops publishing (after what is queued) and reading; the member record is removed
    /// so no one forwards here any more.
    public func stop() {
        queue.put(nil)
        thread?.join()
        thread = nil
        send(key: "m/\(instance)", value: [])
        _ = producer.waitForDelivery(through: producer.lastSequence, timeoutMillis: 5000)
        reader.stop()
    }

    public func publish(_ partition: PublishedPartition) {
        queue.put(partition)
    }

    public func heartbeat(partition: Int32, nextOffset: Int64, atMillis: Int64) {
        var w = StateWriter()
        w.write(nextOffset)
        w.write(atMillis)
        send(key: "h/\(partition)", value: w.bytes)
    }

    public func holding(_ partitions: [Int32]) {
        lock.withLock { held = partitions }
        let member = Member(instance: instance, address: address, partitions: partitions, updatedAtMillis: WallClock.millis)
        // Applied here at once too: this process's own forwarding must not wait for the
        // round trip through the broker.
        views.receive(member: member)
        views.rebuild()
        send(key: "m/\(instance)", value: member.serialized())
    }

    public func publish(surface: SurfaceDefinition) async throws {
        let sequence = try producer.send(topic: topic, key: Array("s/\(surface.name)".utf8), value: surface.serialized())
        guard await producer.delivered(sequence) else { throw KafkaError("the state topic did not acknowledge the change of surface '\(surface.name)'") }
    }

    public func publish(campaign: CampaignDefinition) async throws {
        let sequence = try producer.send(topic: topic, key: Array("c/\(campaign.campaign.id)".utf8), value: campaign.serialized())
        guard await producer.delivered(sequence) else { throw KafkaError("the state topic did not acknowledge the change of campaign '\(campaign.campaign.id)'") }
    }

    public func readToPresent(timeoutMillis: Int) async -> Bool {
        await reader.readToPresent(timeoutMillis: timeoutMillis)
    }

    private func send(key: String, value: [UInt8]) {
        do {
            try producer.send(topic: topic, key: Array(key.utf8), value: value)
        } catch {
            logger.warning("state not published", metadata: ["topic": "\(topic)", "key": "\(key)", "error": "\(error)"])
        }
    }

    private func apply(_ messages: [TopicReader.Message]) {
        for m in messages {
            let key = String(decoding: m.key, as: UTF8.self)
            let value = m.value ?? []
            do {
                if key.hasPrefix("p/") {
                    guard !value.isEmpty else { continue }
                    views.receive(try PublishedPartition(serialized: value, context: context))
                } else if key.hasPrefix("h/"), let p = Int32(key.dropFirst(2)), value.count == 16 {
                    var r = StateReader(value)
                    views.receive(heartbeat: p, nextOffset: try r.readInt64(), atMillis: try r.readInt64())
                } else if key.hasPrefix("s/") {
                    guard !value.isEmpty else { continue }
                    views.receive(surface: try SurfaceDefinition(serialized: value))
                } else if key.hasPrefix("c/") {
                    guard !value.isEmpty else { continue }
                    views.receive(campaign: try CampaignDefinition(serialized: value))
                } else if key.hasPrefix("m/") {
                    if value.isEmpty {
                        views.removeMember(String(key.dropFirst(2)))
                    } else {
                        views.receive(member: try Member(serialized: value))
                    }
                }
            } catch {
                logger.warning("state topic record skipped: unreadable", metadata: ["key": "\(key)", "offset": "\(m.offset)", "reason": "\(error)"])
            }
        }
        views.rebuild()
    }
}
