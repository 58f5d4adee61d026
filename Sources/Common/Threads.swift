#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CArbiter

/// A mutex with a condition variable, for the few hand-offs between the engine's
/// dedicated threads. Never held across I/O.
public final class ConditionLock: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()

    public init() {
        pthread_mutex_init(&mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        #if canImport(Glibc)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        pthread_cond_init(&condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }

    /// Waits (lock held by the caller inside `withLock`) until signalled or `deadline`
    /// (monotonic nanoseconds) passes; returns false on timeout.
    @discardableResult
    public func wait(untilNanos deadline: UInt64) -> Bool {
        #if canImport(Glibc)
        var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        return pthread_cond_timedwait(&condition, &mutex, &ts) == 0
        #else
        let now = MonotonicClock.nanos
        let delta = deadline > now ? deadline - now : 0
        var ts = timespec(tv_sec: Int(delta / 1_000_000_000), tv_nsec: Int(delta % 1_000_000_000))
        return pthread_cond_timedwait_relative_np(&condition, &mutex, &ts) == 0
        #endif
    }

    public func wait() {
        pthread_cond_wait(&condition, &mutex)
    }

    public func broadcast() {
        pthread_cond_broadcast(&condition)
    }
}

/// Monotonic time for intervals and deadlines.
public enum MonotonicClock {
    public static var nanos: UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// Wall-clock milliseconds since the epoch, for ages and log lines.
public enum WallClock {
    public static var millis: Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

/// A value handed from one thread to another exactly once; the receiver blocks for it.
public final class Handoff<Value>: @unchecked Sendable {
    private let lock = ConditionLock()
    private var value: Value?

    public init() {}

    public func put(_ v: Value) {
        lock.withLock {
            value = v
            lock.broadcast()
        }
    }

    public func take() -> Value {
        lock.withLock {
            while value == nil { lock.wait() }
            return value!
        }
    }

    /// The value if it has been put, without waiting.
    public func poll() -> Value? {
        lock.withLock { value }
    }
}

/// A FIFO between threads; `take` waits up to a timeout.
public final class Mailbox<Item>: @unchecked Sendable {
    private let lock = ConditionLock()
    private var items: [Item] = []
    private var head = 0
    private var interrupted = false

    public init() {}

    public func put(_ item: Item) {
        lock.withLock {
            items.append(item)
            lock.broadcast()
        }
    }

    /// Makes a `take` waiting on an empty mailbox (or the next one) return nil now, as if
    /// its time were up: the taker has other work queued elsewhere.
    public func interrupt() {
        lock.withLock {
            interrupted = true
            lock.broadcast()
        }
    }

    public func take(timeoutMillis: Int) -> Item? {
        lock.withLock {
            let deadline = MonotonicClock.nanos + UInt64(max(0, timeoutMillis)) * 1_000_000
            while head == items.count {
                if interrupted {
                    interrupted = false
                    return nil
                }
                if !lock.wait(untilNanos: deadline), head == items.count { return nil }
            }
            let item = items[head]
            head += 1
            if head > 1024, head * 2 > items.count {
                items.removeFirst(head)
                head = 0
            }
            return item
        }
    }

}

/// A named OS thread running one closure; joined explicitly.
///
/// The name is given to the OS thread too (`pthread_setname_np`), so `top -H`, `perf`
/// and debuggers show which of the engine's threads is busy.
public final class WorkerThread: @unchecked Sendable {
    /// How the OS scheduler treats the thread against the others of the process.
    public enum Priority: Sendable {
        /// As the thread that started it.
        case inherited
        /// Niceness 10 (Linux), for work no answer waits for (learning, snapshots,
        /// publishing views, refits): when the cores are busy, the threads answering
        /// requests run first, and the background catches up when they are idle.
        case background
    }

    private var thread = pthread_t()
    private let body: () -> Void
    private let priority: Priority
    public let name: String

    public init(name: String, priority: Priority = .inherited, _ body: @escaping () -> Void) {
        self.body = body
        self.name = name
        self.priority = priority
        let unmanaged = Unmanaged.passRetained(self)
        let result = pthread_create(&thread, nil, { raw in
            #if canImport(Glibc)
            let me = Unmanaged<WorkerThread>.fromOpaque(raw!).takeRetainedValue()
            #else
            let me = Unmanaged<WorkerThread>.fromOpaque(raw).takeRetainedValue()
            #endif
            _ = arbiter_name_this_thread(me.name)
            #if canImport(Glibc)
            // Linux keeps a niceness per thread; `who` 0 is the calling thread.
            if me.priority == .background { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10) }
            #endif
            me.body()
            return nil
        }, unmanaged.toOpaque())
        precondition(result == 0, "pthread_create failed for \(name): \(result)")
    }

    public func join() {
        pthread_join(thread, nil)
    }
}
