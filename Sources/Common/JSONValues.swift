#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Conversions of scanned spans to Swift values. Every span passed here has already been
/// validated by `JSONScanner`, so these only convert.
public enum JSONValues {
    @usableFromInline static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// The correctly rounded double of a JSON number. Numbers with at most 2⁵³ as
    /// significand and a decimal exponent within ±22 are converted exactly by one
    /// multiplication or division (Clinger's fast path); the rest go to `strtod`.
    @inlinable public static func double(_ base: UnsafePointer<UInt8>, _ span: Span) -> Double {
        var i = span.start
        let end = span.end
        var negative = false
        if base[i] == UInt8(ascii: "-") {
            negative = true
            i += 1
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var exponent = 0
        var exact = true
        while i < end, base[i] &- UInt8(ascii: "0") < 10 {
            if digits < 19 {
                mantissa = mantissa &* 10 &+ UInt64(base[i] &- UInt8(ascii: "0"))
                if mantissa != 0 { digits += 1 }
            } else {
                exact = false
            }
            i += 1
        }
        if i < end, base[i] == UInt8(ascii: ".") {
            i += 1
            while i < end, base[i] &- UInt8(ascii: "0") < 10 {
                if digits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(base[i] &- UInt8(ascii: "0"))
                    if mantissa != 0 { digits += 1 }
                    exponent -= 1
                } else {
                    exact = false
                }
                i += 1
            }
        }
        if i < end {  // exponent part
            i += 1
            var expNegative = false
            if base[i] == UInt8(ascii: "+") {
                i += 1
            } else if base[i] == UInt8(ascii: "-") {
                expNegative = true
                i += 1
            }
            var e = 0
            while i < end {
                if e < 100_000 { e = e * 10 + Int(base[i] &- UInt8(ascii: "0")) }
                i += 1
            }
            exponent += expNegative ? -e : e
        }
        if exact, mantissa <= 1 << 53, exponent >= -22, exponent <= 22 {
            var value = Double(mantissa)
            if exponent >= 0 {
                value *= exactPowersOfTen[exponent]
            } else {
                value /= exactPowersOfTen[-exponent]
            }
            return negative ? -value : value
        }
        return slowDouble(base, span)
    }

    @inlinable static func slowDouble(_ base: UnsafePointer<UInt8>, _ span: Span) -> Double {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: span.count + 1) { buffer in
            for k in 0..<span.count { buffer[k] = CChar(bitPattern: base[span.start + k]) }
            buffer[span.count] = 0
            return strtod(buffer.baseAddress!, nil)
        }
    }

    /// The string a validated string span denotes.
    @inlinable public static func string(_ base: UnsafePointer<UInt8>, _ value: ScannedValue) -> String {
        let raw = UnsafeBufferPointer(start: base + value.span.start, count: value.span.count)
        guard value.kind == .escapedString else {
            return String(decoding: raw, as: UTF8.self)
        }
        return String(unsafeUninitializedCapacity: raw.count) { out in
            var o = 0
            var i = 0
            func put(_ scalar: UInt32) {
                if scalar < 0x80 {
                    out[o] = UInt8(scalar); o += 1
                } else if scalar < 0x800 {
                    out[o] = UInt8(0xC0 | scalar >> 6); out[o + 1] = UInt8(0x80 | scalar & 0x3F); o += 2
                } else if scalar < 0x10000 {
                    out[o] = UInt8(0xE0 | scalar >> 12)
                    out[o + 1] = UInt8(0x80 | scalar >> 6 & 0x3F)
                    out[o + 2] = UInt8(0x80 | scalar & 0x3F)
                    o += 3
                } else {
                    out[o] = UInt8(0xF0 | scalar >> 18)
                    out[o + 1] = UInt8(0x80 | scalar >> 12 & 0x3F)
                    out[o + 2] = UInt8(0x80 | scalar >> 6 & 0x3F)
                    out[o + 3] = UInt8(0x80 | scalar & 0x3F)
                    o += 4
                }
            }
            func hex4(_ at: Int) -> UInt32 {
                var v: UInt32 = 0
                for k in 0..<4 { v = v << 4 | JSONScanner.hexValue(raw[at + k])! }
                return v
            }
            while i < raw.count {
                let b = raw[i]
                guard b == UInt8(ascii: "\\") else {
                    out[o] = b; o += 1; i += 1
                    continue
                }
                let e = raw[i + 1]
                i += 2
                switch e {
                case UInt8(ascii: "b"): put(0x08)
                case UInt8(ascii: "f"): put(0x0C)
                case UInt8(ascii: "n"): put(0x0A)
                case UInt8(ascii: "r"): put(0x0D)
                case UInt8(ascii: "t"): put(0x09)
                case UInt8(ascii: "u"):
                    // The longest escape (6 bytes) never encodes to more than 3, and a
                    // surrogate pair (12 bytes) to 4, so `out` is always large enough.
                    var scalar = hex4(i)
                    i += 4
                    if (0xD800...0xDBFF).contains(scalar) {
                        let low = hex4(i + 2)
                        i += 6
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    put(scalar)
                default: put(UInt32(e))  // " \ /
                }
            }
            return o
        }
    }

    /// True when a string span equals `name` byte for byte.
    @inline(__always)
    @inlinable public static func equals(_ base: UnsafePointer<UInt8>, _ span: Span, _ name: StaticString) -> Bool {
        span.count == name.utf8CodeUnitCount && memcmp(base + span.start, name.utf8Start, span.count) == 0
    }
}
