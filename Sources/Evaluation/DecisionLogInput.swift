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
    /// "14.99"), its reward a sale or that sale's price (`revenue`). Sales are joined as
    /// the engine joins them, in time order: a `reward` naming the quote within the window
    /// settles it (a sale when its value is positive), and a purchase of the product by
    /// the user within the window is the sale of their latest quote before it, if that
    /// quote is not settled yet.
    public static func loadQuotes(
        decisions: String, events: String, surface: String, product: String, windowMillis: Int64, reward: QuoteReward, propensityFloor: Double = 0,
        features: [String] = []
    ) throws(EvaluationError) -> LoggedBandit {
        struct Quote {
            var id: String, user: String, ts: Int64, price: Money, propensity: Double?, context: [Double]?
            var settled = false, sold = false
        }
        // What happens, in time order (at equal times: quotes, then rewards, then purchases).
        enum Step { case quote(Int), reward(id: String, value: Double), purchase(user: String) }
        var steps: [(ts: Int64, rank: Int, step: Step)] = []
        var quotes: [Quote] = []
        var seen = Set<String>()
        let context = ContextFields(features: features)
        var builder = LoggedBanditBuilder(positionCount: 1, propensityFloor: propensityFloor, features: features)
        var decoder = EventDecoder()
        try forEachLine(decisions) { line in
            guard case .success(let event) = decoder.decode(line) else {
                builder.reject("not a decision record")
                return
            }
            guard case .impression(let i) = event.body, i.surface == surface, i.action == product, let price = i.price, seen.insert(i.decisionID).inserted else { return }
            let record = features.isEmpty ? nil : try? JSONValue.parse(Array(line.utf8))
            steps.append((event.timestamp, 0, .quote(quotes.count)))
            quotes.append(Quote(id: i.decisionID, user: i.user, ts: event.timestamp, price: price, propensity: i.propensity, context: context.values(record?["context"])))
        }
        try forEachLine(events) { line in
            guard case .success(let event) = decoder.decode(line) else { return }
            switch event.body {
            case .reward(let r): steps.append((event.timestamp, 1, .reward(id: r.decisionID, value: r.value)))
            case .purchase(let p) where p.items.contains(where: { $0.item == product }): steps.append((event.timestamp, 2, .purchase(user: p.user)))
            default: break
            }
        }
        var byID: [String: Int] = [:]
        var latest: [String: Int] = [:]
        for (k, q) in quotes.enumerated() { byID[q.id] = k }
        for s in steps.enumerated().sorted(by: { ($0.element.ts, $0.element.rank, $0.offset) < ($1.element.ts, $1.element.rank, $1.offset) }).map(\.element) {
            switch s.step {
            case .quote(let k): latest[quotes[k].user] = k
            case .reward(let id, let value):
                guard let k = byID[id], quotes[k].ts <= s.ts, !quotes[k].settled, s.ts <= quotes[k].ts + windowMillis else { continue }
                quotes[k].settled = true
                quotes[k].sold = value > 0
            case .purchase(let user):
                guard let k = latest[user], !quotes[k].settled, s.ts <= quotes[k].ts + windowMillis else { continue }
                quotes[k].settled = true
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
