/// Reinforcement-learning bidding (Cai et al., "Real-Time Bidding by Reinforcement
/// Learning in Display Advertising", WSDM 2017): the campaign's day as a Markov decision
/// process over (auctions left t, budget left b, in price units), solved by dynamic
/// programming on a learnt market-price distribution m(δ) and CTR distribution. With
/// V(t, b) the expected clicks of the rest of the day and g(δ) = V(t−1, b) − V(t−1, b−δ),
/// a second-price auction with CTR θ is worth bidding up to a = max{δ ≤ b : g(δ) ≤ θ}
/// (a win at price δ must earn more than the budget it uses is worth later), and
/// V(t, b) = V(t−1, b) + Σ_θ P(θ) Σ_{δ ≤ a(θ)} m(δ) (θ − g(δ)), V(0, ·) = 0.
/// The solve costs O(auctions × budget units × (price units + CTR bins)).
public struct BiddingValues: Sendable {
    /// Money per price unit.
    public let unit: Double
    public let auctions: Int
    public let budgetUnits: Int
    /// P(market price rounds to δ units), δ = 0…; prices beyond the last are never won.
    public let marketPrices: [Double]
    /// V(t, b), row-major by t.
    let values: [Double]

    /// Solves for up to `auctions` auctions and `budgetUnits` units, with `ctrs` the CTR
    /// distribution as (CTR, probability) pairs.
    public static func solve(auctions: Int, budgetUnits: Int, unit: Double, marketPrices m: [Double], ctrs: [(ctr: Double, p: Double)]) -> BiddingValues {
        precondition(auctions >= 1 && budgetUnits >= 0 && unit > 0 && !m.isEmpty && !ctrs.isEmpty)
        let theta = ctrs.sorted { $0.ctr < $1.ctr }
        let width = budgetUnits + 1
        var v = [Double](repeating: 0, count: (auctions + 1) * width)
        var cumM = [Double](repeating: 0, count: m.count + 1)
        var cumG = [Double](repeating: 0, count: m.count + 1)
        var gs = [Double](repeating: 0, count: m.count)
        for t in 1...auctions {
            let previous = (t - 1) * width, row = t * width
            for b in 0...budgetUnits {
                let here = v[previous + b]
                let reach = min(b, m.count - 1)
                // Prefix sums over δ of m(δ) and m(δ)·g(δ), g non-decreasing in δ.
                for d in 0...reach {
                    let g = here - v[previous + b - d]
                    gs[d] = g
                    cumM[d + 1] = cumM[d] + m[d]
                    cumG[d + 1] = cumG[d] + m[d] * g
                }
                var gain = 0.0
                var a = -1
                for (ctr, p) in theta {
                    while a < reach, gs[a + 1] <= ctr { a += 1 }
                    guard a >= 0 else { continue }
                    gain += p * (ctr * cumM[a + 1] - cumG[a + 1])
                }
                v[row + b] = here + gain
            }
        }
        return BiddingValues(unit: unit, auctions: auctions, budgetUnits: budgetUnits, marketPrices: m, values: v)
    }

    /// Expected clicks of `auctionsLeft` auctions with `budgetUnits` units.
    public func value(auctionsLeft t: Int, budgetUnits b: Int) -> Double { values[min(t, auctions) * (budgetUnits + 1) + min(b, budgetUnits)] }

    /// The bid, in money, for an auction with `ctr` when `auctionsLeft` (this one
    /// included) and `budgetLeft` (money) remain. Beyond the solved horizon T0, Cai et
    /// al.'s approximation: the state (t, b) bids as (T0, b·T0/t) does, the same budget
    /// per auction left (their V(t, b) ≈ V(T0, b·T0/t), good once t is large).
    public func bid(ctr: Double, auctionsLeft t: Int, budgetLeft: Double) -> Double {
        guard t >= 1 else { return 0 }
        let scaled = t > auctions ? budgetLeft * Double(auctions) / Double(t) : budgetLeft
        // Clamped as a double: a budget of more units than an Int holds must not trap.
        let b = Int(min(Double(budgetUnits), max(0, scaled / unit)))
        let previous = (min(t, auctions) - 1) * (budgetUnits + 1)
        let here = values[previous + b]
        var a = -1
        while a < min(b, marketPrices.count - 1), here - values[previous + b - (a + 1)] <= ctr { a += 1 }
        // δ is the price rounded to units: bidding half a unit above wins every price
        // that rounds to a or less.
        return a < 0 ? 0 : min(budgetLeft, (Double(a) + 0.5) * unit)
    }
}

/// A bidder that follows `BiddingValues` (reinforcement-learning bidding).
public struct ValueBidder: AuctionBidder {
    public let values: BiddingValues
    public init(values: BiddingValues) { self.values = values }

    /// The distributions a solve needs, learnt from a past day: its market prices rounded
    /// to `unit` up to `maximumUnits` (beyond: never won), and its CTRs in `bins` bins of
    /// equal probability, each at its mean.
    public static func distributions(of day: AuctionDay, unit: Double, maximumUnits: Int, bins: Int = 100) -> (prices: [Double], ctrs: [(ctr: Double, p: Double)]) {
        var m = [Double](repeating: 0, count: maximumUnits + 1)
        for price in day.marketPrice {
            let d = Int((price / unit).rounded())
            if d <= maximumUnits { m[d] += 1 / Double(day.marketPrice.count) }
        }
        let sorted = day.ctr.sorted()
        let per = max(1, sorted.count / bins)
        var ctrs: [(ctr: Double, p: Double)] = []
        var i = 0
        while i < sorted.count {
            let slice = sorted[i..<min(sorted.count, i + per)]
            ctrs.append((slice.reduce(0, +) / Double(slice.count), Double(slice.count) / Double(sorted.count)))
            i += per
        }
        return (m, ctrs)
    }
    public func bid(ctr: Double, budgetLeft: Double, auctionsLeft: Int) -> Double { values.bid(ctr: ctr, auctionsLeft: auctionsLeft, budgetLeft: budgetLeft) }
    public func observe(cost: Double, budgetLeft: Double, auctionsLeft: Int) {}
}
