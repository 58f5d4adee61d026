import Testing

@testable import StateFormat

struct Sample: StateCodable, Equatable {
    static let stateVersion: UInt16 = 2
    var name: String
    var values: [Int64]
    var flag: Bool
    var ratio: Double

    func encode(to w: inout StateWriter) {
        w.write(name)
        w.writeVarint(UInt64(values.count))
        values.forEach { w.write($0) }
        w.write(flag)
        w.write(ratio)
    }

    init(name: String, values: [Int64], flag: Bool, ratio: Double) {
        self.name = name
        self.values = values
        self.flag = flag
        self.ratio = ratio
    }

    init(from r: inout StateReader, version: UInt16) throws(StateFormatError) {
        name = try r.readString()
        values = try (0..<r.readCount(elementSize: 8)).map { _ throws(StateFormatError) in try r.readInt64() }
        flag = try r.readBool()
        ratio = try r.readDouble()
    }
}

@Suite struct StateFormatTests {
    let sample = Sample(name: "ünïcode", values: [0, -1, .max, .min], flag: true, ratio: -0.0)

    @Test func sectionsRoundTrip() throws {
        var w = StateWriter()
        w.write(section: sample)
        w.writeVarint(300)
        var r = StateReader(w.bytes)
        let back = try r.read(section: Sample.self)
        #expect(back == sample)
        #expect(back.ratio.sign == .minus)
        #expect(try r.readVarint() == 300)
        #expect(r.isAtEnd)
    }

    @Test func newerSectionVersionsAreRefused() {
        var w = StateWriter()
        w.write(UInt16(3))
        w.writeVarint(0)
        var r = StateReader(w.bytes)
        #expect(throws: StateFormatError.self) { try r.read(section: Sample.self) }
    }

    @Test func crc32cMatchesTheStandardCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
    }

    @Test func envelopeDetectsEveryTruncationAndBitFlip() throws {
        var w = StateWriter()
        w.write(section: sample)
        let sealed = Envelope.seal(w.bytes)
        #expect(try Envelope.open(sealed) == w.bytes)
        for length in 0..<sealed.count {
            #expect(throws: StateFormatError.self) { try Envelope.open(Array(sealed[0..<length])) }
        }
        for byte in 0..<sealed.count {
            for bit in 0..<8 {
                var damaged = sealed
                damaged[byte] ^= UInt8(1 << bit)
                #expect(throws: StateFormatError.self) { try Envelope.open(damaged) }
            }
        }
    }

    @Test func readersFailCleanlyOnGarbage() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0..<64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            var r = StateReader(bytes)
            _ = try? r.read(section: Sample.self)
        }
    }
}
