import StateFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The probability of winning an auction as a function of the bid, learnt from the bids
/// made and whether each won — all a first-price exchange tells a bidder about the
/// competing bids: a win says the highest of them was below the bid, a loss that it was
/// above (both censored). On a geometric grid of bids, that is current-status data, and
/// its maximum-likelihood estimate is the isotonic (non-decreasing) regression of the
/// win rates per grid cell, weighted by their counts (pool-adjacent-violators).
public struct WinCurve: Sendable, Equatable {
    public let low: Double
    public let high: Double
    /// Bids and wins per cell of the grid.
    public private(set) var bids: [Double]
    public private(set) var wins: [Double]

    public init(low: Double, high: Double, cells: Int = 64) {
        precondition(low > 0 && high > low && cells >= 2)
        self.low = low
        self.high = high
        bids = [Double](repeating: 0, count: cells)
        wins = [Double](repeating: 0, count: cells)
    }

    public var cells: Int { bids.count }

    /// The grid's bid at cell `i` (its lower edge: a bid there wins no more than the cell's rate says).
    public func bid(at i: Int) -> Double { low * pow(high / low, Double(i) / Double(cells - 1)) }

    /// The cell a bid falls in (clamped to the grid).
    public func cell(of bid: Double) -> Int {
        guard bid > low else { return 0 }
        let x = log(bid / low) / log(high / low) * Double(cells - 1)
        return min(cells - 1, Int(x))
    }

    public mutating func learn(bid: Double, won: Bool) {
        let i = cell(of: bid)
        bids[i] += 1
        if won { wins[i] += 1 }
    }

    /// Adds another shard's bids (the same grid): exact, the counts are whole numbers.
    public mutating func merge(_ other: WinCurve) {
        guard other.low == low, other.high == high, other.cells == cells else { return }
        for i in 0..<cells {
            bids[i] += other.bids[i]
            wins[i] += other.wins[i]
        }
    }

    func encode(to w: inout StateWriter) {
        w.write(low)
        w.write(high)
        w.writeVarint(UInt64(cells))
        for i in 0..<cells {
            w.write(bids[i])
            w.write(wins[i])
        }
    }

    init(from r: inout StateReader) throws(StateFormatError) {
        low = try r.readDouble()
        high = try r.readDouble()
        let count = try r.readCount(elementSize: 16)
        guard low > 0, high > low, count >= 2 else { throw StateFormatError("win curve: grid out of range") }
        bids = []
        wins = []
        for _ in 0..<count {
            bids.append(try r.readDouble())
            wins.append(try r.readDouble())
        }
    }

    /// The estimated probability of winning at each cell: isotonic in the bid, and
    /// interpolated over cells without bids.
    public func probabilities() -> [Double] {
        // Pool adjacent violators over the cells with bids, then fill the empty cells.
        var blocks: [(sum: Double, weight: Double, cells: [Int])] = []
        for i in 0..<cells where bids[i] > 0 {
            blocks.append((wins[i], bids[i], [i]))
            while blocks.count >= 2, blocks[blocks.count - 2].sum / blocks[blocks.count - 2].weight > blocks[blocks.count - 1].sum / blocks[blocks.count - 1].weight {
                let last = blocks.removeLast()
                blocks[blocks.count - 1].sum += last.sum
                blocks[blocks.count - 1].weight += last.weight
                blocks[blocks.count - 1].cells += last.cells
            }
        }
        var p = [Double](repeating: .nan, count: cells)
        for b in blocks { for i in b.cells { p[i] = b.sum / b.weight } }
        // Between cells bid at, linear in the log of the bid: a step would make a cell
        // just above a well-bid one look no likelier to win, so bids would stay on the
        // few cells already bid at. Below the first, down to 0 at the grid's start;
        // above the last, flat.
        var previous = (at: -1, p: 0.0)
        for i in 0..<cells where !p[i].isNaN {
            for j in (previous.at + 1)..<i { p[j] = previous.p + (p[i] - previous.p) * Double(j - previous.at) / Double(i - previous.at) }
            previous = (i, p[i])
        }
        for j in (previous.at + 1)..<cells { p[j] = previous.p }
        return p
    }
}

/// First-price bid shading: the bid that maximises the expected surplus (value − bid) ×
/// P(win | bid) on the learnt `WinCurve`, with a share `exploration` of bids moved
/// log-uniformly within a factor of 2 of that bid (below the value), so that the curve
/// keeps learning where it matters; before any win, exploring bids range from the grid's
/// lowest bid to the value.
public struct BidShader: Sendable, Equatable {
    public var curve: WinCurve
    public let exploration: Double

    public init(curve: WinCurve, exploration: Double = 0.05) {
        precondition((0...1).contains(exploration))
        self.curve = curve
        self.exploration = exploration
    }

    /// The bid for an impression worth `value`; `u` and `v` are uniform draws in [0, 1)
    /// from the caller's seeded generator. `probabilities` is `curve.probabilities()`,
    /// which a caller recomputes when it has learnt enough to move it.
    public func bid(value: Double, probabilities p: [Double], u: Double, v: Double) -> Double {
        guard value > curve.low else { return 0 }
        var best = 0.0, at = 0.0
        for i in 0..<curve.cells {
            let b = curve.bid(at: i)
            guard b < value else { break }
            let surplus = (value - b) * p[i]
            if surplus > best { (best, at) = (surplus, b) }
        }
        guard u < exploration else { return at }
        if at == 0 { return curve.low * pow(value / curve.low, v) }
        return min(value, at * pow(2, 2 * v - 1))
    }
}
