import Events

/// A bound a price answer respects; answers name the ones that removed points.
public enum Guardrail: String, Sendable, CaseIterable {
    case minimum, maximum
    case maximumChange = "maximum_change"
    case ending
    case sameUser = "same_user"
}

/// The limits every price a product is offered at keeps, whatever the policy would
/// rather do. Minimum, maximum and endings are fixed by configuration; the largest change
/// is measured from the product's price in the previous period, and the same user keeps
/// the price quoted to them for `sameUserSeconds`: both need state the caller keeps and
/// passes in.
public struct PriceGuardrails: Sendable, Equatable {
    public var minimum: Money?
    public var maximum: Money?
    /// The largest change from the previous period's price, as a fraction of it (0.1:
    /// at most 10 % up or down).
    public var maximumChange: Double?
    /// Allowed fractional parts in micro-units (990,000 for prices ending in .99); empty
    /// allows any.
    public var endings: Set<Int64>
    /// How long a user keeps the price they were quoted (nil: every request is priced
    /// afresh).
    public var sameUserSeconds: Int64?

    public init(minimum: Money? = nil, maximum: Money? = nil, maximumChange: Double? = nil, endings: Set<Int64> = [], sameUserSeconds: Int64? = nil) {
        self.minimum = minimum
        self.maximum = maximum
        self.maximumChange = maximumChange
        self.endings = endings
        self.sameUserSeconds = sameUserSeconds
    }

    public static let none = PriceGuardrails()

    /// The points of `ladder` the fixed bounds (minimum, maximum, endings) allow; refuses
    /// bounds that contradict each other or leave no price.
    public func validate(_ ladder: PriceLadder) throws(PricingError) {
        if let lo = minimum, let hi = maximum, lo > hi {
            throw PricingError("the minimum price \(lo) is above the maximum \(hi)")
        }
        if let c = maximumChange, !(c.isFinite && c > 0) {
            throw PricingError("the largest change per period must be a positive fraction, found \(c)")
        }
        for e in endings where !(0..<1_000_000).contains(e) {
            throw PricingError("a price ending is a fraction of one unit in micro-units (990000 for .99), found \(e)")
        }
        if let s = sameUserSeconds, s < 0 { throw PricingError("the same-user time must not be negative, found \(s) s") }
        guard !fixedPoints(ladder).isEmpty else {
            throw PricingError("no price of the ladder (\(ladder.prices.first!)–\(ladder.prices.last!) \(ladder.currency)) is within the minimum, the maximum and the allowed endings")
        }
    }

    /// The points the minimum, maximum and endings allow, ascending.
    public func fixedPoints(_ ladder: PriceLadder) -> [Int] {
        ladder.prices.indices.filter { violations(ladder.prices[$0], previous: nil).isEmpty }
    }

    /// The points a price may take this period, given the previous period's price (nil
    /// for a product never priced), and the guardrails that removed points. When no fixed
    /// point is within the largest change of `previous` (the ladder or the bounds changed
    /// under it), the fixed point nearest to it is the only one allowed, and the answer
    /// moves from there on.
    public func allowed(_ ladder: PriceLadder, previous: Money?) -> (points: [Int], boundBy: [Guardrail]) {
        var bound = Set<Guardrail>()
        var points: [Int] = []
        for (k, p) in ladder.prices.enumerated() {
            let v = violations(p, previous: nil)
            if v.isEmpty { points.append(k) } else { bound.formUnion(v) }
        }
        if let previous, maximumChange != nil, !points.isEmpty {
            let near = points.filter { withinChange(ladder.prices[$0], of: previous) }
            if near.count < points.count { bound.insert(.maximumChange) }
            points = near.isEmpty ? [nearest(points, to: previous, in: ladder)] : near
        }
        return (points, Guardrail.allCases.filter(bound.contains))
    }

    /// The guardrails `price` breaks, given the previous period's price.
    public func violations(_ price: Money, previous: Money?) -> [Guardrail] {
        var v: [Guardrail] = []
        if let lo = minimum, price < lo { v.append(.minimum) }
        if let hi = maximum, price > hi { v.append(.maximum) }
        if let previous, !withinChange(price, of: previous) { v.append(.maximumChange) }
        if !endings.isEmpty, !endings.contains(Int64(price.micros % 1_000_000)) { v.append(.ending) }
        return v
    }

    private func withinChange(_ price: Money, of previous: Money) -> Bool {
        guard let c = maximumChange else { return true }
        // In micro-units, exactly: |price − previous| ≤ c · previous.
        let limit = Int128((Double(previous.micros) * c).rounded(.down))
        let d = price.micros - previous.micros
        return (d < 0 ? -d : d) <= limit
    }

    private func nearest(_ points: [Int], to price: Money, in ladder: PriceLadder) -> Int {
        points.min { a, b in
            let da = (ladder.prices[a].micros - price.micros).magnitude
            let db = (ladder.prices[b].micros - price.micros).magnitude
            return da < db || (da == db && a < b)
        }!
    }
}
