import Testing

@testable import Stream

/// How the HTTP client reads the header block libcurl hands it.
@Suite struct HTTPClientHeaderTests {
    @Test func onlyTheFinalResponsesFieldsAreKeptWithTheirValuesTrimmed() {
        let head = Array("HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\nHTTP/1.1 204 No Content\r\nX-OpenRTB-NBR: 9\r\nX-Arbiter-No-Bid:  every campaign is capped \t\r\nEmpty:\r\n\r\n".utf8)
        let fields = HTTPClient.fields(head)
        #expect(fields.map(\.name) == ["X-OpenRTB-NBR", "X-Arbiter-No-Bid", "Empty"])
        #expect(fields.map(\.value) == ["9", "every campaign is capped", ""])
    }

    @Test func aValueMayHoldColonsAndALineWithoutOneIsSkipped() {
        let fields = HTTPClient.fields(Array("HTTP/1.1 200 OK\r\nLocation: http://a:1/b\r\nnot a field\r\n\r\n".utf8))
        #expect(fields.count == 1 && fields[0].name == "Location" && fields[0].value == "http://a:1/b")
    }
}
