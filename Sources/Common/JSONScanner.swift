#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A half-open byte range `[start, end)` of the input.
public struct Span: Sendable, Hashable {
    public var start: Int
    public var end: Int
    @inlinable public var count: Int { end - start }
    @inlinable public init(start: Int, end: Int) {
        self.start = start
        self.end = end
    }
}

/// What a scanned JSON value is; strings record whether they need unescaping.
public enum ValueKind: UInt8, Sendable {
    case string, escapedString, number, trueLiteral, falseLiteral, null, object, array
}

/// A JSON value located but not yet converted: conversion happens only for the fields an
/// event type actually reads. For strings the span excludes the quotes.
public struct ScannedValue: Sendable {
    public var kind: ValueKind
    public var span: Span
    @inlinable public init(kind: ValueKind, span: Span) {
        self.kind = kind
        self.span = span
    }
    public static let absent = ScannedValue(kind: .null, span: Span(start: 0, end: 0))
}

/// A validating single-pass JSON scanner over raw bytes (RFC 8259: strict grammar, UTF-8
/// checked, lone surrogates rejected). It never allocates; values are returned as spans.
public struct JSONScanner {
    public let base: UnsafePointer<UInt8>
    public let count: Int
    public var position = 0

    /// Nesting deeper than this is rejected rather than recursed into.
    public static let maximumDepth = 32

    @inlinable public init(base: UnsafePointer<UInt8>, count: Int) {
        self.base = base
        self.count = count
    }

    @inlinable @inline(__always) public var atEnd: Bool { position >= count }
    @inlinable @inline(__always) public var current: UInt8 { base[position] }

    @inlinable public func syntaxError(_ what: String) -> DecodeError {
        if position >= count {
            return DecodeError(.notJSON, "\(what) at end of input (byte \(count))")
        }
        return DecodeError(.notJSON, "\(what) at byte \(position) (0x\(String(base[position], radix: 16)))")
    }

    @inlinable @inline(__always) public mutating func skipWhitespace() {
        while position < count {
            switch base[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    /// Consumes `byte` after optional whitespace, or fails with `what`.
    @inlinable @inline(__always) public mutating func expect(_ byte: UInt8, _ what: String) throws(DecodeError) {
        skipWhitespace()
        guard position < count, base[position] == byte else { throw syntaxError(what) }
        position += 1
    }

    /// Scans any value at the current position (after whitespace).
    @inlinable @inline(__always) public mutating func scanValue(depth: Int) throws(DecodeError) -> ScannedValue {
        skipWhitespace()
        guard position < count else { throw syntaxError("expected a value") }
        let start = position
        switch base[position] {
        case UInt8(ascii: "\""):
            let (span, escaped) = try scanString()
            return ScannedValue(kind: escaped ? .escapedString : .string, span: span)
        case UInt8(ascii: "{"):
            try skipObject(depth: depth + 1)
            return ScannedValue(kind: .object, span: Span(start: start, end: position))
        case UInt8(ascii: "["):
            try skipArray(depth: depth + 1)
            return ScannedValue(kind: .array, span: Span(start: start, end: position))
        case UInt8(ascii: "t"):
            try literal("true")
            return ScannedValue(kind: .trueLiteral, span: Span(start: start, end: position))
        case UInt8(ascii: "f"):
            try literal("false")
            return ScannedValue(kind: .falseLiteral, span: Span(start: start, end: position))
        case UInt8(ascii: "n"):
            try literal("null")
            return ScannedValue(kind: .null, span: Span(start: start, end: position))
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return ScannedValue(kind: .number, span: try scanNumber())
        default:
            throw syntaxError("unexpected byte")
        }
    }

    @inlinable mutating func literal(_ word: StaticString) throws(DecodeError) {
        let n = word.utf8CodeUnitCount
        guard count - position >= n, memcmp(base + position, word.utf8Start, n) == 0 else {
            throw syntaxError("invalid literal")
        }
        position += n
    }

    @inlinable mutating func skipObject(depth: Int) throws(DecodeError) {
        guard depth <= JSONScanner.maximumDepth else {
            throw DecodeError(.notJSON, "nesting deeper than \(JSONScanner.maximumDepth) at byte \(position)")
        }
        position += 1  // {
        skipWhitespace()
        if position < count, base[position] == UInt8(ascii: "}") {
            position += 1
            return
        }
        while true {
            skipWhitespace()
            guard position < count, base[position] == UInt8(ascii: "\"") else {
                throw syntaxError("expected a field name")
            }
            _ = try scanString()
            try expect(UInt8(ascii: ":"), "expected ':'")
            _ = try scanValue(depth: depth)
            skipWhitespace()
            guard position < count else { throw syntaxError("unterminated object") }
            let b = base[position]
            position += 1
            if b == UInt8(ascii: "}") { return }
            guard b == UInt8(ascii: ",") else {
                position -= 1
                throw syntaxError("expected ',' or '}'")
            }
        }
    }

    @inlinable mutating func skipArray(depth: Int) throws(DecodeError) {
        guard depth <= JSONScanner.maximumDepth else {
            throw DecodeError(.notJSON, "nesting deeper than \(JSONScanner.maximumDepth) at byte \(position)")
        }
        position += 1  // [
        skipWhitespace()
        if position < count, base[position] == UInt8(ascii: "]") {
            position += 1
            return
        }
        while true {
            _ = try scanValue(depth: depth)
            skipWhitespace()
            guard position < count else { throw syntaxError("unterminated array") }
            let b = base[position]
            position += 1
            if b == UInt8(ascii: "]") { return }
            guard b == UInt8(ascii: ",") else {
                position -= 1
                throw syntaxError("expected ',' or ']'")
            }
        }
    }

    /// Scans a string starting at its opening quote; returns the span between the quotes.
    @inlinable @inline(__always) public mutating func scanString() throws(DecodeError) -> (Span, escaped: Bool) {
        position += 1  // opening quote
        let start = position
        var escaped = false
        while position < count {
            skipPlainBytes()
            guard position < count else { break }
            let b = base[position]
            if b == UInt8(ascii: "\"") {
                let span = Span(start: start, end: position)
                position += 1
                return (span, escaped)
            } else if b == UInt8(ascii: "\\") {
                escaped = true
                try scanEscape()
            } else if b < 0x20 {
                throw syntaxError("control character in string")
            } else if b < 0x80 {
                position += 1
            } else {
                try scanUTF8Sequence()
            }
        }
        throw syntaxError("unterminated string")
    }

    /// Skips, eight bytes at a time, string content that needs no attention: printable
    /// ASCII other than `"` and `\`. Stops at the first word holding anything else.
    @inlinable @inline(__always) mutating func skipPlainBytes() {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        while count - position >= 8 {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + position).loadUnaligned(as: UInt64.self))
            // A byte is flagged when it is a quote, a backslash, below 0x20 or above 0x7F
            // (the classic "has zero byte" trick applied to word ^ pattern and word - 0x20).
            let quote = word ^ (ones &* 0x22)
            let backslash = word ^ (ones &* 0x5C)
            let flagged = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)
                | ((word &- ones &* 0x20) & ~word) | word
            if flagged & highs != 0 { return }
            position += 8
        }
    }

    @inlinable mutating func scanEscape() throws(DecodeError) {
        position += 1  // backslash
        guard position < count else { throw syntaxError("unterminated escape") }
        switch base[position] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
            UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            position += 1
        case UInt8(ascii: "u"):
            position += 1
            let unit = try hex4()
            if (0xD800...0xDBFF).contains(unit) {
                guard count - position >= 2, base[position] == UInt8(ascii: "\\"),
                    base[position + 1] == UInt8(ascii: "u")
                else { throw syntaxError("high surrogate without a low surrogate") }
                position += 2
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw syntaxError("high surrogate without a low surrogate")
                }
            } else if (0xDC00...0xDFFF).contains(unit) {
                throw syntaxError("lone low surrogate")
            }
        default:
            throw syntaxError("invalid escape")
        }
    }

    @inlinable mutating func hex4() throws(DecodeError) -> UInt32 {
        guard count - position >= 4 else { throw syntaxError("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = JSONScanner.hexValue(base[position]) else {
                throw syntaxError("invalid hex digit in \\u escape")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    @inlinable @inline(__always) public static func hexValue(_ b: UInt8) -> UInt32? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(b - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(b - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// Validates one multi-byte UTF-8 sequence (no overlongs, surrogates or values past
    /// U+10FFFF), per the table in Unicode §3.9.
    @inlinable mutating func scanUTF8Sequence() throws(DecodeError) {
        let b0 = base[position]
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch b0 {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: throw syntaxError("invalid UTF-8")
        }
        guard count - position >= length else { throw syntaxError("truncated UTF-8 sequence") }
        let b1 = base[position + 1]
        guard b1 >= low, b1 <= high else { throw syntaxError("invalid UTF-8") }
        for i in 2..<max(2, length) {
            guard base[position + i] & 0xC0 == 0x80 else { throw syntaxError("invalid UTF-8") }
        }
        position += length
    }

    /// Scans a number per the JSON grammar and returns its span.
    @inlinable @inline(__always) public mutating func scanNumber() throws(DecodeError) -> Span {
        let start = position
        if base[position] == UInt8(ascii: "-") { position += 1 }
        guard position < count else { throw syntaxError("truncated number") }
        if base[position] == UInt8(ascii: "0") {
            position += 1
        } else if isDigit(base[position]) {
            while position < count, isDigit(base[position]) { position += 1 }
        } else {
            throw syntaxError("invalid number")
        }
        if position < count, base[position] == UInt8(ascii: ".") {
            position += 1
            guard position < count, isDigit(base[position]) else { throw syntaxError("invalid fraction") }
            while position < count, isDigit(base[position]) { position += 1 }
        }
        if position < count, base[position] | 0x20 == UInt8(ascii: "e") {
            position += 1
            if position < count, base[position] == UInt8(ascii: "+") || base[position] == UInt8(ascii: "-") {
                position += 1
            }
            guard position < count, isDigit(base[position]) else { throw syntaxError("invalid exponent") }
            while position < count, isDigit(base[position]) { position += 1 }
        }
        return Span(start: start, end: position)
    }

    @inlinable @inline(__always) func isDigit(_ b: UInt8) -> Bool {
        b &- UInt8(ascii: "0") < 10
    }
}
