import Synchronization
import Testing

@testable import Engine

@Suite struct UserTurnsTests {
    @Test func oneRequestPerUserAtATimeAndOtherUsersDoNotWait() async {
        let turns = UserTurns()
        final class Occupancy: Sendable {
            let counts = Mutex((inside: 0, most: 0))
        }
        let room = Occupancy()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    await turns.take("u")
                    room.counts.withLock { c in
                        c.inside += 1
                        c.most = max(c.most, c.inside)
                    }
                    await Task.yield()
                    room.counts.withLock { $0.inside -= 1 }
                    turns.give("u")
                }
            }
        }
        #expect(room.counts.withLock { $0.most } == 1)
        // Another user's turn is free while "u" holds its own.
        await turns.take("u")
        await turns.take("v")
        turns.give("v")
        turns.give("u")
        await turns.take("u")
        turns.give("u")
    }
}
