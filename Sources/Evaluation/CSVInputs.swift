import Common
import Stream

extension CSVTable {
    /// Reads `path`, with the reason for a failure as an evaluation error.
    init(evaluating path: String) throws(EvaluationError) {
        do { self = try CSVTable(path: path) } catch { throw EvaluationError(error.message) }
    }

    func column(_ name: String, of path: String) throws(EvaluationError) -> Int {
        do { return try column(name, in: path) } catch { throw EvaluationError(error.message) }
    }
}

/// Why an evaluation input was refused.
public struct EvaluationError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The Open Bandit Dataset layout (`obd/{random,bts}/{all,men}/`): one row per round with
/// `item_id` (the action), `position` (slot, 1-based), `click` (the reward) and
/// `propensity_score`. The action set is the campaign's `item_context.csv`, so action
/// index = item id, as in Open Bandit Pipeline.
public enum OpenBanditDataset {
    public static let positions = 3

    /// `features`: the context features to keep (see `ContextColumns`), e.g.
    /// `user-item_affinity_3` or `user_feature_0=cef3390ed299c09874189c387777674a`.
    public static func load(log path: String, items: String, propensityFloor: Double = 0, features: [String] = []) throws(EvaluationError) -> LoggedBandit {
        let itemTable = try CSVTable(evaluating: items)
        let itemColumn = try itemTable.column("item_id", of: items)
        let ids = itemTable.rows.compactMap { Int($0[itemColumn]) }.sorted()
        guard ids == Array(0..<ids.count) else { throw EvaluationError("\(items): item ids are not 0..<n") }
        var builder = LoggedBanditBuilder(positionCount: positions, knownActions: ids.map(String.init), propensityFloor: propensityFloor, features: features)
        let log = try CSVTable(evaluating: path)
        let context = try ContextColumns(features: features, header: log.header, in: path)
        let item = try log.column("item_id", of: path)
        let position = try log.column("position", of: path)
        let click = try log.column("click", of: path)
        let propensity = try log.column("propensity_score", of: path)
        for row in log.rows {
            guard row.count == log.header.count else {
                builder.reject("wrong number of fields")
                continue
            }
            guard let slot = Int(row[position]) else {
                builder.reject("non-numeric position")
                continue
            }
            guard let x = context.values(row) else {
                builder.reject("non-numeric context feature")
                continue
            }
            builder.add(action: String(row[item]), position: slot - 1, reward: Double(row[click]), propensity: Double(row[propensity]), context: x)
        }
        return builder.data
    }
}

/// A candidate policy given as a file of `round,action,position,probability` rows
/// (positions as in the log, so 1-based for the OBD; `round` `*` applies to every
/// round). Probabilities not given are 0; each round's and slot's must sum to 1.
public enum PolicyFile {
    public static func load(_ path: String, name: String, data: LoggedBandit, positionBase: Int) throws(EvaluationError) -> any CandidatePolicy {
        let table = try CSVTable(evaluating: path)
        let round = try table.column("round", of: path)
        let action = try table.column("action", of: path)
        let position = try table.column("position", of: path)
        let probability = try table.column("probability", of: path)
        let index = Dictionary(uniqueKeysWithValues: data.actionNames.enumerated().map { ($1, $0) })
        var fixed = Array(repeating: [Double](repeating: 0, count: data.actionCount), count: data.positionCount)
        var perRound: PerRoundPolicy?
        for (n, row) in table.rows.enumerated() {
            let line = n + 2
            guard row.count == table.header.count, let a = index[String(row[action])], let k = Int(row[position]).map({ $0 - positionBase }),
                k >= 0, k < data.positionCount, let p = Double(row[probability]), p >= 0, p <= 1
            else { throw EvaluationError("\(path) line \(line): needs a known action, a position of the log and a probability in [0, 1]") }
            if row[round] == "*" {
                fixed[k][a] = p
            } else {
                guard let t = Int(row[round]), t >= 0, t < data.count else { throw EvaluationError("\(path) line \(line): round must be * or 0..<\(data.count)") }
                if perRound == nil { perRound = PerRoundPolicy(name: name, rounds: data.count, positions: data.positionCount, actions: data.actionCount) }
                perRound!.set(round: t, position: k, action: a, probability: p)
            }
        }
        let policy: any CandidatePolicy = perRound ?? FixedPolicy(name: name, probabilities: fixed)
        // Every distribution must be one; checking the rounds the log has is enough.
        for t in 0..<(perRound == nil ? 1 : data.count) {
            for k in 0..<data.positionCount {
                let total = policy.distribution(round: t, position: k).reduce(0, +)
                guard abs(total - 1) < 1e-6 else {
                    throw EvaluationError("\(path): probabilities of round \(t), position \(k + positionBase) sum to \(total), not 1")
                }
            }
        }
        return policy
    }
}

/// Any CSV log, with its columns named on the command line: `action`, `reward` and
/// `propensity` are required; `position` is optional (one slot when absent), as is a
/// list of the actions (default: the actions the log shows, in order of appearance).
public struct ColumnMapping: Sendable, Equatable {
    public var action: String
    public var reward: String
    public var propensity: String
    public var position: String?

    /// Parses `action=COL,reward=COL,propensity=COL[,position=COL]`.
    public init(parsing text: String) throws(EvaluationError) {
        var fields: [String: String] = [:]
        for part in text.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, ["action", "reward", "propensity", "position"].contains(kv[0]), !kv[1].isEmpty else {
                throw EvaluationError("column mapping '\(text)': expected action=COLUMN,reward=COLUMN,propensity=COLUMN[,position=COLUMN]")
            }
            fields[kv[0]] = kv[1]
        }
        guard let action = fields["action"], let reward = fields["reward"], let propensity = fields["propensity"] else {
            throw EvaluationError("column mapping '\(text)' must name the action, reward and propensity columns")
        }
        self.action = action
        self.reward = reward
        self.propensity = propensity
        position = fields["position"]
    }
}

public enum GenericCSV {
    /// Positions in the file are taken as 0-based unless `positionBase` says otherwise.
    /// `features`: the context features to keep (see `ContextColumns`).
    public static func load(
        _ path: String, mapping: ColumnMapping, positions: Int, positionBase: Int = 0, actions: [String]? = nil, propensityFloor: Double = 0,
        features: [String] = []
    ) throws(EvaluationError) -> LoggedBandit {
        let table = try CSVTable(evaluating: path)
        let context = try ContextColumns(features: features, header: table.header, in: path)
        let action = try table.column(mapping.action, of: path)
        let reward = try table.column(mapping.reward, of: path)
        let propensity = try table.column(mapping.propensity, of: path)
        let position = try mapping.position.map { (c) throws(EvaluationError) in try table.column(c, of: path) }
        var builder = LoggedBanditBuilder(positionCount: positions, knownActions: actions, propensityFloor: propensityFloor, features: features)
        for row in table.rows {
            guard row.count == table.header.count else {
                builder.reject("wrong number of fields")
                continue
            }
            var slot = 0
            if let position {
                guard let p = Int(row[position]) else {
                    builder.reject("non-numeric position")
                    continue
                }
                slot = p - positionBase
            }
            guard let x = context.values(row) else {
                builder.reject("non-numeric context feature")
                continue
            }
            let p = row[propensity].isEmpty ? nil : Double(row[propensity])
            builder.add(action: String(row[action]), position: slot, reward: Double(row[reward]), propensity: p, context: x)
        }
        return builder.data
    }
}

/// A JSON-lines log (one object per round), with the same column mapping as `GenericCSV`
/// naming top-level fields. Actions may be strings or numbers; lines that are not JSON
/// objects are counted and skipped.
public enum GenericJSONLines {
    /// `features`: the context features to keep, from top-level fields (see `ContextFields`).
    public static func load(
        _ path: String, mapping: ColumnMapping, positions: Int, positionBase: Int = 0, propensityFloor: Double = 0, features: [String] = []
    ) throws(EvaluationError) -> LoggedBandit {
        let bytes: [UInt8]
        do { bytes = try FileIO.readAll(path) } catch { throw EvaluationError("cannot read \(path): \(error)") }
        var builder = LoggedBanditBuilder(positionCount: positions, propensityFloor: propensityFloor, features: features)
        let context = ContextFields(features: features)
        func number(_ v: JSONValue?) -> Double? {
            if case .number(let n)? = v { return n }
            return nil
        }
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            guard let object = try? JSONValue.parse(Array(line)), case .object = object else {
                builder.reject("not a JSON object")
                continue
            }
            let action: String
            switch object[mapping.action] {
            case .string(let s)?: action = s
            case .number(let n)? where n == n.rounded() && abs(n) < 1e15: action = String(Int64(n))
            default:
                builder.reject("missing action")
                continue
            }
            var slot = 0
            if let field = mapping.position {
                guard let p = number(object[field]), p == p.rounded(), abs(p) < 1e9 else {
                    builder.reject("non-numeric position")
                    continue
                }
                slot = Int(p) - positionBase
            }
            guard let x = context.values(object) else {
                builder.reject("non-numeric context feature")
                continue
            }
            builder.add(action: action, position: slot, reward: number(object[mapping.reward]), propensity: number(object[mapping.propensity]), context: x)
        }
        return builder.data
    }
}
