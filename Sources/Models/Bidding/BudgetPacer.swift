#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Paces a campaign's budget over its auctions by a dual (Lagrangian) controller, knowing
/// nothing of the day in advance. Maximising clicks subject to the budget, the bid is
/// value × CTR / (1 + μ), with `value` what a click is worth to the campaign and μ the
/// budget's shadow price. μ follows online gradient steps on the dual, in log space so
/// that the step needs no scale: after each auction, log(1 + μ) moves by `step` × (cost /
/// plan − 1), where the plan is the budget left spread evenly over the auctions left — up
/// when the spend runs ahead of the plan, down when it lags — and μ never goes below 0,
/// so the bid never exceeds the click's value. Because the plan is re-spread after every
/// auction, a day that spent too little early bids more later and ends near the budget.
public struct BudgetPacer: AuctionBidder, Sendable, Equatable {
    public let value: Double
    public let step: Double
    /// log(1 + μ).
    public private(set) var logShadow: Double = 0

    public init(value: Double, step: Double = 0.002) {
        precondition(value > 0 && step > 0)
        self.value = value
        self.step = step
    }

    /// The budget's shadow price μ.
    public var shadowPrice: Double { exp(logShadow) - 1 }

    public func bid(ctr: Double, budgetLeft: Double, auctionsLeft: Int) -> Double {
        value * ctr / exp(logShadow)
    }

    public mutating func observe(cost: Double, budgetLeft: Double, auctionsLeft: Int) {
        guard auctionsLeft > 0 else { return }
        let plan = (budgetLeft + cost) / Double(auctionsLeft + 1)
        guard plan > 0 else { return }
        // A win can cost many plans at once: the cap keeps one auction from deciding μ.
        logShadow = max(0, logShadow + step * (min(cost / plan, 100) - 1))
    }
}

/// The pacing `serve` bids with: the budget's shadow price from the spend so far against
/// the plan for this time of day, log(1 + μ) = `gain` × (spent − planned) / budget, never
/// below 0. It is the dual controller's accumulated step — each auction's cost against
/// its share of the plan, summed — in a form that needs no per-auction state, so any
/// process holding the group's spend (a published view) bids alike; unlike the projected
/// step it does not forget a lag, so a day that spent too little early catches up. At
/// equilibrium the spend runs ahead of the plan by log(1 + μ*) / `gain` of the budget,
/// which the hard stop at the budget bounds.
public struct SpendPacer: Sendable, Equatable {
    public let gain: Double

    public init(gain: Double = 400) {
        precondition(gain > 0)
        self.gain = gain
    }

    /// log(1 + μ) after spending `spent` of `budget` when the plan had `planned` spent.
    public func logShadow(spent: Double, budget: Double, planned: Double) -> Double {
        guard budget > 0 else { return .infinity }
        return max(0, gain * (spent - planned) / budget)
    }
}

/// `SpendPacer` on a simulated day, its auctions evenly spread over the day.
public struct SpendPacedBidder: AuctionBidder, Sendable {
    public let pacer: SpendPacer
    public let value: Double
    public let budget: Double
    public let auctions: Int
    private var seen = 0

    public init(pacer: SpendPacer = SpendPacer(), value: Double, budget: Double, auctions: Int) {
        self.pacer = pacer
        self.value = value
        self.budget = budget
        self.auctions = auctions
    }

    public func bid(ctr: Double, budgetLeft: Double, auctionsLeft: Int) -> Double {
        let planned = budget * Double(seen) / Double(auctions)
        return value * ctr / exp(pacer.logShadow(spent: budget - budgetLeft, budget: budget, planned: planned))
    }

    public mutating func observe(cost: Double, budgetLeft: Double, auctionsLeft: Int) { seen += 1 }
}
