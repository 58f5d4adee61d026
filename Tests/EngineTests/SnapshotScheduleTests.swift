import Testing

@testable import Engine

@Suite struct SnapshotScheduleTests {
    let schedule = SnapshotSchedule(inputRatio: 1, maxIntervalMillis: 600_000)
    let large = 100 << 20

    @Test func aSmallStateIsSnapshottedEveryIntervalWhateverItsInput() {
        #expect(schedule.isDue(snapshotBytes: 0, inputBytes: 1, millisSinceSnapshot: 5000))
        #expect(schedule.isDue(snapshotBytes: SnapshotSchedule.smallStateBytes - 1, inputBytes: 1, millisSinceSnapshot: 5000))
    }

    @Test func aLargeStateWaitsUntilItsInputMatchesItsSize() {
        #expect(!schedule.isDue(snapshotBytes: large, inputBytes: large - 1, millisSinceSnapshot: 5000))
        #expect(schedule.isDue(snapshotBytes: large, inputBytes: large, millisSinceSnapshot: 5000))
        let half = SnapshotSchedule(inputRatio: 0.5, maxIntervalMillis: 600_000)
        #expect(half.isDue(snapshotBytes: large, inputBytes: large / 2, millisSinceSnapshot: 5000))
        #expect(!half.isDue(snapshotBytes: large, inputBytes: large / 2 - 1, millisSinceSnapshot: 5000))
    }

    @Test func aLargeStateIsStillSnapshottedWithinTheMaximumInterval() {
        #expect(!schedule.isDue(snapshotBytes: large, inputBytes: 10, millisSinceSnapshot: 599_999))
        #expect(schedule.isDue(snapshotBytes: large, inputBytes: 10, millisSinceSnapshot: 600_000))
    }

    @Test func ratioZeroSnapshotsEveryChangedPartitionEveryInterval() {
        let always = SnapshotSchedule(inputRatio: 0, maxIntervalMillis: 600_000)
        #expect(always.isDue(snapshotBytes: large, inputBytes: 0, millisSinceSnapshot: 0))
    }
}
