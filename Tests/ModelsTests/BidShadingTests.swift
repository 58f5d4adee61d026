import Common
import Foundation
import Testing

@testable import Bidding

/// First-price shading on simulated days (log-normal market prices, median 1, log-sd 0.6):
/// the win curve learnt from wins and losses alone, and the surplus shading on it earns.
@Suite struct BidShadingTests {
    /// The true probability of winning at `bid`: the market price's log-normal CDF.
    static func truth(_ bid: Double) -> Double { 0.5 * erfc(-log(bid) / 0.6 / 2.0.squareRoot()) }

    @Test func shadingOnTheLearntWinCurveEarnsMostOfWhatKnowingTheCurveWouldAndTruthfulBiddingNothing() {
        for seed: UInt64 in [1, 2, 3] {
            let day = AuctionDay.logNormal(auctions: 100_000, seed: seed)
            let clickValue = 750.0  // the median impression is worth 1.5 × the median price
            var random = SeededRandom(seed: seed)
            var shader = BidShader(curve: WinCurve(low: 0.01, high: 100, cells: 200))
            var p = shader.curve.probabilities()
            let learnt = day.runFirstPrice(clickValue: clickValue) { _, value in
                shader.bid(value: value, probabilities: p, u: random.unit(), v: random.unit())
            } learn: { t, bid, won in
                if bid > 0 { shader.curve.learn(bid: bid, won: won) }
                if t % 1_000 == 999 { p = shader.curve.probabilities() }
            }
            let oracle = BidShader(curve: WinCurve(low: 0.01, high: 100, cells: 200), exploration: 0)
            let known = (0..<200).map { Self.truth(oracle.curve.bid(at: $0)) }
            let best = day.runFirstPrice(clickValue: clickValue) { _, value in oracle.bid(value: value, probabilities: known, u: 1, v: 0) } learn: { _, _, _ in }
            let truthful = day.runFirstPrice(clickValue: clickValue) { _, value in value } learn: { _, _, _ in }
            #expect(truthful.surplus == 0 && truthful.wins > 0, "a truthful winner pays its whole value")
            #expect(learnt.surplus >= 0.93 * best.surplus, "seed \(seed): \(learnt.surplus) against \(best.surplus) knowing the curve")
            // The curve, learnt from censored outcomes only, is the truth where it was bid on.
            let q = shader.curve.probabilities()
            for i in 0..<200 where shader.curve.bids[i] >= 2_000 {
                let b = shader.curve.bid(at: i)
                // The cell spans [b, next b): its rate lies between the truth at both ends.
                let lo = Self.truth(b) - 0.03, hi = Self.truth(shader.curve.bid(at: min(199, i + 1))) + 0.03
                #expect(q[i] >= lo && q[i] <= hi, "seed \(seed), bid \(b): \(q[i]) against \(Self.truth(b))")
            }
        }
    }

    @Test func theWinCurveIsNonDecreasingAndFillsCellsWithoutBids() {
        var c = WinCurve(low: 1, high: 16, cells: 5)  // cells at 1, 2, 4, 8, 16
        c.learn(bid: 2, won: true)
        c.learn(bid: 2, won: false)
        c.learn(bid: 4, won: false)  // below the rate at 2: pooled with it
        c.learn(bid: 16, won: true)
        let third: Double = 1.0 / 3
        // Nothing bid at 1 (half way from 0) or at 8 (half way to 1).
        let expected: [Double] = [third / 2, third, third, (third + 1) / 2, 1]
        #expect(zip(c.probabilities(), expected).allSatisfy { abs($0 - $1) < 1e-12 }, "\(c.probabilities())")
        #expect(c.cell(of: 0.5) == 0 && c.cell(of: 3.9) == 1 && c.cell(of: 1_000) == 4)
        let s = BidShader(curve: c, exploration: 0)
        // Worth 10: 2 wins a third of the time (surplus 2.67), 4 no more, 8 two thirds (1.33).
        #expect(s.bid(value: 10, probabilities: c.probabilities(), u: 1, v: 0) == 2)
        #expect(s.bid(value: 0.5, probabilities: c.probabilities(), u: 1, v: 0) == 0, "worth less than the lowest bid")
    }
}
