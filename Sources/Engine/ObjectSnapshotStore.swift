import Common
import Stream

/// Snapshots in an S3-compatible object store (AWS S3, MinIO, moto…): what a group
/// needs when its processes share no file system. A PUT that S3 acknowledged is durable,
/// and readers see the old object or the new one, never half of one.
///
/// Requests are path-style (`<endpoint>/<bucket>/<key>`), signed with AWS Signature
/// Version 4 (libcurl computes it); the payload is not hashed into the signature
/// (`UNSIGNED-PAYLOAD`): every snapshot carries its own CRC-32C, checked on reading.
public struct ObjectSnapshotStore: SnapshotStore {
    public let endpoint: String
    public let bucket: String
    /// Prepended to every key ("" or ending in "/").
    public let prefix: String
    public let keep: Int
    let signature: HTTPClient.Signature
    let sessionToken: String?
    let timeoutMillis: Int

    /// - Parameters:
    ///   - url: `s3://BUCKET/PREFIX`.
    ///   - endpoint: e.g. `http://127.0.0.1:9000`; empty: AWS S3 in `region`.
    ///   - environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN.
    public init(url: String, endpoint: String, region: String, environment: [String: String], keep: Int = 3, timeoutMillis: Int = 30_000) throws(ConfigurationError) {
        guard url.hasPrefix("s3://") else { throw ConfigurationError("snapshot store '\(url)' is not an s3:// URL") }
        let rest = url.dropFirst(5)
        let bucket = String(rest.prefix { $0 != "/" })
        guard !bucket.isEmpty else { throw ConfigurationError("snapshot store '\(url)' names no bucket") }
        var prefix = String(rest.dropFirst(bucket.count).drop { $0 == "/" })
        if !prefix.isEmpty, !prefix.hasSuffix("/") { prefix += "/" }
        guard let key = environment["AWS_ACCESS_KEY_ID"], let secret = environment["AWS_SECRET_ACCESS_KEY"], !key.isEmpty, !secret.isEmpty else {
            throw ConfigurationError("the s3 snapshot store needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment")
        }
        self.bucket = bucket
        self.prefix = prefix
        self.endpoint = endpoint.isEmpty ? "https://s3.\(region).amazonaws.com" : String(endpoint.reversed().drop { $0 == "/" }.reversed())
        self.keep = max(2, keep)
        signature = HTTPClient.Signature(region: region, accessKey: key, secretKey: secret)
        sessionToken = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        self.timeoutMillis = timeoutMillis
    }

    public var location: String { "s3://\(bucket)/\(prefix)" }

    private func url(_ key: String) -> String { "\(endpoint)/\(bucket)/\(HTTPClient.percentEncoded(prefix + key, keepSlash: true))" }

    private var headers: [String] {
        var h = ["x-amz-content-sha256: UNSIGNED-PAYLOAD"]
        if let sessionToken { h.append("x-amz-security-token: \(sessionToken)") }
        return h
    }

    private func call(_ method: String, _ url: String, body: [UInt8] = []) throws -> HTTPClient.Response {
        var h = headers
        if method == "PUT" { h.append("Content-Type: application/octet-stream") }
        return try HTTPClient.request(method, url, headers: h, body: body, signature: signature, timeoutMillis: timeoutMillis)
    }

    public func put(_ bytes: [UInt8], key: String) throws {
        let r = try call("PUT", url(key), body: bytes)
        guard r.status == 200 else { throw ObjectStoreError(status: r.status, "PUT \(location)\(key)", r.body) }
    }

    public func get(_ key: String) throws -> [UInt8] {
        let r = try call("GET", url(key))
        guard r.status == 200 else { throw ObjectStoreError(status: r.status, "GET \(location)\(key)", r.body) }
        return r.body
    }

    public func delete(_ key: String) throws {
        let r = try call("DELETE", url(key))
        guard r.status == 204 || r.status == 200 || r.status == 404 else { throw ObjectStoreError(status: r.status, "DELETE \(location)\(key)", r.body) }
    }

    /// ListObjectsV2, following continuation tokens.
    public func list(prefix keyPrefix: String) throws -> [String] {
        var keys: [String] = []
        var token: String?
        repeat {
            var query = "list-type=2&prefix=\(HTTPClient.percentEncoded(prefix + keyPrefix))"
            if let token { query += "&continuation-token=\(HTTPClient.percentEncoded(token))" }
            let r = try call("GET", "\(endpoint)/\(bucket)?\(query)")
            guard r.status == 200 else { throw ObjectStoreError(status: r.status, "LIST \(location)\(keyPrefix)", r.body) }
            let xml = String(decoding: r.body, as: UTF8.self)
            keys += Self.elements("Key", in: xml).map { String($0.dropFirst(prefix.count)) }
            token = Self.elements("IsTruncated", in: xml).first == "true" ? Self.elements("NextContinuationToken", in: xml).first : nil
        } while token != nil
        return keys.sorted()
    }

    /// The text of every `<name>…</name>` element, entities decoded.
    static func elements(_ name: String, in xml: String) -> [String] {
        var out: [String] = []
        var rest = Substring(xml)
        let open = "<\(name)>", close = "</\(name)>"
        while let start = rest.range(of: open), let end = rest.range(of: close, range: start.upperBound..<rest.endIndex) {
            out.append(
                String(rest[start.upperBound..<end.lowerBound]).replacing("&lt;", with: "<").replacing("&gt;", with: ">").replacing("&quot;", with: "\"")
                    .replacing("&apos;", with: "'").replacing("&amp;", with: "&"))
            rest = rest[end.upperBound...]
        }
        return out
    }
}

/// An object store's refusal, with its status and the start of its answer.
public struct ObjectStoreError: Error, CustomStringConvertible {
    public var status: Int
    public var message: String
    init(status: Int, _ what: String, _ body: [UInt8]) {
        self.status = status
        message = "\(what): HTTP \(status) \(String(decoding: body.prefix(300), as: UTF8.self))"
    }
    public var description: String { message }
}
