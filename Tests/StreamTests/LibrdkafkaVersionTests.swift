import Testing

@testable import Stream

@Suite struct LibrdkafkaVersionTests {
    @Test func decodesTheVersionWord() {
        #expect(LibrdkafkaVersion(hex: 0x0200_02ff) == LibrdkafkaVersion(major: 2, minor: 0, patch: 2))
        #expect(LibrdkafkaVersion(hex: 0x0210_00ff).description == "2.16.0")
    }

    @Test func brokenReleaseIsBelowTheMinimumAndWorkingOneAbove() {
        #expect(LibrdkafkaVersion(major: 2, minor: 0, patch: 2) < LibrdkafkaVersion.minimumForTaggedFields)
        #expect(LibrdkafkaVersion(major: 2, minor: 1, patch: 1) < LibrdkafkaVersion.minimumForTaggedFields)
        #expect(!(LibrdkafkaVersion(major: 2, minor: 2, patch: 0) < LibrdkafkaVersion.minimumForTaggedFields))
        #expect(!(LibrdkafkaVersion(major: 2, minor: 16, patch: 0) < LibrdkafkaVersion.minimumForTaggedFields))
    }

    @Test func theLoadedLibraryPassesTheCheck() throws {
        // Tests run with .deps/lib first in LD_LIBRARY_PATH (scripts/test.sh).
        try LibrdkafkaVersion.check(allowOld: false)
    }
}
