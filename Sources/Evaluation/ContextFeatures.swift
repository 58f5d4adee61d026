import Common
import Stream

/// How a log's rows become the context features a contextual candidate reads. A feature
/// named like a column (or JSON field) is that column's number; `COLUMN=VALUE` is an
/// indicator, 1 when the column holds exactly VALUE (for categorical columns such as the
/// Open Bandit Dataset's hashed user features). Absent values count as 0, as in a
/// decision request; a value that is present but not a number rejects the row.
struct ContextColumns {
    private enum Source {
        case number(Int)
        case indicator(Int, String)
    }

    private let sources: [Source]
    var isEmpty: Bool { sources.isEmpty }

    /// Resolves `features` against a table's header.
    init(features: [String], header: [String], in path: String) throws(EvaluationError) {
        var sources: [Source] = []
        for feature in features {
            if let i = header.firstIndex(of: feature) {
                sources.append(.number(i))
            } else if let eq = feature.firstIndex(of: "="), let i = header.firstIndex(of: String(feature[..<eq])) {
                sources.append(.indicator(i, String(feature[feature.index(after: eq)...])))
            } else {
                throw EvaluationError("\(path) has no column for context feature '\(feature)' (a column name, or COLUMN=VALUE for an indicator)")
            }
        }
        self.sources = sources
    }

    /// The row's feature values, or nil when a numeric feature holds something else.
    func values(_ row: [Substring]) -> [Double]? {
        var out: [Double] = []
        out.reserveCapacity(sources.count)
        for source in sources {
            switch source {
            case .number(let i):
                if row[i].isEmpty {
                    out.append(0)
                } else {
                    guard let v = Double(row[i]), v.isFinite else { return nil }
                    out.append(v)
                }
            case .indicator(let i, let value):
                out.append(row[i] == value ? 1 : 0)
            }
        }
        return out
    }
}

/// The same rules for one JSON object's top-level fields (or a decision's `context`).
struct ContextFields {
    let features: [String]

    /// The object's feature values, or nil when a numeric feature holds something else.
    func values(_ object: JSONValue?) -> [Double]? {
        var out: [Double] = []
        out.reserveCapacity(features.count)
        for feature in features {
            switch object?[feature] {
            case nil, .null?: break
            case .number(let v)?:
                out.append(v)
                continue
            default: return nil
            }
            guard let eq = feature.firstIndex(of: "=") else {
                out.append(0)
                continue
            }
            let value = String(feature[feature.index(after: eq)...])
            switch object?[String(feature[..<eq])] {
            case .string(let s)?: out.append(s == value ? 1 : 0)
            case .number(let n)?: out.append(Double(value) == n ? 1 : 0)
            case .bool(let b)?: out.append(String(b) == value ? 1 : 0)
            default: out.append(0)
            }
        }
        return out
    }
}
