import StateFormat
import Testing

@testable import Bandits

@Suite struct RewardJoinTests {
    func pending(_ id: String, surface: Int = 0, user: String = "u", arm: Int = 0, at: Int64, window: Int64 = 100) -> RewardJoin.Pending {
        RewardJoin.Pending(id: id, surface: surface, user: user, arm: arm, features: [1, Double(arm)], propensity: 0.5, decidedAt: at, windowEnd: at + window)
    }

    @Test func anExplicitRewardSettlesOnceAndRepeatsAreDuplicates() {
        var join = RewardJoin(surfaces: 1, capacity: 100)
        join.register(pending("d1", arm: 2, at: 0))
        guard case .settled(let s) = join.reward(decision: "d1", value: 0.7, now: 10) else {
            Issue.record("not settled")
            return
        }
        #expect(s == RewardJoin.Settlement(surface: 0, arm: 2, features: [1, 2], reward: 0.7, propensity: 0.5))
        #expect(join.reward(decision: "d1", value: 0.7, now: 20) == .duplicate)
        // A rewarded decision's repeat stays a duplicate after its window too.
        #expect(join.reward(decision: "d1", value: 0.7, now: 150) == .duplicate)
        #expect(join.expire(now: 1000).isEmpty, "a settled decision is not learnt again at its window's end")
        #expect(join.counters[0].joined == 1 && join.counters[0].duplicate == 2 && join.counters[0].updates == 1)
    }

    @Test func windowsEndWithZeroAndLaterRewardsAreLateThenOrphans() {
        var join = RewardJoin(surfaces: 1, capacity: 100)
        join.register(pending("d1", at: 0, window: 100))
        join.register(pending("d2", at: 50, window: 100))
        #expect(join.expire(now: 100).isEmpty, "nothing is over at the window's last instant")
        let over = join.expire(now: 101)
        #expect(over.map(\.reward) == [0] && over.map(\.arm) == [0])
        #expect(join.counters[0].expired == 1)
        #expect(join.reward(decision: "d1", value: 1, now: 120) == .late)
        #expect(join.reward(decision: "d2", value: 1, now: 120) != .late, "d2's window is still open")
        // One more window later d1 is forgotten: a reward for it is now an orphan.
        _ = join.expire(now: 202)
        #expect(join.reward(decision: "d1", value: 1, now: 203) == .orphan)
        #expect(join.reward(decision: "never", value: 1, now: 203) == .orphan)
        #expect(join.orphans == 2)
        #expect(join.counters[0].late == 1 && join.counters[0].updates == 2)
    }

    @Test func userEventsGoToTheLatestOpenDecisionAndRevenueAccumulates() {
        var join = RewardJoin(surfaces: 2, capacity: 100)
        join.register(pending("a", surface: 0, user: "u1", arm: 0, at: 0))
        join.register(pending("b", surface: 0, user: "u1", arm: 1, at: 10))
        join.register(pending("c", surface: 1, user: "u1", arm: 3, at: 10))
        let clicks = join.attribute(user: "u1", surfaces: [0], value: 1, order: nil, settles: true, now: 20)
        #expect(clicks.map(\.arm) == [1], "last touch: the most recent decision")
        #expect(join.attribute(user: "u2", surfaces: [0], value: 1, order: nil, settles: true, now: 20).isEmpty)
        // Revenue sums orders (the same order once) until the window ends.
        #expect(join.attribute(user: "u1", surfaces: [1], value: 20, order: "o1", settles: false, now: 30).isEmpty)
        #expect(join.attribute(user: "u1", surfaces: [1], value: 20, order: "o1", settles: false, now: 31).isEmpty)
        #expect(join.attribute(user: "u1", surfaces: [1], value: 5, order: "o2", settles: false, now: 32).isEmpty)
        let ended = join.expire(now: 200)
        #expect(ended.first { $0.surface == 1 }?.reward == 25)
        #expect(ended.first { $0.surface == 0 }?.arm == 0, "decision a ends unrewarded")
        #expect(join.counters[1].duplicate == 1 && join.counters[1].joined == 2)
    }

    @Test func capacityEvictsTheDecisionDueFirst() {
        var join = RewardJoin(surfaces: 1, capacity: 3)
        for k in 0..<5 { join.register(pending("d\(k)", at: Int64(k))) }
        #expect(join.pendingCount == 3)
        #expect(join.counters[0].evicted == 2)
        #expect(join.reward(decision: "d0", value: 1, now: 10) == .orphan)
        if case .settled = join.reward(decision: "d4", value: 1, now: 10) {} else { Issue.record("d4 should be open") }
    }

    @Test func stateRoundTripsCanonicallyAndDropsRemovedSurfaces() throws {
        var join = RewardJoin(surfaces: 2, capacity: 100)
        join.register(pending("a", surface: 0, at: 0))
        join.register(pending("b", surface: 1, user: "v", at: 5))
        join.register(pending("c", surface: 1, user: "v", at: 6))
        _ = join.reward(decision: "c", value: 1, now: 7)
        _ = join.attribute(user: "v", surfaces: [1], value: 3, order: "o", settles: false, now: 8)
        var w = StateWriter()
        join.encode(to: &w)
        var r = StateReader(w.bytes)
        let same = try RewardJoin(from: &r, capacity: 100)
        #expect(same == join)
        // The encoding follows from the operations, not from dictionary order (which is
        // seeded per process): the decoded join writes the same bytes.
        var again = StateWriter()
        same.encode(to: &again)
        #expect(again.bytes == w.bytes)
        // Decisions continue identically after the round trip.
        var a = join, b = same
        #expect(a.reward(decision: "c", value: 1, now: 9) == b.reward(decision: "c", value: 1, now: 9))
        #expect(a.expire(now: 500) == b.expire(now: 500))
        // Surface 0 no longer configured; surface 1 is now the only one.
        var moved = same.remapped(surfaces: 1, map: [nil, 0])
        #expect(moved.pendingCount == 1 && moved.surface(of: "b") == 0 && moved.surface(of: "a") == nil)
        #expect(moved.reward(decision: "c", value: 1, now: 9) == .duplicate)
    }
}
