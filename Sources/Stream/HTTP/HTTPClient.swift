import CHTTP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Blocking HTTP requests through libcurl, one reused connection handle per thread:
/// object-store snapshots and per-user reads forwarded to another process.
public enum HTTPClient {
    public struct Response: Sendable {
        public var status: Int
        public var body: [UInt8]
        /// The response's header fields (name, value) in the order they came; of a
        /// response preceded by an interim one (100 Continue), the final one's only.
        public var headers: [(name: String, value: String)] = []
    }

    /// AWS Signature Version 4 for a request.
    public struct Signature: Sendable {
        public var region: String
        public var accessKey: String
        public var secretKey: String
        public var service = "s3"

        public init(region: String, accessKey: String, secretKey: String) {
            self.region = region
            self.accessKey = accessKey
            self.secretKey = secretKey
        }
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Sends one request and returns whatever status came back; throws when no response
    /// came at all (connection refused, timeout).
    public static func request(
        _ method: String, _ url: String, headers: [String] = [], body: [UInt8] = [], signature: Signature? = nil, timeoutMillis: Int = 10_000
    ) throws(Failure) -> Response {
        var result = arbiter_http_result()
        let cHeaders = headers.map { strdup($0) }
        defer { cHeaders.forEach { free($0) } }
        let code: Int32 = cHeaders.map { UnsafePointer<CChar>($0) }.withUnsafeBufferPointer { h in
            body.withUnsafeBufferPointer { b in
                if let signature {
                    return arbiter_http_request(
                        method, url, h.baseAddress, h.count, b.baseAddress, b.count, "aws:amz:\(signature.region):\(signature.service)",
                        "\(signature.accessKey):\(signature.secretKey)", Int(timeoutMillis), &result)
                }
                return arbiter_http_request(method, url, h.baseAddress, h.count, b.baseAddress, b.count, nil, nil, Int(timeoutMillis), &result)
            }
        }
        defer { arbiter_http_free(&result) }
        guard code == 0 else {
            let reason = withUnsafeBytes(of: result.error) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
            throw Failure(message: "\(method) \(url): \(reason)")
        }
        let bytes = result.body_length > 0 ? Array(UnsafeBufferPointer(start: result.body, count: result.body_length)) : []
        let head = result.headers_length > 0 ? Array(UnsafeBufferPointer(start: result.headers, count: result.headers_length)) : []
        return Response(status: Int(result.status), body: bytes, headers: fields(head))
    }

    /// The fields of the last response head in `head` (each head starts with its status
    /// line; folded continuation lines are not used by HTTP/1.1 servers and are dropped).
    static func fields(_ head: [UInt8]) -> [(name: String, value: String)] {
        var out: [(name: String, value: String)] = []
        for line in String(decoding: head, as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("HTTP/") {
                out = []
                continue
            }
            guard let colon = line.firstIndex(of: ":"), !line.hasPrefix(" "), !line.hasPrefix("\t") else { continue }
            let value = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
            out.append((String(line[..<colon]), String(value.reversed().drop { $0 == " " || $0 == "\t" }.reversed())))
        }
        return out
    }
}

extension HTTPClient {
    /// RFC 3986 percent-encoding of everything but unreserved characters (and "/" when
    /// `keepSlash`), for paths and query values.
    public static func percentEncoded(_ s: String, keepSlash: Bool = false) -> String {
        var out = ""
        for b in s.utf8 {
            let unreserved = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x2E || b == 0x5F || b == 0x7E
            if unreserved || (keepSlash && b == 0x2F) {
                out.append(Character(UnicodeScalar(b)))
            } else {
                let hex = String(b, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}
