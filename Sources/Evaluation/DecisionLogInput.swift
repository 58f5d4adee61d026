import Common
import Events
import Stream

/// The engine's own decision log (the `impression` records of the events topic read
/// back; the decisions and events files may be one and the same dump) joined with the
/// rewards in an event file: a decision's reward is the value of its `reward` event,
/// else 1 when a click names it, else 0 (the log records every decision, clicked or not).
/// Other events in the decisions file are skipped; lines that are not events are
/// rejected. Only decisions of `surface` are read when it is given; the action set is
/// every action the decisions show. One slot. `features` are read from each decision's
/// recorded `context` (absent ones are 0, as when deciding).
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
            guard case .success(let event) = decoder.decode(line) else {
                builder.reject("not a decision record")
                return
            }
            guard case .impression(let i) = event.body else { return }
            if let surface, i.surface != surface { return }
            // The record itself, for contexts of other shapes (categorical features).
            let record = features.isEmpty ? nil : try? JSONValue.parse(Array(line.utf8))
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
