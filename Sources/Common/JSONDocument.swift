/// A parsed JSON value, for request bodies: small documents read whole, with the same
/// strict, validating scanner the event codec uses (no Foundation).
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    /// Members in document order; a key given twice is refused at parse time.
    case object([JSONMember])

    /// The JSON type name, for error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// The member named `key`, when this is an object holding it.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// Parses one complete JSON text.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> JSONValue {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count > 0 else {
            throw DecodeError(.notJSON, "empty body")
        }
        var scanner = JSONScanner(base: base, count: bytes.count)
        let value = try parseValue(&scanner, depth: 0)
        scanner.skipWhitespace()
        guard scanner.atEnd else { throw scanner.syntaxError("unexpected data after the value") }
        return value
    }

    public static func parse(_ bytes: [UInt8]) throws(DecodeError) -> JSONValue {
        let result: Result<JSONValue, DecodeError> = bytes.withUnsafeBytes { b in
            do throws(DecodeError) { return .success(try parse(b)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    private static func parseValue(_ s: inout JSONScanner, depth: Int) throws(DecodeError) -> JSONValue {
        s.skipWhitespace()
        guard !s.atEnd else { throw s.syntaxError("expected a value") }
        switch s.current {
        case UInt8(ascii: "{"):
            guard depth < JSONScanner.maximumDepth else { throw DecodeError(.notJSON, "nesting deeper than \(JSONScanner.maximumDepth)") }
            s.position += 1
            var members: [JSONMember] = []
            s.skipWhitespace()
            if !s.atEnd, s.current == UInt8(ascii: "}") {
                s.position += 1
                return .object(members)
            }
            while true {
                s.skipWhitespace()
                guard !s.atEnd, s.current == UInt8(ascii: "\"") else { throw s.syntaxError("expected a field name") }
                let (span, escaped) = try s.scanString()
                let key = JSONValues.string(s.base, ScannedValue(kind: escaped ? .escapedString : .string, span: span))
                if members.contains(where: { $0.key == key }) {
                    throw DecodeError(.notJSON, "field '\(clipped(key))' appears twice")
                }
                try s.expect(UInt8(ascii: ":"), "expected ':'")
                members.append(JSONMember(key: key, value: try parseValue(&s, depth: depth + 1)))
                s.skipWhitespace()
                guard !s.atEnd else { throw s.syntaxError("unterminated object") }
                let b = s.current
                if b == UInt8(ascii: "}") {
                    s.position += 1
                    return .object(members)
                }
                guard b == UInt8(ascii: ",") else { throw s.syntaxError("expected ',' or '}'") }
                s.position += 1
            }
        case UInt8(ascii: "["):
            guard depth < JSONScanner.maximumDepth else { throw DecodeError(.notJSON, "nesting deeper than \(JSONScanner.maximumDepth)") }
            s.position += 1
            var items: [JSONValue] = []
            s.skipWhitespace()
            if !s.atEnd, s.current == UInt8(ascii: "]") {
                s.position += 1
                return .array(items)
            }
            while true {
                items.append(try parseValue(&s, depth: depth + 1))
                s.skipWhitespace()
                guard !s.atEnd else { throw s.syntaxError("unterminated array") }
                let b = s.current
                if b == UInt8(ascii: "]") {
                    s.position += 1
                    return .array(items)
                }
                guard b == UInt8(ascii: ",") else { throw s.syntaxError("expected ',' or ']'") }
                s.position += 1
            }
        default:
            let v = try s.scanValue(depth: depth)
            switch v.kind {
            case .string, .escapedString: return .string(JSONValues.string(s.base, v))
            case .number: return .number(JSONValues.double(s.base, v.span))
            case .trueLiteral: return .bool(true)
            case .falseLiteral: return .bool(false)
            case .null: return .null
            case .object, .array: throw s.syntaxError("unexpected value")  // handled above
            }
        }
    }
}

/// One member of a JSON object.
public struct JSONMember: Sendable, Equatable {
    public var key: String
    public var value: JSONValue

    public init(key: String, value: JSONValue) {
        self.key = key
        self.value = value
    }
}
