import Events
import Foundation
import Testing

@testable import Stream

/// Random and mutated inputs through the decoder: it must never crash, and must either
/// decode or reject with a reason. Anything it accepts must be JSON that Foundation's
/// independent parser also accepts, and must survive an encode/decode round trip.
@Suite struct CodecFuzzTests {
    static let seeds: [String] = [
        #"{"type":"view","v":1,"ts":1574553617238,"user":"u1","item":"i9"}"#,
        #"{"type":"add_to_cart","v":1,"ts":"2019-11-24T00:00:17.238Z","user":"u1","item":"i9"}"#,
        #"{"type":"click","v":1,"ts":1,"user":"u1","decision_id":"d1"}"#,
        #"{"type":"purchase","v":1,"ts":852076800000,"user":"c1","order_id":"o1","items":[{"item":"a","price":12.5,"quantity":2}],"revenue":25,"currency":"USD"}"#,
        #"{"type":"impression","v":1,"ts":"2019-11-24 00:00:17.004101+00:00","decision_id":"d","user":"u","action":"a","position":2,"propensity":4.5e-05}"#,
        #"{"type":"reward","v":1,"ts":1,"decision_id":"d","value":-0.25,"user":"\u00e9"}"#,
        #"{"type":"bid_outcome","v":1,"ts":1,"auction_id":"x","won":true,"clearing_price":0.42,"click":true,"conversion":false}"#,
        #"{"type":"spend","v":1,"ts":"2018-07-01T00:00:00Z","channel":"tv","amount":1000.5,"day":"2018-07-01","extra":[null,true,{"k":[]}]}"#,
    ]

    @Test func randomAndMutatedInputsNeverCrashAndAlwaysExplain() throws {
        var rng = SplitMix64(seed: 2026)
        var decoder = EventDecoder()
        var accepted = 0
        var rejected = 0
        let iterations = 300_000
        let alphabet = Array(#"{}[]":,.-+eE0123456789 \truefalsnl"#.utf8)
        for i in 0..<iterations {
            var bytes: [UInt8]
            switch i % 4 {
            case 0:  // purely random bytes
                bytes = (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            case 1:  // random JSON-ish tokens
                bytes = (0..<Int(rng.next() % 96)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            default:  // mutations of valid events
                bytes = Array(Self.seeds[Int(rng.next() % UInt64(Self.seeds.count))].utf8)
                for _ in 0..<(1 + Int(rng.next() % 4)) { mutate(&bytes, &rng) }
            }
            switch decoder.decode(bytes) {
            case .success(let event):
                accepted += 1
                let data = Data(bytes)
                #expect((try? JSONSerialization.jsonObject(with: data)) is [String: Any], "accepted non-JSON: \(String(decoding: bytes, as: UTF8.self))")
                let again = EventEncoder.encode(event)
                #expect(try decoder.decode(again).get() == event)
            case .failure(let error):
                rejected += 1
                #expect(!error.message.isEmpty)
            }
        }
        #expect(accepted + rejected == iterations)
        // Mutations of valid events must keep some valid: otherwise the test shows nothing.
        #expect(accepted > 5_000, "accepted \(accepted)")
        #expect(rejected > 100_000, "rejected \(rejected)")
    }

    private func mutate(_ bytes: inout [UInt8], _ rng: inout SplitMix64) {
        guard !bytes.isEmpty else {
            bytes.append(UInt8(truncatingIfNeeded: rng.next()))
            return
        }
        let at = Int(rng.next() % UInt64(bytes.count))
        switch rng.next() % 7 {
        case 0: bytes[at] ^= UInt8(1) << UInt8(rng.next() % 8)
        case 1: bytes.remove(at: at)
        case 2: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
        case 3: bytes.removeLast(bytes.count - at)
        case 4:  // duplicate a slice
            let end = min(bytes.count, at + Int(rng.next() % 16))
            bytes.insert(contentsOf: bytes[at..<end], at: at)
        case 5:  // swap a digit
            if bytes[at] >= 0x30, bytes[at] <= 0x39 { bytes[at] = 0x30 + UInt8(rng.next() % 10) }
        default:  // splice in a structural character
            bytes.insert(Array(#"{}[]",:\"#.utf8)[Int(rng.next() % 8)], at: at)
        }
    }
}
