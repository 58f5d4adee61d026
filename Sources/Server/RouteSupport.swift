import Common
import Engine
import Hummingbird

// What every controller shares: strict JSON bodies, refusals as 4xx with a reason, and
// the admin token check.

/// A refusal with its HTTP status.
struct RouteError: Error {
    var status: HTTPResponse.Status
    var message: String
    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }
}

extension RouteError {
    init(_ e: DecisionError) {
        switch e.kind {
        case .invalid: self.init(.badRequest, e.message)
        case .notFound: self.init(.notFound, e.message)
        case .conflict: self.init(.conflict, e.message)
        case .unavailable: self.init(.serviceUnavailable, e.message)
        }
    }
}

func json(_ bytes: [UInt8], status: HTTPResponse.Status) -> Response {
    Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
}

func errorResponse(_ status: HTTPResponse.Status, _ message: String) -> Response {
    var w = JSONWriter()
    w.beginObject()
    w.key("error"); w.string(message)
    w.endObject()
    var response = json(w.bytes, status: status)
    if status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
    if status == .serviceUnavailable { response.headers[.retryAfter] = "1" }
    return response
}

/// Runs a handler, turning its refusals into JSON error answers.
func handle(_ body: () async throws -> Response) async -> Response {
    do {
        return try await body()
    } catch let error as RouteError {
        return errorResponse(error.status, error.message)
    } catch let error as DecisionError {
        let e = RouteError(error)
        return errorResponse(e.status, e.message)
    } catch {
        return errorResponse(.badRequest, "\(error)")
    }
}

/// Request bodies: one JSON object, parsed strictly: a field the route does not know is
/// an error, so a misspelt optional field is reported instead of ignored.
struct JSONBodies: Sendable {
    let maxBodyBytes: Int

    /// The body as a JSON object whose fields are all in `known` (nil: any).
    func object(_ request: Request, known: Set<String>?) async throws(RouteError) -> JSONValue {
        try await objectAndBody(request, known: known).value
    }

    /// The body as a JSON object, with the body itself (for a request forwarded as it came).
    func objectAndBody(_ request: Request, known: Set<String>?) async throws(RouteError) -> (value: JSONValue, body: ByteBuffer) {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBodyBytes {
            throw RouteError(.contentTooLarge, "the body is \(length) bytes; the limit is \(maxBodyBytes)")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBodyBytes)
        } catch {
            throw RouteError(.contentTooLarge, "the body exceeds the limit of \(maxBodyBytes) bytes")
        }
        let value: JSONValue
        do throws(DecodeError) {
            value = try buffer.withUnsafeReadableBytes { (b) throws(DecodeError) in try JSONValue.parse(b) }
        } catch {
            throw RouteError(.badRequest, "the body is not valid JSON: \(error.message)")
        }
        guard case .object(let members) = value else { throw RouteError(.badRequest, "the body must be a JSON object, found \(value.typeName)") }
        if let known, let unknown = members.first(where: { !known.contains($0.key) }) {
            throw RouteError(.badRequest, "unknown field '\(unknown.key)'; this route takes \(known.sorted().joined(separator: ", "))")
        }
        return (value, buffer)
    }
}

func string(_ body: JSONValue, _ key: String, required: Bool) throws(RouteError) -> String? {
    guard let v = body[key], v != .null || required else {
        if required { throw RouteError(.badRequest, "'\(key)' is required") }
        return nil
    }
    guard case .string(let s) = v, !s.isEmpty else { throw RouteError(.badRequest, "'\(key)' must be a non-empty string, found \(v.typeName)") }
    return s
}

func numbers(_ v: JSONValue, _ what: String) throws(RouteError) -> [String: Double] {
    guard case .object(let members) = v else { throw RouteError(.badRequest, "'\(what)' must be an object of numbers, found \(v.typeName)") }
    var out: [String: Double] = [:]
    for m in members {
        guard case .number(let n) = m.value, n.isFinite else {
            throw RouteError(.badRequest, "'\(what).\(m.key)' must be a finite number, found \(m.value.typeName)")
        }
        out[m.key] = n
    }
    return out
}

/// The admin API's bearer token, compared in constant time so the response time does
/// not reveal a prefix.
struct AdminToken: Sendable {
    let token: String

    func authorize(_ request: Request) throws(RouteError) {
        guard !token.isEmpty else { throw RouteError(.forbidden, "the admin API is disabled: set http.admin_token") }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw RouteError(.unauthorized, "admin routes need 'Authorization: Bearer <token>'")
        }
        let given = Array(header.utf8.dropFirst(7))
        let expected = Array(token.utf8)
        var difference = UInt8(given.count == expected.count ? 0 : 1)
        for i in 0..<expected.count { difference |= expected[i] ^ (i < given.count ? given[i] : 0) }
        guard difference == 0 else { throw RouteError(.unauthorized, "the bearer token is not valid") }
    }
}
