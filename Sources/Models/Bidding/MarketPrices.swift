import StateFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The market price of a campaign's second-price auctions (the highest competing bid, or
/// the floor: what winning costs), learnt from its bids' outcomes: a win's clearing price
/// is the market price itself, a loss says only that the price was above the bid (right-
/// censored). On a geometric grid of prices, its estimate is the product limit in its
/// life-table (actuarial) form: a loss is at risk for half of its own cell, since the
/// price passed the bid, somewhere in the cell, not the cell (counted at risk through the
/// whole cell, the losses made the estimate 0.04 too low in a test).
/// Losses are what keep the estimate honest: from wins alone, a campaign that bids low
/// would see only cheap auctions and think the market cheap.
public struct MarketPrices: Sendable, Equatable {
    public let low: Double
    public let high: Double
    /// Clearing prices of wins, and bids that lost, per cell.
    public private(set) var won: [Double]
    public private(set) var lost: [Double]

    public init(low: Double = 0.001, high: Double = 1000, cells: Int = 96) {
        precondition(low > 0 && high > low && cells >= 2)
        self.low = low
        self.high = high
        won = [Double](repeating: 0, count: cells)
        lost = won
    }

    public var cells: Int { won.count }
    public var wins: Double { won.reduce(0, +) }
    public var observations: Double { wins + lost.reduce(0, +) }

    /// The lower edge of cell `i` (`i` = `cells`: the grid's upper end).
    public func edge(_ i: Int) -> Double { low * pow(high / low, Double(i) / Double(cells)) }

    func cell(of price: Double) -> Int {
        guard price > low else { return 0 }
        return min(cells - 1, Int(log(price / low) / log(high / low) * Double(cells)))
    }

    public mutating func learn(clearingPrice price: Double) { won[cell(of: price)] += 1 }
    public mutating func learn(lostAt bid: Double) { lost[cell(of: bid)] += 1 }

    /// Adds another shard's outcomes (the same grid): exact, the counts are whole numbers.
    public mutating func merge(_ other: MarketPrices) {
        guard other.low == low, other.high == high, other.cells == cells else { return }
        for i in 0..<cells {
            won[i] += other.won[i]
            lost[i] += other.lost[i]
        }
    }

    /// P(price in cell i) by the product limit; what is left (1 − the sum) lies above every
    /// price seen won.
    public func cellProbabilities() -> [Double] {
        var atRisk = observations
        var survival = 1.0
        var p = [Double](repeating: 0, count: cells)
        for i in 0..<cells where atRisk > 0 {
            let hazard = min(1, won[i] / max(won[i], atRisk - lost[i] / 2))
            p[i] = survival * hazard
            survival -= p[i]
            atRisk -= won[i] + lost[i]
        }
        return p
    }

    /// The upper edge of the cell by which a share `q` of the wins' prices was reached, nil
    /// before any win.
    public func wonQuantile(_ q: Double) -> Double? {
        let total = wins
        guard total > 0 else { return nil }
        var sum = 0.0
        for i in 0..<cells {
            sum += won[i]
            if sum >= q * total { return edge(i + 1) }
        }
        return edge(cells)
    }

    /// m(δ) = P(the price rounds to δ units of `unit`), δ = 0…`units`, each cell's mass
    /// spread evenly over the log of its prices. What lies beyond — above the last unit,
    /// or above every price seen won, where the losses say only that it is dear — is put
    /// at the last unit: won only by the highest bid, at that bid — what such a bid would
    /// meet, where leaving the mass out would have the top bid win nothing dear.
    public func distribution(unit: Double, units: Int) -> [Double] {
        precondition(unit > 0 && units >= 0)
        let p = cellProbabilities()
        var cumulative = [0.0]
        for q in p { cumulative.append(cumulative.last! + q) }
        func cdf(_ x: Double) -> Double {
            guard x > low else { return 0 }
            let position = log(x / low) / log(high / low) * Double(cells)
            let i = Int(position)
            guard i < cells else { return cumulative[cells] }
            return cumulative[i] + p[i] * (position - Double(i))
        }
        var m = (0...units).map { d in cdf((Double(d) + 0.5) * unit) - (d == 0 ? 0 : cdf((Double(d) - 0.5) * unit)) }
        m[units] += max(0, 1 - m.reduce(0, +))
        return m
    }

    func encode(to w: inout StateWriter) {
        w.write(low)
        w.write(high)
        w.writeVarint(UInt64(cells))
        for i in 0..<cells {
            w.write(won[i])
            w.write(lost[i])
        }
    }

    init(from r: inout StateReader) throws(StateFormatError) {
        low = try r.readDouble()
        high = try r.readDouble()
        let count = try r.readCount(elementSize: 16)
        guard low > 0, high > low, count >= 2 else { throw StateFormatError("market prices: grid out of range") }
        won = []
        lost = []
        for _ in 0..<count {
            let (w, l) = (try r.readDouble(), try r.readDouble())
            guard w.isFinite, l.isFinite, w >= 0, l >= 0 else { throw StateFormatError("market prices: a count is negative or not finite") }
            won.append(w)
            lost.append(l)
        }
    }
}
