import Common
import Events

/// Decodes schema-version-1 events from raw JSON bytes without Foundation.
///
/// One pass locates the fields every event type can use; conversion and validation then
/// touch only the fields the event's type reads. Unknown fields are checked for JSON
/// validity and otherwise ignored. A decoder keeps its scratch storage between calls, so
/// decoding allocates only the strings and purchase lines of the event itself.
public struct EventDecoder: Sendable {
    /// The only schema version this engine reads.
    public static let schemaVersion = 1
    /// Larger messages are rejected unread.
    public static let maximumEventBytes = 1 << 20
    /// Ids longer than this (in UTF-8 bytes) are rejected.
    public static let maximumIDBytes = 256
    /// Purchases with more lines than this are rejected.
    public static let maximumPurchaseLines = 10_000
    /// A decision's context and arm features hold at most this many values.
    public static let maximumFeatures = 1024

    private var slots: [ScannedValue]
    private var present: UInt32 = 0

    public init() {
        slots = Array(repeating: .absent, count: Field.allCases.count)
    }

    /// Decodes one event, or says why the bytes are not one.
    public mutating func decode(_ bytes: UnsafeRawBufferPointer) -> Result<Event, DecodeError> {
        guard bytes.count <= EventDecoder.maximumEventBytes else {
            return .failure(DecodeError(.tooLarge, "event of \(bytes.count) bytes exceeds the limit of \(EventDecoder.maximumEventBytes)"))
        }
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count > 0 else {
            return .failure(DecodeError(.notJSON, "empty message"))
        }
        do throws(DecodeError) {
            return .success(try decode(base: base, count: bytes.count))
        } catch {
            return .failure(error)
        }
    }

    /// Decodes one event from bytes held in an array (tests and tools).
    public mutating func decode(_ bytes: [UInt8]) -> Result<Event, DecodeError> {
        bytes.withUnsafeBytes { decode($0) }
    }

    /// Decodes one event from the UTF-8 of `text` (tests and tools).
    public mutating func decode(_ text: String) -> Result<Event, DecodeError> {
        var text = text
        return text.withUTF8 { decode(UnsafeRawBufferPointer($0)) }
    }

    private mutating func decode(base: UnsafePointer<UInt8>, count: Int) throws(DecodeError) -> Event {
        var scanner = JSONScanner(base: base, count: count)
        scanner.skipWhitespace()
        guard !scanner.atEnd else { throw DecodeError(.notJSON, "message holds only whitespace") }
        guard scanner.current == UInt8(ascii: "{") else {
            let value = try scanner.scanValue(depth: 0)
            scanner.skipWhitespace()
            guard scanner.atEnd else { throw scanner.syntaxError("unexpected data after the value") }
            throw DecodeError(.notObject, "an event must be a JSON object, found \(value.kind.jsonName)")
        }
        try scanTopLevel(&scanner)
        scanner.skipWhitespace()
        guard scanner.atEnd else { throw scanner.syntaxError("unexpected data after the object") }
        return try build(base)
    }

    /// Scans the top-level object, recording the spans of known fields.
    private mutating func scanTopLevel(_ scanner: inout JSONScanner) throws(DecodeError) {
        present = 0
        scanner.position += 1  // {
        scanner.skipWhitespace()
        if !scanner.atEnd, scanner.current == UInt8(ascii: "}") {
            scanner.position += 1
            return
        }
        while true {
            scanner.skipWhitespace()
            guard !scanner.atEnd, scanner.current == UInt8(ascii: "\"") else {
                throw scanner.syntaxError("expected a field name")
            }
            let (keySpan, keyEscaped) = try scanner.scanString()
            try scanner.expect(UInt8(ascii: ":"), "expected ':'")
            let value = try scanner.scanValue(depth: 1)
            let field = keyEscaped
                ? Field(name: JSONValues.string(scanner.base, ScannedValue(kind: .escapedString, span: keySpan)))
                : Field.match(scanner.base, keySpan)
            if let field {
                let bit = UInt32(1) << field.rawValue
                guard present & bit == 0 else {
                    throw DecodeError(.duplicateField, "field '\(field.name)' appears more than once")
                }
                present |= bit
                slots[Int(field.rawValue)] = value
            }
            scanner.skipWhitespace()
            guard !scanner.atEnd else { throw scanner.syntaxError("unterminated object") }
            let b = scanner.current
            scanner.position += 1
            if b == UInt8(ascii: "}") { return }
            guard b == UInt8(ascii: ",") else {
                scanner.position -= 1
                throw scanner.syntaxError("expected ',' or '}'")
            }
        }
    }

    // MARK: Building the event from the located fields

    private func raw(_ field: Field) -> ScannedValue? {
        present & (UInt32(1) << field.rawValue) != 0 ? slots[Int(field.rawValue)] : nil
    }

    private func build(_ base: UnsafePointer<UInt8>) throws(DecodeError) -> Event {
        var reader = FieldReader(base: base)
        guard let typeValue = raw(.type) else { throw DecodeError(.missingField, "missing field 'type'") }
        guard typeValue.kind == .string || typeValue.kind == .escapedString else {
            throw DecodeError(.invalidField, "field 'type' must be a string")
        }
        guard let kind = EventKind.match(base, typeValue) else {
            let name = JSONValues.string(base, typeValue)
            throw DecodeError(.unknownType, "unknown event type '\(clipped(name))'")
        }
        guard let versionValue = raw(.v) else { throw DecodeError(.missingField, "missing field 'v' (schema version)") }
        let version = try reader.integer(versionValue, Field.v.name, in: Int64.min...Int64.max)
        guard version == Int64(EventDecoder.schemaVersion) else {
            throw DecodeError(.unsupportedVersion, "unsupported schema version \(version); this engine reads version \(EventDecoder.schemaVersion)")
        }
        let timestamp = try reader.timestamp(try required(.ts))

        let body: Event.Body
        switch kind {
        case .view, .addToCart:
            let e = ItemInteraction(user: try id(.user, &reader), item: try id(.item, &reader))
            body = kind == .view ? .view(e) : .addToCart(e)
        case .click:
            body = .click(Click(user: try id(.user, &reader), decisionID: try optionalID(.decisionID, &reader)))
        case .purchase:
            let user = try id(.user, &reader)
            let order = try id(.orderID, &reader)
            let items = try reader.purchaseLines(try required(.items))
            let revenue = try reader.money(try required(.revenue), Field.revenue.name)
            let currency = try reader.currency(try required(.currency))
            body = .purchase(Purchase(user: user, orderID: order, items: items, revenue: revenue, currency: currency))
        case .impression:
            let decision = try id(.decisionID, &reader)
            let user = try id(.user, &reader)
            let action = try id(.action, &reader)
            let position = try raw(.position).map { v throws(DecodeError) in
                try reader.integer(v, Field.position.name, in: 1...Int64(Int32.max))
            }
            let propensity = try raw(.propensity).map { v throws(DecodeError) in
                try reader.propensity(v)
            }
            let surface = try optionalID(.surface, &reader)
            // What a decision is learnt on, read (strictly) only for logged decisions: an
            // impression logged elsewhere may carry a context of its own shape.
            let context = surface == nil ? [:] : try raw(.context).map { v throws(DecodeError) in try reader.numberObject(v, Field.context.name) } ?? [:]
            let armFeatures = surface == nil ? [] : try raw(.armFeatures).map { v throws(DecodeError) in try reader.numberArray(v, Field.armFeatures.name) } ?? []
            let price = surface == nil ? nil : try raw(.price).map { v throws(DecodeError) in try reader.money(v, Field.price.name) }
            body = .impression(Impression(
                decisionID: decision, user: user, action: action, position: position, propensity: propensity, surface: surface, context: context,
                armFeatures: armFeatures, price: price))
        case .reward:
            let decision = try id(.decisionID, &reader)
            let value = try reader.boundedNumber(try required(.value), Field.value.name)
            body = .reward(Reward(decisionID: decision, value: value, user: try optionalID(.user, &reader)))
        case .bidOutcome:
            let auction = try id(.auctionID, &reader)
            let won = try reader.boolean(try required(.won), Field.won.name)
            let price = try raw(.clearingPrice).map { v throws(DecodeError) in
                try reader.money(v, Field.clearingPrice.name)
            }
            let notice = try raw(.notice).map { (v) throws(DecodeError) -> BidNotice in
                let name = try reader.id(v, Field.notice.name)
                guard let n = BidNotice(rawValue: name) else {
                    throw DecodeError(.invalidField, "field 'notice' must be one of \(BidNotice.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return n
            }
            let click = try raw(.click).map { v throws(DecodeError) in try reader.boolean(v, Field.click.name) } ?? false
            let conversion = try raw(.conversion).map { v throws(DecodeError) in try reader.boolean(v, Field.conversion.name) } ?? false
            // A click or conversion notice follows a win whose price came with the win notice.
            if won, price == nil, notice != .click, notice != .conversion {
                throw DecodeError(.missingField, "missing field 'clearing_price' (required when 'won' is true)")
            }
            if !won, click || conversion {
                throw DecodeError(.invalidField, "'click' and 'conversion' cannot be true for a lost auction")
            }
            if let notice, (notice == .loss) == won {
                throw DecodeError(.invalidField, "a '\(notice.rawValue)' notice needs 'won' \(notice == .loss ? "false" : "true")")
            }
            if notice == .click, !click { throw DecodeError(.invalidField, "a 'click' notice needs 'click' true") }
            if notice == .conversion, !conversion { throw DecodeError(.invalidField, "a 'conversion' notice needs 'conversion' true") }
            body = .bidOutcome(BidOutcome(
                auctionID: auction, won: won, clearingPrice: price, click: click, conversion: conversion, user: try optionalID(.user, &reader), notice: notice))
        case .spend:
            let channel = try id(.channel, &reader)
            let amount = try reader.money(try required(.amount), Field.amount.name)
            let day = try reader.day(try required(.day))
            body = .spend(Spend(channel: channel, amount: amount, day: day))
        }
        return Event(timestamp: timestamp, body: body)
    }

    private func required(_ field: Field) throws(DecodeError) -> ScannedValue {
        guard let value = raw(field) else { throw DecodeError(.missingField, "missing field '\(field.name)'") }
        return value
    }

    private func id(_ field: Field, _ reader: inout FieldReader) throws(DecodeError) -> String {
        try reader.id(try required(field), field.name)
    }

    private func optionalID(_ field: Field, _ reader: inout FieldReader) throws(DecodeError) -> String? {
        guard let value = raw(field) else { return nil }
        return try reader.id(value, field.name)
    }
}

extension ValueKind {
    var jsonName: String {
        switch self {
        case .string, .escapedString: "a string"
        case .number: "a number"
        case .trueLiteral, .falseLiteral: "a boolean"
        case .null: "null"
        case .object: "an object"
        case .array: "an array"
        }
    }
}

extension EventKind {
    /// Matches a string value against the wire names without allocating.
    static func match(_ base: UnsafePointer<UInt8>, _ value: ScannedValue) -> EventKind? {
        guard value.kind == .string else {
            return EventKind(wireName: JSONValues.string(base, value))
        }
        let s = value.span
        switch s.count {
        case 4: return JSONValues.equals(base, s, "view") ? .view : nil
        case 5: return JSONValues.equals(base, s, "click") ? .click : (JSONValues.equals(base, s, "spend") ? .spend : nil)
        case 6: return JSONValues.equals(base, s, "reward") ? .reward : nil
        case 8: return JSONValues.equals(base, s, "purchase") ? .purchase : nil
        case 10: return JSONValues.equals(base, s, "impression") ? .impression : nil
        case 11:
            if JSONValues.equals(base, s, "add_to_cart") { return .addToCart }
            return JSONValues.equals(base, s, "bid_outcome") ? .bidOutcome : nil
        default: return nil
        }
    }
}
