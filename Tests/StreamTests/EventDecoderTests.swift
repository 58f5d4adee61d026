import Common
import Events
import Testing

@testable import Stream

@Suite struct EventDecoderTests {
    func decode(_ text: String) -> Result<Event, DecodeError> {
        var decoder = EventDecoder()
        return decoder.decode(text)
    }

    func event(_ text: String) throws -> Event {
        try decode(text).get()
    }

    func failure(_ text: String) -> DecodeError? {
        if case .failure(let e) = decode(text) { return e }
        return nil
    }

    @Test func decodesEveryType() throws {
        let view = try event(#"{"type":"view","v":1,"ts":1574553617238,"user":"u1","item":"i9"}"#)
        #expect(view == Event(timestamp: 1_574_553_617_238, body: .view(ItemInteraction(user: "u1", item: "i9"))))

        let cart = try event(#"{"type":"add_to_cart","v":1,"ts":0,"user":"u","item":"i"}"#)
        #expect(cart.body == .addToCart(ItemInteraction(user: "u", item: "i")))

        let click = try event(#"{"type":"click","v":1,"ts":"2019-11-24T00:00:17.238Z","user":"u1","decision_id":"d1"}"#)
        #expect(click == Event(timestamp: 1_574_553_617_238, body: .click(Click(user: "u1", decisionID: "d1"))))
        #expect(try event(#"{"type":"click","v":1,"ts":5,"user":"u1"}"#).body == .click(Click(user: "u1")))

        let purchase = try event(#"""
            {"type":"purchase","v":1,"ts":852076800000,"user":"c1","order_id":"o1",
             "items":[{"item":"a","price":12.5,"quantity":2},{"quantity":1,"price":0.1,"item":"b"}],
             "revenue":25.1,"currency":"USD"}
            """#)
        #expect(purchase.body == .purchase(Purchase(
            user: "c1", orderID: "o1",
            items: [.init(item: "a", price: Money(micros: 12_500_000), quantity: 2), .init(item: "b", price: Money(micros: 100_000), quantity: 1)],
            revenue: Money(micros: 25_100_000), currency: "USD")))

        let impression = try event(#"{"type":"impression","v":1,"ts":1,"decision_id":"d","user":"u","action":"a","position":2,"propensity":0.0125}"#)
        #expect(impression.body == .impression(Impression(decisionID: "d", user: "u", action: "a", position: 2, propensity: 0.0125)))
        let decision = try event(#"{"type":"impression","v":1,"ts":1,"decision_id":"d","user":"u","action":"a","surface":"offer","context":{"x":1.5,"y":-2},"arm_features":[0.25,3],"ranking":["a"]}"#)
        #expect(decision.body == .impression(Impression(decisionID: "d", user: "u", action: "a", surface: "offer", context: ["x": 1.5, "y": -2], armFeatures: [0.25, 3])))
        // An impression logged elsewhere keeps its own context shape: not read, not refused.
        let foreign = try event(#"{"type":"impression","v":1,"ts":1,"decision_id":"d","user":"u","action":"a","context":{"device":"ios"}}"#)
        #expect(foreign.body == .impression(Impression(decisionID: "d", user: "u", action: "a")))

        let reward = try event(#"{"type":"reward","v":1,"ts":1,"decision_id":"d","value":-2.5e-1}"#)
        #expect(reward.body == .reward(Reward(decisionID: "d", value: -0.25)))

        let bid = try event(#"{"type":"bid_outcome","v":1,"ts":1,"auction_id":"x","won":true,"clearing_price":0.42,"click":true}"#)
        #expect(bid.body == .bidOutcome(BidOutcome(auctionID: "x", won: true, clearingPrice: Money(micros: 420_000), click: true, conversion: false)))
        let lost = try event(#"{"type":"bid_outcome","v":1,"ts":1,"auction_id":"x","won":false}"#)
        #expect(lost.body == .bidOutcome(BidOutcome(auctionID: "x", won: false, clearingPrice: nil)))
        // A click notice follows the win that carried the price.
        let clickNotice = try event(#"{"type":"bid_outcome","v":1,"ts":1,"auction_id":"x","won":true,"click":true,"notice":"click","user":"u"}"#)
        #expect(clickNotice.body == .bidOutcome(BidOutcome(auctionID: "x", won: true, clearingPrice: nil, click: true, user: "u", notice: .click)))

        let spend = try event(#"{"type":"spend","v":1,"ts":"2018-07-01T00:00:00Z","channel":"tv","amount":1000,"day":"2018-07-01"}"#)
        #expect(spend.body == .spend(Spend(channel: "tv", amount: Money(micros: 1_000_000_000), day: Day(year: 2018, month: 7, day: 1)!)))
    }

    @Test func ignoresUnknownFieldsOfAnyShapeAndFieldsOfOtherTypes() throws {
        let e = try event(#"""
            {"extra":{"nested":[1,2,{"x":null}],"s":"\u00e9\ud83d\ude00"},"type":"view","v":1,
             "ts":1,"user":"u","item":"i","value":"not a number: reward-only field","won":[]}
            """#)
        #expect(e.body == .view(ItemInteraction(user: "u", item: "i")))
    }

    @Test func unescapesStrings() throws {
        let e = try event(#"{"type":"view","v":1,"ts":1,"user":"a\"b\\c\/d\n\u0041\u00e9\ud83d\ude00","item":"\u65e5"}"#)
        #expect(e.body == .view(ItemInteraction(user: "a\"b\\c/d\nAé😀", item: "日")))
        let escapedKey = try event(#"{"typ\u0065":"view","v":1,"ts":1,"user":"u","item":"i"}"#)
        #expect(escapedKey.kind == .view)
    }

    @Test(arguments: [
        ("", DecodeError.Category.notJSON),
        ("   ", .notJSON),
        ("{", .notJSON),
        ("[1,2]", .notObject),
        ("\"text\"", .notObject),
        ("42", .notObject),
        (#"{"type":"view","v":1,"ts":1,"user":"u","item":"i"} x"#, .notJSON),
        (#"{"type":"view","v":1,"ts":1,"user":"u","item":"i",}"#, .notJSON),
        (#"{"type":"view" "v":1}"#, .notJSON),
        (#"{"type":'view'}"#, .notJSON),
        (#"{"type":"view","v":01,"ts":1,"user":"u","item":"i"}"#, .notJSON),
        (#"{"type":"view","v":1.,"ts":1,"user":"u","item":"i"}"#, .notJSON),
        (#"{"type":"view","v":1,"ts":1,"user":"\ud800","item":"i"}"#, .notJSON),
        (#"{"type":"view","v":1,"ts":1,"user":"\x","item":"i"}"#, .notJSON),
        (#"{"type":"view","v":1,"ts":1,"user":"u","item":"i","n":tru}"#, .notJSON),
        (#"{"type":"impression","v":1,"ts":1,"decision_id":"d","user":"u","action":"a","surface":"s","context":{"x":"high"}}"#, .invalidField),
        (#"{"type":"impression","v":1,"ts":1,"decision_id":"d","user":"u","action":"a","surface":"s","context":{"x":1,"x":2}}"#, .duplicateField),
        (#"{"type":"impression","v":1,"ts":1,"decision_id":"d","user":"u","action":"a","surface":"s","context":[1]}"#, .invalidField),
        (#"{"type":"impression","v":1,"ts":1,"decision_id":"d","user":"u","action":"a","surface":"s","arm_features":[1e13]}"#, .invalidField),
        (#"{"type":"impression","v":1,"ts":1,"decision_id":"d","user":"u","action":"a","surface":""}"#, .invalidField),
        (#"{"v":1,"ts":1,"user":"u","item":"i"}"#, .missingField),
        (#"{"type":"view","ts":1,"user":"u","item":"i"}"#, .missingField),
        (#"{"type":"view","v":1,"user":"u","item":"i"}"#, .missingField),
        (#"{"type":"view","v":1,"ts":1,"item":"i"}"#, .missingField),
        (#"{"type":"purchase","v":1,"ts":1,"user":"u","order_id":"o","items":[{"item":"a","price":1}],"revenue":1,"currency":"USD"}"#, .missingField),
        (#"{"type":"bid_outcome","v":1,"ts":1,"auction_id":"a","won":true}"#, .missingField),
        (#"{"type":"page_view","v":1,"ts":1,"user":"u"}"#, .unknownType),
        (#"{"type":"View","v":1,"ts":1,"user":"u","item":"i"}"#, .unknownType),
        (#"{"type":"view","v":2,"ts":1,"user":"u","item":"i"}"#, .unsupportedVersion),
        (#"{"type":"view","v":1,"ts":1,"user":"u","user":"w","item":"i"}"#, .duplicateField),
        (#"{"type":5,"v":1,"ts":1,"user":"u","item":"i"}"#, .invalidField),
        (#"{"type":"view","v":"1","ts":1,"user":"u","item":"i"}"#, .invalidField),
        (#"{"type":"view","v":1,"ts":-1,"user":"u","item":"i"}"#, .invalidField),
        (#"{"type":"view","v":1,"ts":1.5,"user":"u","item":"i"}"#, .invalidField),
        (#"{"type":"view","v":1,"ts":"2019-02-30T00:00:00Z","user":"u","item":"i"}"#, .invalidField),
        (#"{"type":"view","v":1,"ts":"2019-11-24T00:00:00","user":"u","item":"i"}"#, .invalidField),
        (#"{"type":"view","v":1,"ts":"yesterday","user":"u","item":"i"}"#, .invalidField),
        (#"{"type":"view","v":1,"ts":1,"user":"","item":"i"}"#, .invalidField),
        (#"{"type":"view","v":1,"ts":1,"user":42,"item":"i"}"#, .invalidField),
        (#"{"type":"purchase","v":1,"ts":1,"user":"u","order_id":"o","items":[],"revenue":1,"currency":"USD"}"#, .invalidField),
        (#"{"type":"purchase","v":1,"ts":1,"user":"u","order_id":"o","items":[{"item":"a","price":-1,"quantity":1}],"revenue":1,"currency":"USD"}"#, .invalidField),
        (#"{"type":"purchase","v":1,"ts":1,"user":"u","order_id":"o","items":[{"item":"a","price":1,"quantity":0}],"revenue":1,"currency":"USD"}"#, .invalidField),
        (#"{"type":"purchase","v":1,"ts":1,"user":"u","order_id":"o","items":[{"item":"a","price":1,"quantity":1}],"revenue":1,"currency":"usd"}"#, .invalidField),
        (#"{"type":"purchase","v":1,"ts":1,"user":"u","order_id":"o","items":[{"item":"a","price":1,"quantity":1}],"revenue":1e13,"currency":"USD"}"#, .invalidField),
        (#"{"type":"purchase","v":1,"ts":1,"user":"u","order_id":"o","items":[5],"revenue":1,"currency":"USD"}"#, .invalidField),
        (#"{"type":"impression","v":1,"ts":1,"decision_id":"d","user":"u","action":"a","propensity":0}"#, .invalidField),
        (#"{"type":"impression","v":1,"ts":1,"decision_id":"d","user":"u","action":"a","propensity":1.5}"#, .invalidField),
        (#"{"type":"impression","v":1,"ts":1,"decision_id":"d","user":"u","action":"a","position":0}"#, .invalidField),
        (#"{"type":"reward","v":1,"ts":1,"decision_id":"d","value":1e300}"#, .invalidField),
        (#"{"type":"bid_outcome","v":1,"ts":1,"auction_id":"a","won":false,"click":true}"#, .invalidField),
        (#"{"type":"bid_outcome","v":1,"ts":1,"auction_id":"a","won":true,"clearing_price":1,"notice":"won"}"#, .invalidField),
        (#"{"type":"bid_outcome","v":1,"ts":1,"auction_id":"a","won":true,"clearing_price":1,"notice":"loss"}"#, .invalidField),
        (#"{"type":"bid_outcome","v":1,"ts":1,"auction_id":"a","won":true,"notice":"win"}"#, .missingField),
        (#"{"type":"bid_outcome","v":1,"ts":1,"auction_id":"a","won":true,"notice":"click"}"#, .invalidField),
        (#"{"type":"bid_outcome","v":1,"ts":1,"auction_id":"a","won":"yes","clearing_price":1}"#, .invalidField),
        (#"{"type":"spend","v":1,"ts":1,"channel":"tv","amount":5,"day":"2019-13-01"}"#, .invalidField),
        (#"{"type":"spend","v":1,"ts":1,"channel":"tv","amount":5,"day":"20190101"}"#, .invalidField),
    ])
    func rejectsWithTheRightCategory(input: String, expected: DecodeError.Category) {
        let error = failure(input)
        #expect(error?.category == expected, "\(input) → \(String(describing: error))")
        #expect(error.map { !$0.message.isEmpty } ?? false)
    }

    @Test func reasonsNameTheProblem() {
        #expect(failure(#"{"type":"view","v":1,"ts":1,"item":"i"}"#)?.message == "missing field 'user'")
        #expect(failure(#"{"type":"view","v":2,"ts":1,"user":"u","item":"i"}"#)?.message == "unsupported schema version 2; this engine reads version 1")
        #expect(failure(#"{"type":"purchase","v":1,"ts":1,"user":"u","order_id":"o","items":[{"item":"a","price":1}],"revenue":1,"currency":"USD"}"#)?.message == "missing field 'items[0].quantity'")
        #expect(failure("{\"type\":\"view\" }x")?.message.contains("byte 16") == true)
    }

    @Test func rejectsIdsOverTheLimitAndDeepNesting() {
        let long = String(repeating: "x", count: EventDecoder.maximumIDBytes + 1)
        #expect(failure(#"{"type":"view","v":1,"ts":1,"user":"\#(long)","item":"i"}"#)?.category == .invalidField)
        let deep = String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
        #expect(failure(#"{"x":\#(deep),"type":"view","v":1,"ts":1,"user":"u","item":"i"}"#)?.category == .notJSON)
        let tooLarge = [UInt8](repeating: 0x20, count: EventDecoder.maximumEventBytes + 1)
        var decoder = EventDecoder()
        if case .failure(let e) = decoder.decode(tooLarge) { #expect(e.category == .tooLarge) } else { Issue.record("accepted") }
    }

    @Test func rejectsInvalidUTF8() {
        var decoder = EventDecoder()
        for bad: [UInt8] in [[0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xE2, 0x82], [0x80]] {
            let bytes = Array(#"{"type":"view","v":1,"ts":1,"user":""#.utf8) + bad + Array(#"","item":"i"}"#.utf8)
            guard case .failure(let e) = decoder.decode(bytes) else {
                Issue.record("accepted invalid UTF-8 \(bad)")
                continue
            }
            #expect(e.category == .notJSON)
        }
    }

    @Test func timestampsInBothForms() throws {
        let cases: [(String, Int64)] = [
            (#""1970-01-01T00:00:00Z""#, 0),
            (#""2019-11-24 00:00:17.004101+00:00""#, 1_574_553_617_004),
            (#""2019-11-24T09:00:17.5+09:00""#, 1_574_553_617_500),
            (#""2019-11-23t19:00:17.25-05:00""#, 1_574_553_617_250),
            (#""2016-12-31T23:59:60z""#, 1_483_228_800_000),
            ("1574553617238", 1_574_553_617_238),
            ("1.574553617238e12", 1_574_553_617_238),
        ]
        for (ts, expected) in cases {
            let e = try event(#"{"type":"view","v":1,"ts":\#(ts),"user":"u","item":"i"}"#)
            #expect(e.timestamp == expected, "\(ts)")
        }
    }

    @Test func numbersConvertLikeTheStandardLibrary() throws {
        var generator = SplitMix64(seed: 7)
        var decoder = EventDecoder()
        for _ in 0..<20_000 {
            let mantissa = generator.next() % 10_000_000_000_000_000
            let exponent = Int(generator.next() % 40) - 30
            let text = "\(mantissa)e\(exponent)"
            let expected = Double(text)!
            guard expected <= 1e12 else { continue }
            let json = #"{"type":"reward","v":1,"ts":1,"decision_id":"d","value":\#(text)}"#
            guard case .success(let e) = decoder.decode(json), case .reward(let r) = e.body else {
                Issue.record("rejected \(text)")
                continue
            }
            #expect(r.value == expected, "\(text)")
        }
    }

    @Test func encodeThenDecodeIsIdentity() throws {
        let events: [Event] = [
            Event(timestamp: 1, body: .view(ItemInteraction(user: "ü\"\n", item: "i"))),
            Event(timestamp: 2, body: .addToCart(ItemInteraction(user: "u", item: "i"))),
            Event(timestamp: 3, body: .click(Click(user: "u", decisionID: "d"))),
            Event(timestamp: 4, body: .purchase(Purchase(user: "u", orderID: "o", items: [.init(item: "a", price: Money(micros: 1_234_567), quantity: 3)], revenue: Money(micros: 3_703_701), currency: "EUR"))),
            Event(timestamp: 5, body: .impression(Impression(decisionID: "d", user: "u", action: "a", position: 1, propensity: 0.019430000000000003))),
            Event(timestamp: 5, body: .impression(Impression(decisionID: "d", user: "u", action: "a", surface: "s", context: ["b": 2, "a": -1e-3], armFeatures: [1, 0.5]))),
            Event(timestamp: 6, body: .reward(Reward(decisionID: "d", value: 0.1, user: "u"))),
            Event(timestamp: 7, body: .bidOutcome(BidOutcome(auctionID: "x", won: true, clearingPrice: Money(micros: 1), click: false, conversion: true, user: "u"))),
            Event(timestamp: 7, body: .bidOutcome(BidOutcome(auctionID: "x", won: false, clearingPrice: nil, user: "u", notice: .loss))),
            Event(timestamp: 8, body: .spend(Spend(channel: "tv", amount: Money(micros: 5_000_000), day: Day(daysSinceEpoch: 17_000)))),
        ]
        var decoder = EventDecoder()
        for e in events {
            let bytes = EventEncoder.encode(e)
            #expect(try decoder.decode(bytes).get() == e, "\(String(decoding: bytes, as: UTF8.self))")
        }
    }
}

/// A small deterministic generator for test inputs.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
