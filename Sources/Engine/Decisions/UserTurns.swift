import Synchronization

/// One request at a time per user, in arrival order: a request for a user whose earlier
/// request is still being answered waits, and the earlier one hands it the turn when it
/// finishes, so the second reads what the first left (a kept price) without polling.
final class UserTurns: Sendable {
    /// The users whose turn is taken, with the requests waiting for it.
    private let waiting = Mutex<[String: [CheckedContinuation<Void, Never>]]>([:])

    /// Returns once it is this request's turn for `user`; `give` must follow.
    func take(_ user: String) async {
        if waiting.withLock({ Self.claim(&$0, user) }) { return }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = waiting.withLock { w in
                if Self.claim(&w, user) { return true }
                w[user]!.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    /// Ends this request's turn for `user`, handing it to the next one waiting.
    func give(_ user: String) {
        let next = waiting.withLock { w -> CheckedContinuation<Void, Never>? in
            guard var queue = w[user], !queue.isEmpty else {
                w[user] = nil
                return nil
            }
            let first = queue.removeFirst()
            w[user] = queue
            return first
        }
        next?.resume()
    }

    private static func claim(_ w: inout [String: [CheckedContinuation<Void, Never>]], _ user: String) -> Bool {
        guard w[user] == nil else { return false }
        w[user] = []
        return true
    }
}
