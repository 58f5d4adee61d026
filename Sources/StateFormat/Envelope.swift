/// The framing around a stored state payload: magic, format version, length and a
/// CRC-32C over everything before it. A truncated or bit-flipped file fails `open`.
///
/// Layout (little-endian): `"ARBS"` · format version u16 · payload length u64 ·
/// payload · CRC-32C u32.
public enum Envelope {
    public static let magic: [UInt8] = Array("ARBS".utf8)
    public static let formatVersion: UInt16 = 1
    static let headerSize = 4 + 2 + 8
    static let trailerSize = 4

    public static func seal(_ payload: [UInt8]) -> [UInt8] {
        var w = StateWriter()
        for b in magic { w.write(b) }
        w.write(formatVersion)
        w.write(UInt64(payload.count))
        var out = w.bytes
        out.reserveCapacity(headerSize + payload.count + trailerSize)
        out.append(contentsOf: payload)
        let crc = CRC32C.checksum(out)
        withUnsafeBytes(of: crc.littleEndian) { out.append(contentsOf: $0) }
        return out
    }

    /// The payload of a sealed buffer, or why it is not valid.
    public static func open(_ bytes: [UInt8]) throws(StateFormatError) -> [UInt8] {
        guard bytes.count >= headerSize + trailerSize else {
            throw StateFormatError("file of \(bytes.count) bytes is shorter than an empty envelope")
        }
        guard Array(bytes[0..<4]) == magic else { throw StateFormatError("not an Arbiter state file (bad magic)") }
        var header = StateReader(bytes, position: 4)
        let version = try header.readUInt16()
        guard version == formatVersion else {
            throw StateFormatError("envelope format version \(version) is not supported (expected \(formatVersion))")
        }
        let length = try header.readUInt64()
        guard length == UInt64(bytes.count - headerSize - trailerSize) else {
            throw StateFormatError("length field says \(length) payload bytes but the file holds \(bytes.count - headerSize - trailerSize) (truncated?)")
        }
        let body = bytes[0..<(bytes.count - trailerSize)]
        var trailer = StateReader(bytes, position: bytes.count - trailerSize)
        let stored = try trailer.readUInt32()
        let computed = CRC32C.checksum(body)
        guard stored == computed else {
            throw StateFormatError("checksum mismatch (stored \(stored), computed \(computed)): the file is corrupt")
        }
        return Array(bytes[headerSize..<(bytes.count - trailerSize)])
    }
}

/// CRC-32C (Castagnoli), the checksum Kafka and ext4 use; slicing-by-8 tables.
public enum CRC32C {
    private static let tables: [[UInt32]] = {
        var tables = Array(repeating: Array(repeating: UInt32(0), count: 256), count: 8)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            tables[0][i] = c
        }
        for i in 0..<256 {
            for t in 1..<8 {
                let prev = tables[t - 1][i]
                tables[t][i] = (prev >> 8) ^ tables[0][Int(prev & 0xFF)]
            }
        }
        return tables
    }()

    public static func checksum<C: Collection>(_ data: C) -> UInt32 where C.Element == UInt8 {
        let result = data.withContiguousStorageIfAvailable { update(0, $0) }
        return result ?? Array(data).withUnsafeBufferPointer { update(0, $0) }
    }

    private static func update(_ crc: UInt32, _ p: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var c = ~crc
        var i = 0
        let n = p.count
        tables.withUnsafeBufferPointer { t in
            let t0 = t[0], t1 = t[1], t2 = t[2], t3 = t[3], t4 = t[4], t5 = t[5], t6 = t[6], t7 = t[7]
            while n - i >= 8 {
                let lo = c ^ (UInt32(p[i]) | UInt32(p[i + 1]) << 8 | UInt32(p[i + 2]) << 16 | UInt32(p[i + 3]) << 24)
                let hi = UInt32(p[i + 4]) | UInt32(p[i + 5]) << 8 | UInt32(p[i + 6]) << 16 | UInt32(p[i + 7]) << 24
                c = t7[Int(lo & 0xFF)] ^ t6[Int(lo >> 8 & 0xFF)] ^ t5[Int(lo >> 16 & 0xFF)] ^ t4[Int(lo >> 24)]
                    ^ t3[Int(hi & 0xFF)] ^ t2[Int(hi >> 8 & 0xFF)] ^ t1[Int(hi >> 16 & 0xFF)] ^ t0[Int(hi >> 24)]
                i += 8
            }
            while i < n {
                c = (c >> 8) ^ t0[Int((c ^ UInt32(p[i])) & 0xFF)]
                i += 1
            }
        }
        return ~c
    }
}
