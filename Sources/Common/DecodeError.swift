/// Why bytes were not accepted as an event. The `category` is stable and low-cardinality
/// (it labels metrics); the `message` says exactly what is wrong, for the dead-letter
/// record and the log.
public struct DecodeError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Category: String, Sendable, CaseIterable {
        case notJSON = "not_json"
        case notObject = "not_object"
        case tooLarge = "too_large"
        case missingField = "missing_field"
        case invalidField = "invalid_field"
        case duplicateField = "duplicate_field"
        case unknownType = "unknown_type"
        case unsupportedVersion = "unsupported_version"
    }

    public var category: Category
    public var message: String

    public init(_ category: Category, _ message: String) {
        self.category = category
        self.message = message
    }

    public var description: String { "\(category.rawValue): \(message)" }
}

/// Keeps echoed client text short in error messages.
public func clipped(_ text: String) -> String {
    text.utf8.count <= 64 ? text : String(text.prefix(64)) + "…"
}
