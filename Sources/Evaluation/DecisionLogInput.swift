import Common
import Events
import Stream

/// The engine's own decision log (`impression` records from the decisions topic or
/// `decisions.log_file`) joined with the rewards in an event file: a decision's reward
/// is the value of its `reward` event, else 1 when a click names it, else 0 (the log
/// records every decision, clicked or not). Only decisions of `surface` are read when it
/// is given; the action set is every action the decisions show. One slot. `features` are
/// read from each decision's recorded `context` (absent ones are 0, as when deciding).
public enum DecisionLogInput {
    public static func load(
        decisions: String, events: String, surface: String?, propensityFloor: Double = 0, features: [String] = []
    ) throws(EvaluationError) -> LoggedBandit {
        var rewards: [String: Double] = [:]
        var decoder = EventDecoder()
        try forEachLine(events) { line in
            guard case .success(let event) = decoder.decode(line) else { return }
            switch event.body {
            case .reward(let r): rewards[r.decisionID] = r.value
            case .click(let c):
                if let id = c.decisionID, rewards[id] == nil { rewards[id] = 1 }
            default: break
            }
        }
        var builder = LoggedBanditBuilder(positionCount: 1, propensityFloor: propensityFloor, features: features)
        let context = ContextFields(features: features)
        try forEachLine(decisions) { line in
            guard case .success(let event) = decoder.decode(line), case .impression(let i) = event.body else {
                builder.reject("not a decision record")
                return
            }
            let record = surface != nil || !features.isEmpty ? try? JSONValue.parse(Array(line.utf8)) : nil
            if let surface, record?["surface"] != .string(surface) { return }
            guard let x = context.values(record?["context"]) else {
                builder.reject("non-numeric context feature")
                return
            }
            builder.add(action: i.action, position: 0, reward: rewards[i.decisionID] ?? 0, propensity: i.propensity, context: x)
        }
        return builder.data
    }

    private static func forEachLine(_ path: String, _ body: (String) throws(EvaluationError) -> Void) throws(EvaluationError) {
        let bytes: [UInt8]
        do { bytes = try FileIO.readAll(path) } catch { throw EvaluationError("cannot read \(path): \(error)") }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where !line.isEmpty {
            try body(String(line))
        }
    }
}
