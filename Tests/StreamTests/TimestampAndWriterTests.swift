import Common
import Events
import Testing

@testable import Stream

@Suite struct TimestampAndWriterTests {
    @Test func formatsAndParsesRFC3339() {
        for millis: Int64 in [0, 1, 999, 86_399_999, 951_782_400_000, 1_574_553_617_238, 253_402_300_799_999] {
            let text = Timestamp.formatRFC3339(millis: millis)
            let parsed = Array(text.utf8).withUnsafeBufferPointer { Timestamp.parseRFC3339($0) }
            #expect(parsed == millis, "\(text)")
        }
        #expect(Timestamp.formatRFC3339(millis: 951_782_400_000) == "2000-02-29T00:00:00.000Z")
    }

    @Test(arguments: ["1969-12-31T23:59:59Z", "2019-11-24T24:00:00Z", "2019-11-24T00:60:00Z", "2019-11-24T00:00:00+24:00",
                      "2019-11-24T00:00:00.Z", "2019-11-24T00:00:00+0100", "2019-11-24T00:00:00Z ", "10000-01-01T00:00:00Z"])
    func rejectsMalformedTimestamps(_ text: String) {
        #expect(Array(text.utf8).withUnsafeBufferPointer { Timestamp.parseRFC3339($0) } == nil)
    }

    @Test func writerEscapesAndFormats() {
        var w = JSONWriter()
        w.beginObject()
        w.key("s"); w.string("a\"b\\c\n\u{01}é")
        w.key("plain"); w.string("décision 7")
        w.key("d"); w.double(0.1)
        w.key("i"); w.double(3)
        w.key("n"); w.double(.nan)
        w.key("a"); w.beginArray(); w.int(-1); w.bool(true); w.null(); w.endArray()
        w.key("site=", "a\"b"); w.int(1)
        w.endObject()
        #expect(String(decoding: w.bytes, as: UTF8.self) == #"{"s":"a\"b\\c\n\u0001é","plain":"décision 7","d":0.1,"i":3,"n":null,"a":[-1,true,null],"site=a\"b":1}"#)
    }

    @Test func base64MatchesRFC4648Vectors() {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors { #expect(Base64.encode(Array(plain.utf8)) == encoded) }
    }
}
