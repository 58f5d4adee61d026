import Common
import Events
import StateFormat
import Testing

@testable import Pricing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func money(_ units: Double) -> Money { Money(units: units)! }

/// Ferreira, Simchi-Levi and Wang's single-product instance.
let paperLadder = try! PriceLadder(prices: [29.9, 34.9, 39.9, 44.9].map(money), currency: "USD")
let paperDemand = [0.8, 0.6, 0.3, 0.1]

@Suite struct LinearProgramTests {
    @Test func solvesASmallProgramToItsKnownVertex() {
        // max 3x + 2y, x + y ≤ 4, x + 3y ≤ 6: optimum at (4, 0).
        let (x, v) = LinearProgram(objective: [3, 2], constraints: [[1, 1], [1, 3]], bounds: [4, 6]).solve()
        #expect(abs(v - 12) < 1e-12)
        #expect(abs(x[0] - 4) < 1e-12 && abs(x[1]) < 1e-12)
        // max x + y, x + 2y ≤ 4, 3x + y ≤ 6: optimum at (1.6, 1.2).
        let (x2, v2) = LinearProgram(objective: [1, 1], constraints: [[1, 2], [3, 1]], bounds: [4, 6]).solve()
        #expect(abs(v2 - 2.8) < 1e-12 && abs(x2[0] - 1.6) < 1e-12 && abs(x2[1] - 1.2) < 1e-12)
    }

    @Test func degenerateProgramWithNoCapacityEndsAtTheOrigin() {
        let (x, v) = LinearProgram(objective: [5, 7, 1], constraints: [[1, 1, 1], [0.8, 0.6, 0.3]], bounds: [1, 0]).solve()
        #expect(v == 0)
        #expect(x.allSatisfy { $0 == 0 })
    }

    @Test func paperInstanceBoundMixesTheTwoPricesAroundTheStockRate() {
        let values = paperLadder.prices.map(\.units)
        // Stock for a quarter of the customers: 75 % at 39.9, 25 % at 44.9 (worked by hand).
        #expect(abs(PricingPolicy.bound(values: values, conversion: paperDemand, rate: 0.25) - 10.1) < 1e-9)
        let quarter = PricingPolicy.plan(values: values, conversion: paperDemand, rate: 0.25)
        #expect(abs(quarter[2] - 0.75) < 1e-9 && abs(quarter[3] - 0.25) < 1e-9)
        // Half: two thirds at 34.9, one third at 39.9.
        #expect(abs(PricingPolicy.bound(values: values, conversion: paperDemand, rate: 0.5) - 17.95) < 1e-9)
        // Without a limit: the myopic best, 29.9 at 0.8.
        #expect(abs(PricingPolicy.bound(values: values, conversion: paperDemand, rate: nil) - 23.92) < 1e-9)
    }
}

@Suite struct PriceGuardrailTests {
    let ladder = try! PriceLadder.range(from: money(9.49), to: money(12.99), step: money(0.25), unitCost: money(6), currency: "EUR")

    @Test func ladderRefusesWhatIsNotALadder() {
        #expect(throws: PricingError.self) { try PriceLadder(prices: [], currency: "EUR") }
        #expect(throws: PricingError.self) { try PriceLadder(prices: [money(2), money(1)], currency: "EUR") }
        #expect(throws: PricingError.self) { try PriceLadder(prices: [money(1), money(1)], currency: "EUR") }
        #expect(throws: PricingError.self) { try PriceLadder(prices: [money(1)], currency: "euro") }
        #expect(throws: PricingError.self) { try PriceLadder.range(from: money(1), to: money(2), step: .zero, currency: "EUR") }
        #expect(throws: PricingError.self) { try PriceLadder.range(from: money(0), to: money(100), step: money(0.01), currency: "EUR") }
        #expect(ladder.count == 15)
        #expect(ladder.point(of: money(12.99)) == 14)
        #expect(ladder.point(of: money(13)) == nil)
    }

    @Test func minimumAndMaximumRemoveThePricesOutsideThem() {
        let g = PriceGuardrails(minimum: money(10), maximum: money(12))
        let (points, bound) = g.allowed(ladder, previous: nil)
        #expect(points.map { ladder.prices[$0] } == [10.24, 10.49, 10.74, 10.99, 11.24, 11.49, 11.74, 11.99].map(money))
        #expect(bound == [.minimum, .maximum])
        #expect(g.violations(money(9.99), previous: nil) == [.minimum])
        #expect(g.violations(money(12.24), previous: nil) == [.maximum])
    }

    @Test func endingsKeepOnlyPricesEndingAsConfigured() {
        let g = PriceGuardrails(endings: [990_000])
        let prices = g.allowed(ladder, previous: nil).points.map { ladder.prices[$0] }
        #expect(prices == [9.99, 10.99, 11.99, 12.99].map(money))
        #expect(g.violations(money(10.49), previous: nil) == [.ending])
    }

    @Test func largestChangeIsMeasuredFromThePreviousPeriodsPrice() {
        let g = PriceGuardrails(maximumChange: 0.05)
        let (points, bound) = g.allowed(ladder, previous: money(10.99))
        // 5 % of 10.99 is 0.5495: 10.49 … 11.49.
        #expect(points.map { ladder.prices[$0] } == [10.49, 10.74, 10.99, 11.24, 11.49].map(money))
        #expect(bound == [.maximumChange])
        #expect(g.violations(money(11.74), previous: money(10.99)) == [.maximumChange])
        // A previous price the rails no longer reach: only the nearest fixed point, from which the answer moves on.
        let narrowed = PriceGuardrails(maximum: money(10), maximumChange: 0.01)
        #expect(narrowed.allowed(ladder, previous: money(12.99)).points == [ladder.point(of: money(9.99))!])
    }

    @Test func contradictoryOrEmptyGuardrailsAreRefusedWithTheReason() throws {
        func refusal(_ g: PriceGuardrails) -> String? {
            do { try g.validate(ladder) } catch { return error.message }
            return nil
        }
        #expect(refusal(PriceGuardrails(minimum: money(12), maximum: money(11)))?.contains("above the maximum") == true)
        #expect(refusal(PriceGuardrails(minimum: money(20)))?.contains("no price of the ladder") == true)
        #expect(refusal(PriceGuardrails(endings: [500_000]))?.contains("no price of the ladder") == true)
        #expect(refusal(PriceGuardrails(endings: [1_000_000]))?.contains("micro-units") == true)
        #expect(refusal(PriceGuardrails(maximumChange: 0))?.contains("positive fraction") == true)
        #expect(refusal(PriceGuardrails(maximumChange: .nan))?.contains("positive fraction") == true)
        #expect(refusal(PriceGuardrails(sameUserSeconds: -1))?.contains("not be negative") == true)
        try PriceGuardrails(minimum: money(10), maximum: money(12), maximumChange: 0.1, endings: [990_000, 490_000], sameUserSeconds: 3600).validate(ladder)
    }

    @Test func everyAnswerOfARandomisedRunKeepsEveryGuardrail() throws {
        var random = SeededRandom(seed: 7)
        var market = SeededRandom(seed: 8)
        let endings: [Set<Int64>] = [[], [990_000], [490_000, 990_000], [240_000, 740_000]]
        var answers = 0
        for trial in 0..<40 {
            let lo = ladder.prices[Int(random.next() % 8)]
            let hi = ladder.prices[7 + Int(random.next() % 8)]
            let g = PriceGuardrails(
                minimum: random.unit() < 0.7 ? lo : nil, maximum: random.unit() < 0.7 ? hi : nil,
                maximumChange: random.unit() < 0.7 ? 0.01 + 0.1 * random.unit() : nil,
                endings: endings[trial % endings.count])
            guard (try? g.validate(ladder)) != nil else { continue }
            let strategies: [PricingStrategy] = [.thompson, .epsilonGreedy(epsilon: 0.3), .inventoryPlan(resolving: true)]
            let policy = try PricingPolicy(strategy: strategies[trial % 3], objective: trial % 2 == 0 ? .revenue : .margin, propensityDraws: 4)
            var demand = PriceDemand(points: ladder.count)
            var previous: Money? = nil
            for t in 0..<250 {
                let (points, bound) = g.allowed(ladder, previous: previous)
                let inventory = Inventory(remaining: 100, periodsLeft: Double(250 - t), initialRate: 0.4)
                let d = policy.decide(ladder: ladder, demand: demand, allowed: points, boundBy: bound, inventory: inventory, random: &random)
                guard let k = d.point else { continue }
                answers += 1
                #expect(g.violations(ladder.prices[k], previous: previous).isEmpty, "trial \(trial) period \(t): \(ladder.prices[k]) after \(previous.map(\.description) ?? "none") breaks \(g)")
                #expect(d.propensity > 0 && d.propensity <= 1)
                demand.learn(point: k, purchased: market.unit() < 1.2 - ladder.prices[k].units / 12)
                previous = ladder.prices[k]
            }
        }
        #expect(answers > 5_000)
    }

    @Test func aUserKeepsTheQuotedPriceWhileTheGuardrailsAllowIt() throws {
        let policy = try PricingPolicy(strategy: .thompson)
        var random = SeededRandom(seed: 1)
        let demand = PriceDemand(points: ladder.count)
        let all = Array(ladder.prices.indices)
        let d = policy.decide(ladder: ladder, demand: demand, allowed: all, quoted: 3, random: &random)
        #expect(d.point == 3 && d.propensity == 1 && d.boundBy == [.sameUser])
        // A quote the guardrails no longer allow is priced afresh among what they allow.
        let fresh = policy.decide(ladder: ladder, demand: demand, allowed: [5, 6], quoted: 3, random: &random)
        #expect(fresh.point == 5 || fresh.point == 6)
        #expect(!fresh.boundBy.contains(.sameUser))
    }
}

@Suite struct PriceDemandTests {
    @Test func betaQuantilesMatchClosedForms() {
        for p in [0.05, 0.25, 0.5, 0.9, 0.95] {
            #expect(abs(BetaDistribution.quantile(p, 1, 1) - p) < 1e-9)
            #expect(abs(BetaDistribution.quantile(p, 2, 1) - p.squareRoot()) < 1e-9)  // I_x(2,1) = x²
            #expect(abs(BetaDistribution.quantile(p, 1, 3) - (1 - cbrt(1 - p))) < 1e-9)  // 1 − (1 − x)³
        }
        // Beta(30, 70): mean 0.3, central 90 % roughly ±1.645 sd (0.0456).
        let low = BetaDistribution.quantile(0.05, 30, 70), high = BetaDistribution.quantile(0.95, 30, 70)
        #expect(abs(low - 0.2257) < 0.005 && abs(high - 0.3771) < 0.005)
    }

    @Test func preparedIntervalsEqualComputedOnesAndLearningDropsThem() {
        var d = PriceDemand(points: 3)
        for i in 0..<300 { d.learn(point: i % 3, purchased: i % 7 == 0) }
        let view = d.prepared(level: 0.9)
        for k in 0..<3 { #expect(view.conversion(k, level: 0.9) == d.conversion(k, level: 0.9)) }
        var next = view
        next.learn(point: 0, purchased: true)
        #expect(next.conversion(0, level: 0.9) != view.conversion(0, level: 0.9))
        #expect(next.conversion(0, level: 0.9) == PriceDemand(points: 3).merging(d, plus: (0, true)).conversion(0, level: 0.9))
    }

    @Test func conversionEstimateCarriesItsInterval() {
        var d = PriceDemand(points: 2)
        for i in 0..<100 { d.learn(point: 0, purchased: i % 4 == 0) }
        let e = d.conversion(0)
        #expect(abs(e.mean - 26.0 / 102) < 1e-12)
        #expect(e.low < e.mean && e.mean < e.high && e.high - e.low < 0.15)
        #expect(d.conversion(1).rounded() == Estimate(mean: 0.5, low: 0.05, high: 0.95))
    }

    @Test func demandShardedByUserThenMergedEqualsSequentialBitForBit() throws {
        var sequential = PriceDemand(points: 5)
        var shards = [PriceDemand](repeating: PriceDemand(points: 5), count: 3)
        var random = SeededRandom(seed: 3)
        for i in 0..<3_000 {
            let k = Int(random.next() % 5)
            let bought = random.unit() < 0.2 * Double(5 - k) / 5
            sequential.learn(point: k, purchased: bought)
            shards[i % 3].learn(point: k, purchased: bought)
        }
        var merged = shards[2]
        merged.merge(shards[0])
        merged.merge(shards[1])
        var a = StateWriter(), b = StateWriter()
        sequential.encode(to: &a)
        merged.encode(to: &b)
        #expect(a.bytes == b.bytes)
        var r = StateReader(a.bytes)
        #expect(try PriceDemand(from: &r, version: PriceDemand.stateVersion) == sequential)
    }
}

extension PriceDemand {
    /// `other` merged in, then one more outcome.
    func merging(_ other: PriceDemand, plus outcome: (Int, Bool)) -> PriceDemand {
        var m = self
        m.merge(other)
        m.learn(point: outcome.0, purchased: outcome.1)
        return m
    }
}

extension Estimate {
    /// To four decimals, for comparing intervals computed by bisection.
    func rounded() -> Estimate {
        func r(_ x: Double) -> Double { (x * 10_000).rounded() / 10_000 }
        return Estimate(mean: r(mean), low: r(low), high: r(high))
    }
}


@Suite struct LogitDemandTests {
    /// Logit demand with a known truth: P(buy | p) = σ(a + b·(p − 30)/10) on a ladder 20–40.
    let prices = (0..<10).map { 20 + 20 * Double($0) / 9 }
    func truth(_ p: Double, _ a: Double = 0.2, _ b: Double = -1.5) -> Double { 1 / (1 + exp(-(a + b * (p - 30) / 10))) }

    @Test func learnsTheTrueCoefficientsAndElasticityFromCustomers() {
        var model = LogitDemand(prices: prices)
        var random = SeededRandom(seed: 21)
        for t in 0..<20_000 {
            let k = t % prices.count
            model.learn(point: k, context: [], purchased: random.unit() < truth(prices[k]))
        }
        // The model's centre is 30 and its scale 10: its coefficients are (a, b).
        #expect(abs(model.mean[0] - 0.2) < 0.05, "intercept \(model.mean[0])")
        #expect(abs(model.mean[1] + 1.5) < 0.08, "slope \(model.mean[1])")
        for k in [0, 4, 9] {
            let d = truth(prices[k])
            let trueElasticity = -1.5 / 10 * prices[k] * (1 - d)
            #expect(abs(model.elasticity(k) - trueElasticity) / abs(trueElasticity) < 0.08, "point \(k): \(model.elasticity(k)) against \(trueElasticity)")
            let e = model.conversion(k, context: [], level: 0.9)
            #expect(e.low < d && d < e.high, "point \(k): \(d) outside \(e)")
            #expect(e.high - e.low < 0.06)
        }
    }

    @Test func contextFeaturesShiftDemand() {
        var model = LogitDemand(prices: prices, contextCount: 1)
        var random = SeededRandom(seed: 5)
        for t in 0..<20_000 {
            let k = t % prices.count
            let loyal = Double(t % 2)
            model.learn(point: k, context: [loyal], purchased: random.unit() < truth(prices[k], 0.2 + loyal))
        }
        #expect(abs(model.mean[2] - 1) < 0.12, "context coefficient \(model.mean[2])")
        #expect(model.means([3], context: [1])[0] > model.means([3], context: [0])[0] + 0.15)
    }

    @Test func shardsMergedAgreeWithOneSequentialModel() throws {
        var sequential = LogitDemand(prices: prices)
        var shards = [LogitDemand](repeating: LogitDemand(prices: prices), count: 3)
        var random = SeededRandom(seed: 9)
        for t in 0..<6_000 {
            let k = Int(random.next() % 10)
            let bought = random.unit() < truth(prices[k])
            sequential.learn(point: k, context: [], purchased: bought)
            shards[t % 3].learn(point: k, context: [], purchased: bought)
        }
        var merged = shards[0]
        merged.merge(shards[1])
        merged.merge(shards[2])
        // Not bit for bit (the Laplace steps depend on the order), but the same posterior.
        #expect(merged.outcomes == sequential.outcomes)
        for i in 0..<2 { #expect(abs(merged.mean[i] - sequential.mean[i]) < 0.02, "coefficient \(i): \(merged.mean[i]) against \(sequential.mean[i])") }
        for i in merged.precision.indices { #expect(abs(merged.precision[i] - sequential.precision[i]) / max(1, abs(sequential.precision[i])) < 0.05) }
        var w = StateWriter()
        merged.encode(to: &w)
        var r = StateReader(w.bytes)
        #expect(try LogitDemand(from: &r, version: LogitDemand.stateVersion) == merged)
    }

    @Test func badContextTeachesNothingAndADamagedStateIsRefused() throws {
        var model = LogitDemand(prices: prices, contextCount: 1)
        model.learn(point: 2, context: [.nan], purchased: true)
        model.learn(point: 2, context: [.infinity], purchased: false)
        #expect(model == LogitDemand(prices: prices, contextCount: 1))
        model.learn(point: 2, context: [1], purchased: true)
        #expect(model.outcomes == 1)
        // A precision that is not positive definite (a sign flipped on the diagonal).
        var w = StateWriter()
        model.encode(to: &w)
        var bytes = w.bytes
        let diagonal = bytes.count - 8 * (3 + 9)  // the precision's first entry: 9 entries, then 3 of the mean
        var flipped = StateWriter()
        flipped.write(-Double(bitPattern: bytes[diagonal..<(diagonal + 8)].reversed().reduce(0) { $0 << 8 | UInt64($1) }))
        bytes.replaceSubrange(diagonal..<(diagonal + 8), with: flipped.bytes)
        var r = StateReader(bytes)
        #expect(throws: StateFormatError.self) { try LogitDemand(from: &r, version: LogitDemand.stateVersion) }
    }

    @Test func posteriorDrawsSpreadAsTheCovarianceSays() {
        var model = LogitDemand(prices: prices)
        var market = SeededRandom(seed: 2)
        for t in 0..<2_000 { model.learn(point: t % 10, context: [], purchased: market.unit() < truth(prices[t % 10])) }
        var random = SeededRandom(seed: 3)
        let n = 4_000
        var sum = [0.0, 0.0], squares = [0.0, 0.0]
        for _ in 0..<n {
            let theta = model.drawCoefficients(&random)
            for i in 0..<2 { sum[i] += theta[i]; squares[i] += theta[i] * theta[i] }
        }
        let covariance = (0..<2).map { i in model.solve((0..<2).map { $0 == i ? 1 : 0 })[i] }
        for i in 0..<2 {
            let m = sum[i] / Double(n)
            let v = squares[i] / Double(n) - m * m
            #expect(abs(m - model.mean[i]) < 4 * (covariance[i] / Double(n)).squareRoot())
            #expect(abs(v / covariance[i] - 1) < 0.1, "coefficient \(i): variance \(v) against \(covariance[i])")
        }
    }
}
