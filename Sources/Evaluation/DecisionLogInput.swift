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
            // Price quotes are read by `loadQuotes`.
            guard case .impression(let i) = event.body, i.price == nil else { return }
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

    /// What a logged price quote earned.
    public enum QuoteReward: String, Sendable, CaseIterable {
        /// 1 for a sale, 0 without.
        case sale
        /// The price of a sale, 0 without.
        case revenue
    }

    /// The price quotes of one product of a pricing surface (impressions carrying a
    /// `price`): each round's action is the price quoted (as the log writes it, e.g.
    /// "14.99"), its reward a sale — a `reward` naming the quote with a positive value,
    /// or the user's purchase of the product within `windowMillis` of their latest quote
    /// before it, if that quote had not sold, as the engine joins them — or that sale's
    /// price (`revenue`).
    public static func loadQuotes(
        decisions: String, events: String, surface: String, product: String, windowMillis: Int64, reward: QuoteReward, propensityFloor: Double = 0,
        features: [String] = []
    ) throws(EvaluationError) -> LoggedBandit {
        var rewarded = Set<String>()
        var purchases: [String: [Int64]] = [:]
        var decoder = EventDecoder()
        try forEachLine(events) { line in
            guard case .success(let event) = decoder.decode(line) else { return }
            switch event.body {
            case .reward(let r) where r.value > 0: rewarded.insert(r.decisionID)
            case .purchase(let p) where p.items.contains(where: { $0.item == product }): purchases[p.user, default: []].append(event.timestamp)
            default: break
            }
        }
        struct Quote {
            var id: String, user: String, ts: Int64, price: Money, propensity: Double?, context: [Double]?
            var sold = false
        }
        var quotes: [Quote] = []
        var byUser: [String: [Int]] = [:]
        let context = ContextFields(features: features)
        var builder = LoggedBanditBuilder(positionCount: 1, propensityFloor: propensityFloor, features: features)
        try forEachLine(decisions) { line in
            guard case .success(let event) = decoder.decode(line) else {
                builder.reject("not a decision record")
                return
            }
            guard case .impression(let i) = event.body, i.surface == surface, i.action == product, let price = i.price else { return }
            let record = features.isEmpty ? nil : try? JSONValue.parse(Array(line.utf8))
            byUser[i.user, default: []].append(quotes.count)
            quotes.append(Quote(id: i.decisionID, user: i.user, ts: event.timestamp, price: price, propensity: i.propensity, context: context.values(record?["context"])))
        }
        for k in quotes.indices where rewarded.contains(quotes[k].id) { quotes[k].sold = true }
        for (user, times) in purchases {
            guard let mine = byUser[user] else { continue }
            for t in times {
                // The user's latest quote at the purchase: it sells if it is still open.
                guard let k = mine.last(where: { quotes[$0].ts <= t }), !quotes[k].sold, t <= quotes[k].ts + windowMillis else { continue }
                quotes[k].sold = true
            }
        }
        for q in quotes {
            guard let x = q.context else {
                builder.reject("non-numeric context feature")
                continue
            }
            let value = q.sold ? (reward == .sale ? 1 : q.price.units) : 0
            builder.add(action: q.price.description, position: 0, reward: value, propensity: q.propensity, context: x)
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
