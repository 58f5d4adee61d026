import StateFormat

extension StateWriter {
    /// Money as its 128-bit micro-units (high, then low 64 bits).
    public mutating func write(_ money: Money) {
        write(UInt64(truncatingIfNeeded: money.micros >> 64))
        write(UInt64(truncatingIfNeeded: money.micros))
    }
}

extension StateReader {
    public mutating func readMoney() throws(StateFormatError) -> Money {
        let high = try readUInt64()
        let low = try readUInt64()
        return Money(micros: Int128(Int64(bitPattern: high)) << 64 | Int128(low))
    }
}
