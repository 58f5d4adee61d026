import Events

/// Why a pricing configuration or request was refused: the message says what is wrong.
public struct PricingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What a pricing policy maximises per customer: revenue (price × conversion) or margin
/// ((price − unit cost) × conversion).
public enum PricingObjective: String, Sendable, CaseIterable {
    case revenue, margin
}

/// A product's price points, ascending, and the unit cost margins are taken from. A
/// continuous range is offered as the points of a grid (`range`): demand is learnt per
/// point, so a finer grid learns slower.
public struct PriceLadder: Sendable, Equatable {
    public let prices: [Money]
    public let unitCost: Money
    /// ISO 4217 code, three upper-case ASCII letters.
    public let currency: String

    /// The most points a ladder may have: every decision reads every point.
    public static let maximumPoints = 1_000

    public init(prices: [Money], unitCost: Money = .zero, currency: String) throws(PricingError) {
        guard !prices.isEmpty else { throw PricingError("a price ladder needs at least one price") }
        guard prices.count <= PriceLadder.maximumPoints else {
            throw PricingError("a price ladder has at most \(PriceLadder.maximumPoints) prices, found \(prices.count)")
        }
        for k in 1..<max(1, prices.count) where prices[k] <= prices[k - 1] {
            throw PricingError("prices must be strictly ascending: \(prices[k - 1]) is followed by \(prices[k])")
        }
        guard Money.isCurrencyCode(currency) else {
            throw PricingError("currency must be an ISO 4217 code of three upper-case letters, found '\(currency)'")
        }
        self.prices = prices
        self.unitCost = unitCost
        self.currency = currency
    }

    /// The grid `from`, `from + step`, … up to `to` (inclusive when it falls on the grid).
    public static func range(from: Money, to: Money, step: Money, unitCost: Money = .zero, currency: String) throws(PricingError) -> PriceLadder {
        guard step.micros > 0 else { throw PricingError("a price range needs a positive step") }
        guard from <= to else { throw PricingError("a price range must run upwards: \(from) to \(to)") }
        let count = (to.micros - from.micros) / step.micros + 1
        guard count <= Int128(PriceLadder.maximumPoints) else {
            throw PricingError("the range \(from)–\(to) in steps of \(step) has \(count) prices; at most \(PriceLadder.maximumPoints)")
        }
        let prices = (0..<Int(count)).map { Money(micros: from.micros + Int128($0) * step.micros) }
        return try PriceLadder(prices: prices, unitCost: unitCost, currency: currency)
    }

    public var count: Int { prices.count }

    /// What one sale at point `k` is worth under `objective`, in currency units.
    public func value(of k: Int, objective: PricingObjective) -> Double {
        switch objective {
        case .revenue: prices[k].units
        case .margin: prices[k].units - unitCost.units
        }
    }

    /// The point holding exactly `price`, if any.
    public func point(of price: Money) -> Int? {
        var low = 0, high = prices.count - 1
        while low <= high {
            let mid = (low + high) / 2
            if prices[mid] == price { return mid }
            if prices[mid] < price { low = mid + 1 } else { high = mid - 1 }
        }
        return nil
    }
}
