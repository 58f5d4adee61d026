import Common
import Logging
import Stream

/// Writes snapshots on a thread of its own, in submission order, so the engine thread
/// never waits on disk or on output acknowledgements except when it must (revocation).
final class SnapshotWriter: @unchecked Sendable {
    enum Outcome: Sendable {
        /// Durable; the offsets each partition's snapshot covers, and its size.
        case written([Int32: Int64], bytes: [Int32: Int])
        /// Not written (outputs not acknowledged in time, or a file-system error).
        case failed([Int32: Int64])
    }

    private struct Job {
        var snapshots: [PartitionSnapshot]
        var outputsMark: UInt64
        var timeoutMillis: Int
        var commit: Bool
        var done: Handoff<Outcome>
    }

    private let store: SnapshotStore
    private let outputs: any OutputSink
    private let logger: Logger
    private let commit: Pipeline.Committer?
    private let jobs = Mailbox<Job?>()
    private var thread: WorkerThread?

    init(store: SnapshotStore, outputs: any OutputSink, logger: Logger, commit: Pipeline.Committer?) {
        self.store = store
        self.outputs = outputs
        self.logger = logger
        self.commit = commit
        thread = WorkerThread(name: "snapshots", priority: .background) { [self] in
            while true {
                guard let next = jobs.take(timeoutMillis: 1000) else { continue }
                guard let job = next else { return }
                job.done.put(perform(job))
            }
        }
    }

    /// Queues snapshots to be written once outputs up to `outputsMark` are durable.
    func submit(_ snapshots: [PartitionSnapshot], outputsMark: UInt64, timeoutMillis: Int, commit: Bool) -> Handoff<Outcome> {
        let done = Handoff<Outcome>()
        jobs.put(Job(snapshots: snapshots, outputsMark: outputsMark, timeoutMillis: timeoutMillis, commit: commit, done: done))
        return done
    }

    /// Finishes queued jobs and ends the thread.
    func shutdown() {
        jobs.put(nil)
        thread?.join()
        thread = nil
    }

    private func perform(_ job: Job) -> Outcome {
        var offsets: [Int32: Int64] = [:]
        for s in job.snapshots { offsets[s.partition] = s.nextOffset }
        guard outputs.waitUntilDurable(job.outputsMark, timeoutMillis: job.timeoutMillis) else {
            logger.warning("snapshot deferred: outputs not acknowledged yet", metadata: ["partitions": "\(offsets.keys.sorted())"])
            return .failed(offsets)
        }
        var bytes: [Int32: Int] = [:]
        for snapshot in job.snapshots {
            do {
                bytes[snapshot.partition] = try store.write(snapshot)
            } catch {
                logger.error("snapshot not written", metadata: ["partition": "\(snapshot.partition)", "error": "\(error)"])
                return .failed(offsets)
            }
        }
        if job.commit { commit?(offsets) }
        logger.debug("snapshot written", metadata: ["offsets": "\(offsets.sorted { $0.key < $1.key })"])
        return .written(offsets, bytes: bytes)
    }
}
