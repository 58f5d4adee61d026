import Common

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A simulated day of second-price auctions with a known truth, for tests and benchmarks
/// (the setting of Cai et al., WSDM 2017): each auction has a click probability, which the
/// bidder is told (its CTR model's prediction, taken as exact here), and a market price —
/// the highest competing bid, log-normal — which it learns only by winning. A won auction
/// costs its market price. The budget is a share of what winning every auction would cost.
public struct AuctionDay: Sendable {
    public let ctr: [Double]
    public let marketPrice: [Double]

    public init(ctr: [Double], marketPrice: [Double]) {
        precondition(ctr.count == marketPrice.count, "one price per auction")
        self.ctr = ctr
        self.marketPrice = marketPrice
    }

    /// `auctions` auctions, CTR log-normal with median `ctrMedian` and log-sd `ctrSigma`,
    /// market price log-normal with median `priceMedian` and log-sd `priceSigma`; with
    /// `correlation` the two logs are that correlated (0: independent, as the models of
    /// the bidders assume).
    public static func logNormal(
        auctions: Int, ctrMedian: Double = 0.002, ctrSigma: Double = 0.8, priceMedian: Double = 1, priceSigma: Double = 0.6, correlation: Double = 0,
        seed: UInt64
    ) -> AuctionDay {
        precondition(auctions >= 1 && (-1...1).contains(correlation))
        var random = SeededRandom(seed: seed)
        var ctr: [Double] = [], price: [Double] = []
        ctr.reserveCapacity(auctions)
        price.reserveCapacity(auctions)
        for _ in 0..<auctions {
            let a = random.normal(), b = random.normal()
            ctr.append(min(1, ctrMedian * exp(ctrSigma * a)))
            price.append(priceMedian * exp(priceSigma * (correlation * a + (1 - correlation * correlation).squareRoot() * b)))
        }
        return AuctionDay(ctr: ctr, marketPrice: price)
    }

    /// What winning every auction costs.
    public var totalMarketCost: Double { marketPrice.reduce(0, +) }

    /// What a bidder got from the day.
    public struct Outcome: Sendable, Equatable {
        /// Σ CTR over the auctions won: clicks without the noise of the users' coin flips.
        public var expectedClicks: Double
        public var spend: Double
        public var wins: Int
    }

    /// Runs the day for `bidder` with `budget`: no bid above the budget left, so the
    /// spend never exceeds it.
    public func run(_ bidder: inout some AuctionBidder, budget: Double) -> Outcome {
        var out = Outcome(expectedClicks: 0, spend: 0, wins: 0)
        let n = ctr.count
        for t in 0..<n {
            let left = budget - out.spend
            let bid = min(left, bidder.bid(ctr: ctr[t], budgetLeft: left, auctionsLeft: n - t))
            let won = bid > 0 && bid >= marketPrice[t]
            let cost = won ? marketPrice[t] : 0
            if won {
                out.wins += 1
                out.spend += cost
                out.expectedClicks += ctr[t]
            }
            bidder.observe(cost: cost, budgetLeft: budget - out.spend, auctionsLeft: n - t - 1)
        }
        return out
    }
}

extension AuctionDay {
    /// The parameter of `make`'s bidder that earns the most clicks within `budget` over
    /// this whole day: a geometric grid over 1/64–64 × the median market price, then
    /// refined around the best.
    public func tuned<B: AuctionBidder>(budget: Double, _ make: (Double) -> B) -> Double {
        func clicks(_ x: Double) -> Double {
            var b = make(x)
            return run(&b, budget: budget).expectedClicks
        }
        let median = marketPrice.sorted()[marketPrice.count / 2]
        var best = median
        var bestClicks = clicks(best)
        var step = pow(2, 0.25)
        for k in -24...24 {
            let x = median * pow(step, Double(k))
            let c = clicks(x)
            if c > bestClicks { (best, bestClicks) = (x, c) }
        }
        for _ in 0..<4 {
            step = step.squareRoot()
            let centre = best
            for k in -3...3 where k != 0 {
                let x = centre * pow(step, Double(k))
                let c = clicks(x)
                if c > bestClicks { (best, bestClicks) = (x, c) }
            }
        }
        return best
    }
}

extension AuctionDay {
    /// What a first-price day gave: each won auction costs the bid, earns its value.
    public struct FirstPriceOutcome: Sendable, Equatable {
        /// Σ (value − bid) over the auctions won.
        public var surplus: Double
        public var wins: Int
        public var spend: Double
    }

    /// Runs the day as first-price auctions (no budget): `bid(t, value)` for auction t
    /// worth `clickValue` × its CTR, then `learn(t, bid, won)`.
    public func runFirstPrice(clickValue: Double, bid: (Int, Double) -> Double, learn: (Int, Double, Bool) -> Void) -> FirstPriceOutcome {
        var out = FirstPriceOutcome(surplus: 0, wins: 0, spend: 0)
        for t in ctr.indices {
            let value = clickValue * ctr[t]
            let b = bid(t, value)
            let won = b > 0 && b >= marketPrice[t]
            if won {
                out.wins += 1
                out.surplus += value - b
                out.spend += b
            }
            learn(t, b, won)
        }
        return out
    }
}

/// A bidder in an `AuctionDay`: a bid for each auction, told what it cost.
public protocol AuctionBidder {
    mutating func bid(ctr: Double, budgetLeft: Double, auctionsLeft: Int) -> Double
    /// The auction just bid on cost `cost` (0 when lost).
    mutating func observe(cost: Double, budgetLeft: Double, auctionsLeft: Int)
}

/// The same bid in every auction.
public struct ConstantBidder: AuctionBidder {
    public let price: Double
    public init(price: Double) { self.price = price }
    public func bid(ctr: Double, budgetLeft: Double, auctionsLeft: Int) -> Double { price }
    public func observe(cost: Double, budgetLeft: Double, auctionsLeft: Int) {}
}

/// A bid proportional to the predicted CTR: `base` × ctr / `meanCTR` (the linear bidder
/// of Perlich et al., tuned offline by choosing `base`).
public struct LinearBidder: AuctionBidder {
    public let base: Double
    public let meanCTR: Double
    public init(base: Double, meanCTR: Double) {
        self.base = base
        self.meanCTR = meanCTR
    }
    public func bid(ctr: Double, budgetLeft: Double, auctionsLeft: Int) -> Double { base * ctr / meanCTR }
    public func observe(cost: Double, budgetLeft: Double, auctionsLeft: Int) {}

    /// The base that earns the most clicks on `day` within `budget`: a bidder that knew
    /// the day's prices in advance (`AuctionDay.tuned`).
    public static func tuned(on day: AuctionDay, budget: Double, meanCTR: Double) -> LinearBidder {
        LinearBidder(base: day.tuned(budget: budget) { LinearBidder(base: $0, meanCTR: meanCTR) }, meanCTR: meanCTR)
    }
}
