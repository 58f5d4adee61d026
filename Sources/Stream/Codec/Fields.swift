import Common
import Events

/// Every field name any version-1 event type reads.
enum Field: UInt8, CaseIterable {
    case type, v, ts, user, item, decisionID, orderID, items, revenue, currency, action
    case position, propensity, value, auctionID, won, clearingPrice, click, conversion
    case channel, amount, day, surface, context, armFeatures, price, notice

    /// Its key in the JSON. From a table made once: interpolating a case reflects on the
    /// type, a few microseconds that decoding every decision and reward paid.
    var name: String { Field.names[Int(rawValue)] }

    private static let names: [String] = allCases.map { field in
        switch field {
        case .decisionID: "decision_id"
        case .orderID: "order_id"
        case .auctionID: "auction_id"
        case .clearingPrice: "clearing_price"
        case .armFeatures: "arm_features"
        default: "\(field)"
        }
    }

    init?(name: String) {
        guard let field = Field.allCases.first(where: { $0.name == name }) else { return nil }
        self = field
    }

    /// Matches an unescaped key without allocating: dispatch on length, then compare.
    static func match(_ base: UnsafePointer<UInt8>, _ s: Span) -> Field? {
        func eq(_ name: StaticString) -> Bool { JSONValues.equals(base, s, name) }
        switch s.count {
        case 1: return eq("v") ? .v : nil
        case 2: return eq("ts") ? .ts : nil
        case 3: return eq("won") ? .won : (eq("day") ? .day : nil)
        case 4:
            if eq("type") { return .type }
            if eq("user") { return .user }
            return eq("item") ? .item : nil
        case 5:
            if eq("items") { return .items }
            if eq("value") { return .value }
            if eq("price") { return .price }
            return eq("click") ? .click : nil
        case 6:
            if eq("action") { return .action }
            return eq("amount") ? .amount : (eq("notice") ? .notice : nil)
        case 7:
            if eq("revenue") { return .revenue }
            if eq("channel") { return .channel }
            if eq("surface") { return .surface }
            return eq("context") ? .context : nil
        case 8:
            if eq("order_id") { return .orderID }
            if eq("currency") { return .currency }
            return eq("position") ? .position : nil
        case 10:
            if eq("propensity") { return .propensity }
            if eq("auction_id") { return .auctionID }
            return eq("conversion") ? .conversion : nil
        case 11: return eq("decision_id") ? .decisionID : nil
        case 12: return eq("arm_features") ? .armFeatures : nil
        case 14: return eq("clearing_price") ? .clearingPrice : nil
        default: return nil
        }
    }
}

/// Converts located values to typed fields, with a precise reason when one is wrong.
struct FieldReader {
    let base: UnsafePointer<UInt8>

    func id(_ value: ScannedValue, _ name: @autoclosure () -> String) throws(DecodeError) -> String {
        guard value.kind == .string || value.kind == .escapedString else {
            throw DecodeError(.invalidField, "field '\(name())' must be a string, found \(value.kind.jsonName)")
        }
        let text = JSONValues.string(base, value)
        let length = text.utf8.count
        guard length > 0 else { throw DecodeError(.invalidField, "field '\(name())' must not be empty") }
        guard length <= EventDecoder.maximumIDBytes else {
            throw DecodeError(.invalidField, "field '\(name())' is \(length) bytes long; the limit is \(EventDecoder.maximumIDBytes)")
        }
        return text
    }

    func number(_ value: ScannedValue, _ name: @autoclosure () -> String) throws(DecodeError) -> Double {
        guard value.kind == .number else {
            throw DecodeError(.invalidField, "field '\(name())' must be a number, found \(value.kind.jsonName)")
        }
        return JSONValues.double(base, value.span)
    }

    /// A number within ±1e12: rewards are summed exactly, which needs a bounded range.
    func boundedNumber(_ value: ScannedValue, _ name: @autoclosure () -> String) throws(DecodeError) -> Double {
        let x = try number(value, name())
        guard x.isFinite, abs(x) <= 1e12 else {
            throw DecodeError(.invalidField, "field '\(name())' must be between -1e12 and 1e12")
        }
        return x
    }

    /// An integral number within `range` (JSON has no integer type, so 2.0 is 2).
    func integer(_ value: ScannedValue, _ name: @autoclosure () -> String, in range: ClosedRange<Int64>) throws(DecodeError) -> Int64 {
        let x = try number(value, name())
        guard x.isFinite, x == x.rounded(), x >= -9.007_199_254_740_992e15, x <= 9.007_199_254_740_992e15 else {
            throw DecodeError(.invalidField, "field '\(name())' must be an integer")
        }
        let n = Int64(x)
        guard range.contains(n) else {
            throw DecodeError(.invalidField, "field '\(name())' must be between \(range.lowerBound) and \(range.upperBound), found \(n)")
        }
        return n
    }

    func money(_ value: ScannedValue, _ name: @autoclosure () -> String) throws(DecodeError) -> Money {
        let x = try number(value, name())
        guard let money = Money(units: x) else {
            throw DecodeError(.invalidField, "field '\(name())' must be between 0 and 1e12")
        }
        return money
    }

    func boolean(_ value: ScannedValue, _ name: @autoclosure () -> String) throws(DecodeError) -> Bool {
        switch value.kind {
        case .trueLiteral: return true
        case .falseLiteral: return false
        default: throw DecodeError(.invalidField, "field '\(name())' must be true or false, found \(value.kind.jsonName)")
        }
    }

    func propensity(_ value: ScannedValue) throws(DecodeError) -> Double {
        let p = try number(value, "propensity")
        // Below 1e-12 an inverse-propensity weight is meaningless and would overflow
        // exact sums.
        guard p >= 1e-12, p <= 1 else {
            throw DecodeError(.invalidField, "field 'propensity' must be in [1e-12, 1], found \(p)")
        }
        return p
    }

    func timestamp(_ value: ScannedValue) throws(DecodeError) -> Int64 {
        switch value.kind {
        case .number:
            return try integer(value, "ts", in: 0...(Timestamp.upperBoundMillis - 1))
        case .string:
            let text = UnsafeBufferPointer(start: base + value.span.start, count: value.span.count)
            guard let millis = Timestamp.parseRFC3339(text) else {
                throw DecodeError(.invalidField, "field 'ts' is not an RFC 3339 date-time in years 1970–9999: '\(clipped(JSONValues.string(base, value)))'")
            }
            return millis
        case .escapedString:
            throw DecodeError(.invalidField, "field 'ts' must be written without escape sequences")
        default:
            throw DecodeError(.invalidField, "field 'ts' must be an RFC 3339 string or epoch milliseconds, found \(value.kind.jsonName)")
        }
    }

    func currency(_ value: ScannedValue) throws(DecodeError) -> String {
        let s = value.span
        guard value.kind == .string, s.count == 3,
            (0..<3).allSatisfy({ base[s.start + $0] &- UInt8(ascii: "A") < 26 })
        else {
            throw DecodeError(.invalidField, "field 'currency' must be a three-letter ISO 4217 code such as \"USD\"")
        }
        return JSONValues.string(base, value)
    }

    func day(_ value: ScannedValue) throws(DecodeError) -> Day {
        let s = value.span
        func digits(_ at: Int, _ n: Int) -> Int? {
            var v = 0
            for k in 0..<n {
                let d = base[s.start + at + k] &- UInt8(ascii: "0")
                guard d < 10 else { return nil }
                v = v * 10 + Int(d)
            }
            return v
        }
        guard value.kind == .string, s.count == 10, base[s.start + 4] == UInt8(ascii: "-"),
            base[s.start + 7] == UInt8(ascii: "-"), let y = digits(0, 4), let m = digits(5, 2),
            let d = digits(8, 2), let day = Day(year: y, month: m, day: d)
        else {
            throw DecodeError(.invalidField, "field 'day' must be a calendar date YYYY-MM-DD")
        }
        return day
    }

    /// An object of finite numbers within ±1e12 (a decision's context), at most
    /// `EventDecoder.maximumFeatures` of them.
    func numberObject(_ value: ScannedValue, _ name: String) throws(DecodeError) -> [String: Double] {
        guard value.kind == .object else {
            throw DecodeError(.invalidField, "field '\(name)' must be an object of numbers, found \(value.kind.jsonName)")
        }
        var scanner = JSONScanner(base: base, count: value.span.end)
        scanner.position = value.span.start + 1
        var out: [String: Double] = [:]
        scanner.skipWhitespace()
        if scanner.current == UInt8(ascii: "}") { return out }
        while true {
            scanner.skipWhitespace()
            let (key, escaped) = try scanner.scanString()
            try scanner.expect(UInt8(ascii: ":"), "expected ':'")
            let element = try scanner.scanValue(depth: 2)
            let k = JSONValues.string(base, ScannedValue(kind: escaped ? .escapedString : .string, span: key))
            guard out.count < EventDecoder.maximumFeatures else {
                throw DecodeError(.invalidField, "field '\(name)' may have at most \(EventDecoder.maximumFeatures) members")
            }
            guard out[k] == nil else { throw DecodeError(.duplicateField, "field '\(name).\(clipped(k))' appears more than once") }
            out[k] = try boundedNumber(element, "\(name).\(clipped(k))")
            scanner.skipWhitespace()
            let b = scanner.current
            scanner.position += 1
            if b == UInt8(ascii: "}") { return out }
        }
    }

    /// An array of finite numbers within ±1e12, at most `EventDecoder.maximumFeatures`.
    func numberArray(_ value: ScannedValue, _ name: String) throws(DecodeError) -> [Double] {
        guard value.kind == .array else {
            throw DecodeError(.invalidField, "field '\(name)' must be an array of numbers, found \(value.kind.jsonName)")
        }
        var scanner = JSONScanner(base: base, count: value.span.end)
        scanner.position = value.span.start + 1
        var out: [Double] = []
        scanner.skipWhitespace()
        if scanner.current == UInt8(ascii: "]") { return out }
        while true {
            let element = try scanner.scanValue(depth: 2)
            guard out.count < EventDecoder.maximumFeatures else {
                throw DecodeError(.invalidField, "field '\(name)' may have at most \(EventDecoder.maximumFeatures) values")
            }
            out.append(try boundedNumber(element, "\(name)[\(out.count)]"))
            scanner.skipWhitespace()
            let b = scanner.current
            scanner.position += 1
            if b == UInt8(ascii: "]") { return out }
        }
    }

    /// Parses the `items` array of a purchase: objects with `item`, `price`, `quantity`.
    func purchaseLines(_ value: ScannedValue) throws(DecodeError) -> [Purchase.Line] {
        guard value.kind == .array else {
            throw DecodeError(.invalidField, "field 'items' must be an array, found \(value.kind.jsonName)")
        }
        // The array was validated by the first pass; scan it again for its elements.
        var scanner = JSONScanner(base: base, count: value.span.end)
        scanner.position = value.span.start + 1
        var lines: [Purchase.Line] = []
        scanner.skipWhitespace()
        if scanner.current == UInt8(ascii: "]") {
            throw DecodeError(.invalidField, "field 'items' must not be empty")
        }
        while true {
            let element = try scanner.scanValue(depth: 1)
            let index = lines.count
            guard lines.count < EventDecoder.maximumPurchaseLines else {
                throw DecodeError(.invalidField, "a purchase may have at most \(EventDecoder.maximumPurchaseLines) items")
            }
            guard element.kind == .object else {
                throw DecodeError(.invalidField, "items[\(index)] must be an object, found \(element.kind.jsonName)")
            }
            lines.append(try purchaseLine(element, index: index))
            scanner.skipWhitespace()
            let b = scanner.current
            scanner.position += 1
            if b == UInt8(ascii: "]") { return lines }
        }
    }

    private func purchaseLine(_ object: ScannedValue, index: Int) throws(DecodeError) -> Purchase.Line {
        var scanner = JSONScanner(base: base, count: object.span.end)
        scanner.position = object.span.start + 1
        var item: ScannedValue?
        var price: ScannedValue?
        var quantity: ScannedValue?
        scanner.skipWhitespace()
        if scanner.current != UInt8(ascii: "}") {
            while true {
                scanner.skipWhitespace()
                let (key, escaped) = try scanner.scanString()
                try scanner.expect(UInt8(ascii: ":"), "expected ':'")
                let value = try scanner.scanValue(depth: 2)
                let name = escaped ? JSONValues.string(base, ScannedValue(kind: .escapedString, span: key)) : nil
                func named(_ n: StaticString) -> Bool {
                    if let name { return name == "\(n)" }
                    return JSONValues.equals(base, key, n)
                }
                func set(_ slot: inout ScannedValue?, _ n: String) throws(DecodeError) {
                    guard slot == nil else { throw DecodeError(.duplicateField, "field 'items[\(index)].\(n)' appears more than once") }
                    slot = value
                }
                if named("item") { try set(&item, "item") }
                else if named("price") { try set(&price, "price") }
                else if named("quantity") { try set(&quantity, "quantity") }
                scanner.skipWhitespace()
                let b = scanner.current
                scanner.position += 1
                if b == UInt8(ascii: "}") { break }
            }
        }
        guard let item else { throw DecodeError(.missingField, "missing field 'items[\(index)].item'") }
        guard let price else { throw DecodeError(.missingField, "missing field 'items[\(index)].price'") }
        guard let quantity else { throw DecodeError(.missingField, "missing field 'items[\(index)].quantity'") }
        return Purchase.Line(
            item: try id(item, "items[\(index)].item"),
            price: try money(price, "items[\(index)].price"),
            quantity: try integer(quantity, "items[\(index)].quantity", in: 1...1_000_000_000))
    }
}
