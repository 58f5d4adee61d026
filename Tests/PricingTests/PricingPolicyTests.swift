import Common
import Events
import Testing

@testable import Pricing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Policies on simulated Bernoulli demand with a known optimum (the studies; the
/// benchmark compares against MABWiser).
@Suite struct PricingPolicyTests {
    let seeds: [UInt64] = [1, 2, 3, 4, 5]
    let periods = 10_000

    @Test func thompsonRegretOnThePapersInstanceIsBelowAFixedPriceAndEpsilonGreedyOnEverySeed() throws {
        // No stock limit: the best price is 29.9 (23.92 per customer), then 34.9 (20.94).
        // (On a ladder of 10 with a flat-topped demand curve, per-point Thompson sampling is
        // no better than ε-greedy at 10,000 customers: learning each point alone is slow;
        // a parametric demand model shares what neighbouring prices say.)
        let market = BernoulliMarket(ladder: paperLadder, conversion: paperDemand)
        let thompson = try PricingPolicy(strategy: .thompson, propensityDraws: 1)
        let epsilon = try PricingPolicy(strategy: .epsilonGreedy(epsilon: 0.1))
        for seed in seeds.prefix(3) {
            let ts = market.run(thompson, periods: periods, seed: seed).pseudoRegret
            let eg = market.run(epsilon, periods: periods, seed: seed).pseudoRegret
            // The price a shop might fix: the second of the ladder (34.9).
            let fixed = market.run(thompson, periods: periods, allowed: [1], seed: seed).pseudoRegret
            #expect(ts < eg / 2, "seed \(seed): Thompson \(ts) against ε-greedy \(eg)")
            #expect(ts < fixed / 10, "seed \(seed): Thompson \(ts) against the fixed price \(fixed)")
        }
    }

    @Test(arguments: [0.25, 0.5])
    func inventoryPlansReachTheLinearProgramsBoundAndBeatInventoryBlindThompson(stockShare: Double) throws {
        let market = BernoulliMarket(ladder: paperLadder, conversion: paperDemand)
        let stock = Int(stockShare * Double(periods))
        let bound = Double(periods) * PricingPolicy.bound(values: paperLadder.prices.map(\.units), conversion: paperDemand, rate: stockShare)
        let resolving = try PricingPolicy(strategy: .inventoryPlan(resolving: true), propensityDraws: 1)
        let fixed = try PricingPolicy(strategy: .inventoryPlan(resolving: false), propensityDraws: 1)
        let blind = try PricingPolicy(strategy: .thompson, propensityDraws: 1)
        for seed in seeds.prefix(3) {
            let r = market.run(resolving, periods: periods, stock: stock, seed: seed)
            let f = market.run(fixed, periods: periods, stock: stock, seed: seed)
            let b = market.run(blind, periods: periods, stock: stock, seed: seed)
            #expect(r.sales <= stock && f.sales <= stock && b.sales <= stock)
            #expect(r.value / bound >= 0.98, "seed \(seed): re-solving plan \(r.value / bound) of the bound")
            #expect(f.value / bound >= 0.95, "seed \(seed): fixed plan \(f.value / bound) of the bound")
            #expect(r.value > b.value && f.value > b.value, "seed \(seed): plans \(r.value), \(f.value) against blind Thompson \(b.value)")
            #expect(b.value / bound < 0.9, "seed \(seed): blind Thompson \(b.value / bound) of the bound")
        }
    }

    @Test func discountedThompsonRecoversAfterAnAbruptChangeInDemand() throws {
        // Halfway, demand at the low prices collapses: the best price moves from 29.9 to 44.9.
        let market = BernoulliMarket(ladder: paperLadder, conversion: paperDemand, changeAt: periods / 2, changedConversion: [0.1, 0.15, 0.2, 0.3])
        let policy = try PricingPolicy(strategy: .thompson, propensityDraws: 1)
        for seed in seeds.prefix(3) {
            let tail = periods * 3 / 4
            let discounted = market.run(policy, periods: periods, discount: 0.999, seed: seed, tailFrom: tail).tailShare
            let plain = market.run(policy, periods: periods, seed: seed, tailFrom: tail).tailShare
            #expect(discounted >= 0.9, "seed \(seed): discounted \(discounted) of the best in the last quarter")
            #expect(discounted > plain + 0.5, "seed \(seed): discounted \(discounted) against undiscounted \(plain)")
        }
    }

    @Test(arguments: [PricingStrategy.thompson, .epsilonGreedy(epsilon: 0.2), .inventoryPlan(resolving: true)])
    func propensitiesMatchHowOftenEachAnswerIsGiven(strategy: PricingStrategy) throws {
        var demand = PriceDemand(points: 4)
        var market = SeededRandom(seed: 11)
        for t in 0..<120 { demand.learn(point: t % 4, purchased: market.unit() < paperDemand[t % 4]) }
        let policy = try PricingPolicy(strategy: strategy, propensityDraws: 200)
        let inventory = Inventory(remaining: 300, periodsLeft: 1_000, initialRate: 0.3)
        let n = 2_000
        var counts = [Int?: Int](), reported = [Int?: Double]()
        for i in 0..<n {
            var random = SeededRandom(decisionID: "d-\(i)")
            let d = policy.decide(ladder: paperLadder, demand: demand, allowed: [0, 1, 2, 3], inventory: inventory, random: &random)
            counts[d.point, default: 0] += 1
            reported[d.point, default: 0] += d.propensity
        }
        for (point, c) in counts where c >= 100 {
            let frequency = Double(c) / Double(n)
            let mean = reported[point]! / Double(c)
            #expect(abs(frequency - mean) < 0.03, "\(strategy) \(point.map(String.init) ?? "withheld"): chosen \(frequency), propensity \(mean)")
        }
        #expect(counts.count >= 2, "\(strategy) explored: \(counts)")

        // The same from a table made once for the state, as a view does.
        var tableRandom = SeededRandom(seed: 77)
        let table = policy.answerTable(ladder: paperLadder, demand: demand, allowed: [0, 1, 2, 3], inventory: inventory, draws: 20_000, random: &tableRandom)
        #expect(abs(table.probabilities.reduce(0, +) - 1) < 1e-9)
        var tableCounts = [Int?: Int]()
        for i in 0..<n {
            var random = SeededRandom(decisionID: "t-\(i)")
            let d = policy.decide(ladder: paperLadder, demand: demand, allowed: [0, 1, 2, 3], inventory: inventory, table: table, random: &random)
            tableCounts[d.point, default: 0] += 1
            let position = d.point ?? 4
            #expect(abs(d.propensity - table.probabilities[position]) < 0.01)
        }
        for (point, c) in tableCounts where c >= 100 {
            #expect(abs(Double(c) / Double(n) - table.probabilities[point ?? 4]) < 0.03, "\(strategy) \(point.map(String.init) ?? "withheld") from the table")
        }
    }

    @Test func sameDecisionIDAndStateGiveTheSamePrice() throws {
        var demand = PriceDemand(points: 4)
        for t in 0..<40 { demand.learn(point: t % 4, purchased: t % 3 == 0) }
        for strategy in [PricingStrategy.thompson, .epsilonGreedy(epsilon: 0.5), .inventoryPlan(resolving: true)] {
            let policy = try PricingPolicy(strategy: strategy, propensityDraws: 50)
            let inventory = Inventory(remaining: 10, periodsLeft: 40, initialRate: 0.25)
            for id in ["a", "b", "c", "d", "e", "f"] {
                var r1 = SeededRandom(decisionID: id), r2 = SeededRandom(decisionID: id)
                let a = policy.decide(ladder: paperLadder, demand: demand, allowed: [0, 1, 2, 3], inventory: inventory, random: &r1)
                let b = policy.decide(ladder: paperLadder, demand: demand, allowed: [0, 1, 2, 3], inventory: inventory, random: &r2)
                #expect(a == b)
            }
        }
    }

    @Test func noStockLeftMeansNoPrice() throws {
        let policy = try PricingPolicy(strategy: .thompson)
        var random = SeededRandom(seed: 1)
        let d = policy.decide(ladder: paperLadder, demand: PriceDemand(points: 4), allowed: [0, 1, 2, 3], inventory: Inventory(remaining: 0.5, periodsLeft: 10, initialRate: 0.1), random: &random)
        #expect(d.point == nil && d.propensity == 1)
        #expect(throws: PricingError.self) { try PricingPolicy(strategy: .epsilonGreedy(epsilon: 1.5)) }
        #expect(throws: PricingError.self) { try PricingPolicy(strategy: .thompson, propensityDraws: 0) }
    }
}

@Suite struct LogitPricingTests {
    @Test func thompsonOnLogitDemandBeatsPerPointThompsonOnASmoothLadderOfTen() throws {
        // Demand σ(0.5 − 1.2·(p − 30)/10) on 20–40 with a unit cost of 12, on margin: a flat
        // top (the best point and its neighbours within 4 %), where per-point counts learn
        // each price alone.
        let prices = (0..<10).map { 20 + 20 * Double($0) / 9 }
        let ladder = try PriceLadder(prices: prices.map { money(($0 * 100).rounded() / 100) }, unitCost: money(12), currency: "USD")
        let truth = ladder.prices.map { 1 / (1 + exp(-(0.5 - 1.2 * ($0.units - 30) / 10))) }
        let market = BernoulliMarket(ladder: ladder, conversion: truth)
        let policy = try PricingPolicy(strategy: .thompson, objective: .margin, propensityDraws: 1)
        let epsilon = try PricingPolicy(strategy: .epsilonGreedy(epsilon: 0.1), objective: .margin)
        // Regret varies a lot from seed to seed (ε-greedy beats logit on seed 4), so the
        // claim is on the mean over five seeds, with logit ahead of per point on each.
        var logit: [Double] = [], perPoint: [Double] = [], eg: [Double] = []
        for seed: UInt64 in [1, 2, 3, 4, 5] {
            logit.append(market.run(policy, demand: LogitDemand(prices: ladder.prices.map(\.units)), periods: 10_000, seed: seed).pseudoRegret)
            perPoint.append(market.run(policy, periods: 10_000, seed: seed).pseudoRegret)
            eg.append(market.run(epsilon, periods: 10_000, seed: seed).pseudoRegret)
            #expect(logit.last! < perPoint.last!, "seed \(seed): logit \(logit.last!) against per point \(perPoint.last!)")
        }
        let mean = { (v: [Double]) in v.reduce(0, +) / Double(v.count) }
        #expect(mean(logit) < 0.75 * mean(perPoint), "logit \(logit) against per point \(perPoint)")
        #expect(mean(logit) < 0.75 * mean(eg), "logit \(logit) against ε-greedy \(eg)")
    }
}

extension LogitPricingTests {
    @Test func discountedLogitDemandFollowsAnAbruptChangeInElasticity() throws {
        // Halfway, customers become far less sensitive to price: the best margin moves up the ladder.
        let prices = (0..<10).map { 20 + 20 * Double($0) / 9 }
        let ladder = try PriceLadder(prices: prices.map { money(($0 * 100).rounded() / 100) }, unitCost: money(12), currency: "USD")
        let z = ladder.prices.map { ($0.units - 30) / 10 }
        let before = z.map { 1 / (1 + exp(-(0.5 - 1.2 * $0))) }
        let after = z.map { 1 / (1 + exp(-(-0.3 - 0.2 * $0))) }
        let market = BernoulliMarket(ladder: ladder, conversion: before, changeAt: 5_000, changedConversion: after)
        let policy = try PricingPolicy(strategy: .thompson, objective: .margin, propensityDraws: 1)
        for seed: UInt64 in [1, 2, 3] {
            let units = ladder.prices.map(\.units)
            let discounted = market.run(policy, demand: LogitDemand(prices: units, discount: 0.999), periods: 10_000, seed: seed, tailFrom: 7_500).tailShare
            let plain = market.run(policy, demand: LogitDemand(prices: units), periods: 10_000, seed: seed, tailFrom: 7_500).tailShare
            #expect(discounted >= 0.95, "seed \(seed): discounted \(discounted) of the best in the last quarter")
            #expect(discounted > plain + 0.1, "seed \(seed): discounted \(discounted) against undiscounted \(plain)")
        }
    }
}

@Suite struct DynamicProgramTests {
    @Test func stockValuesEqualABruteForceTableOnSmallInstances() {
        var random = SeededRandom(seed: 4)
        for _ in 0..<20 {
            let k = 1 + Int(random.next() % 4)
            let values = (0..<k).map { _ in 1 + 20 * random.unit() }
            let conversion = (0..<k).map { _ in random.unit() }
            let customers = 1 + Int(random.next() % 30), units = Int(random.next() % 12)
            // V[t][s], t customers and s units left.
            var v = [[Double]](repeating: [Double](repeating: 0, count: units + 1), count: customers)
            for t in 1..<customers {
                for s in 1...max(1, units) where s <= units {
                    var best = v[t - 1][s]
                    for j in 0..<k { best = max(best, conversion[j] * (values[j] + v[t - 1][s - 1]) + (1 - conversion[j]) * v[t - 1][s]) }
                    v[t][s] = best
                }
            }
            let plan = StockValues.solve(values: values, conversion: conversion, customers: customers, units: units, episode: customers, rows: customers)
            for left in 1...customers {
                for s in 1...max(1, units) where s <= units {
                    let expected = v[left - 1][s] - v[left - 1][s - 1]
                    #expect(abs(plan.opportunityCost(units: s, customersLeft: left) - expected) < 1e-9, "\(customers) customers, \(units) units: at \(left), \(s)")
                }
            }
            #expect(plan.answer(allowed: Array(0..<k), units: 0, customersLeft: customers) == nil)
        }
    }

    @Test(arguments: [0.25, 0.5])
    func posteriorSamplingDynamicProgramReachesTheBoundAndBeatsBlindThompson(stockShare: Double) throws {
        let periods = 10_000
        let market = BernoulliMarket(ladder: paperLadder, conversion: paperDemand)
        let stock = Int(stockShare * Double(periods))
        let bound = Double(periods) * PricingPolicy.bound(values: paperLadder.prices.map(\.units), conversion: paperDemand, rate: stockShare)
        let dp = try PricingPolicy(strategy: .dynamicProgram(episode: 0.1))
        let blind = try PricingPolicy(strategy: .thompson, propensityDraws: 1)
        for seed: UInt64 in [1, 2] {
            let r = market.run(dp, periods: periods, stock: stock, seed: seed)
            let b = market.run(blind, periods: periods, stock: stock, seed: seed)
            #expect(r.sales <= stock)
            #expect(r.value / bound >= 0.98, "seed \(seed): dynamic program \(r.value / bound) of the bound")
            #expect(r.value > b.value, "seed \(seed): \(r.value) against blind Thompson \(b.value)")
        }
        #expect(throws: PricingError.self) { try PricingPolicy(strategy: .dynamicProgram(episode: 0)) }
    }

    @Test(arguments: [0.25, 0.5])
    func dynamicProgramAsServedFromScaledDrawsPerPublishedStateReachesTheBoundAndBeatsBlindThompson(stockShare: Double) throws {
        let periods = 10_000
        let market = BernoulliMarket(ladder: paperLadder, conversion: paperDemand)
        let stock = Int(stockShare * Double(periods))
        let bound = Double(periods) * PricingPolicy.bound(values: paperLadder.prices.map(\.units), conversion: paperDemand, rate: stockShare)
        // Eight draws per published state of 250 customers, each solved within 100,000
        // cell-points: the whole problem (10,000 customers × 2,500 or 5,000 units × 4) is
        // solved scaled down by 32 or more at first.
        #expect(StockValueDraws.scale(customers: periods, units: stock, points: 4, budget: 100_000) >= 32)
        let dp = try PricingPolicy(strategy: .dynamicProgram(episode: 0.1), propensityDraws: 8)
        let blind = try PricingPolicy(strategy: .thompson, propensityDraws: 1)
        for seed: UInt64 in [1, 2] {
            let r = market.run(dp, demand: PriceDemand(points: 4), periods: periods, stock: stock, seed: seed, samplesEvery: 250, budget: 100_000)
            let b = market.run(blind, periods: periods, stock: stock, seed: seed)
            #expect(r.plans == periods / 250)
            #expect(r.sales <= stock)
            #expect(r.value / bound >= 0.98, "seed \(seed): served dynamic program \(r.value / bound) of the bound")
            #expect(r.value > b.value, "seed \(seed): \(r.value) against blind Thompson \(b.value)")
        }
    }

    @Test func scaledDownProgramValuesAUnitAsTheWholeProgramDoes() {
        let values = paperLadder.prices.map(\.units)
        for (customers, units) in [(4_000, 1_000), (4_000, 2_000), (3_000, 200)] {
            let whole = StockValues.solve(values: values, conversion: paperDemand, customers: customers, units: units, episode: 1, rows: 1)
                .opportunityCost(units: units, customersLeft: customers)
            for k in [4, 10] {
                let (t, s) = StockValueDraws.scaled(customers: customers, units: units, by: k)
                let scaled = StockValues.solve(values: values, conversion: paperDemand, customers: t, units: s, episode: 1, rows: 1)
                    .opportunityCost(units: s, customersLeft: t)
                #expect(abs(scaled - whole) <= 0.03 * whole, "\(customers) customers, \(units) units, scaled by \(k): \(scaled) against \(whole)")
            }
        }
        // Within the budget nothing is scaled; beyond it the scaled problem fits it.
        #expect(StockValueDraws.scale(customers: 100, units: 50, points: 4, budget: 100_000) == 1)
        for (customers, units) in [(10_000_000, 3), (1_000_000, 400_000), (50_000, 50_000)] {
            let k = StockValueDraws.scale(customers: customers, units: units, points: 10, budget: 250_000)
            let (t, s) = StockValueDraws.scaled(customers: customers, units: units, by: k)
            #expect((t - 1) * min(s, t) * 10 <= 250_000 && k > 1)
            let (t1, s1) = StockValueDraws.scaled(customers: customers, units: units, by: k - 1)
            #expect((t1 - 1) * min(s1, t1) * 10 > 250_000, "\(k) is the smallest scale")
        }
    }

    @Test func servedDynamicProgramPropensitiesAreTheShareOfDrawsGivingTheAnswer() throws {
        var demand = PriceDemand(points: 4)
        var market = SeededRandom(seed: 5)
        for t in 0..<80 { demand.learn(point: t % 4, purchased: market.unit() < paperDemand[t % 4]) }
        let policy = try PricingPolicy(strategy: .dynamicProgram(episode: 0.1), propensityDraws: 40)
        var drawing = SeededRandom(seed: 9)
        let samples = StockValueDraws.sample(
            values: paperLadder.prices.map(\.units), demand: demand, customers: 2_000, units: 400, draws: 40, budget: StockValueDraws.budget, random: &drawing)
        let inventory = Inventory(remaining: 400, periodsLeft: 2_000, initialRate: 0.2)
        let allowed = [0, 1, 2, 3]
        let n = 4_000
        var counts = [Int?: Int]()
        for i in 0..<n {
            var random = SeededRandom(decisionID: "s-\(i)")
            let d = policy.decide(ladder: paperLadder, demand: demand, allowed: allowed, inventory: inventory, samples: samples, random: &random)
            counts[d.point, default: 0] += 1
            let share = Double((0..<40).count { j in samples.answer(draw: j, allowed: allowed).map { allowed[$0] } == d.point }) / 40
            #expect(d.propensity == share && d.propensityDraws == nil)
        }
        for (point, c) in counts where c >= 200 {
            let share = Double((0..<40).count { j in samples.answer(draw: j, allowed: allowed).map { allowed[$0] } == point }) / 40
            #expect(abs(Double(c) / Double(n) - share) < 0.03, "\(point.map(String.init) ?? "withheld"): chosen \(Double(c) / Double(n)), share \(share)")
        }
        #expect(counts.count >= 2, "the draws disagree at this little knowledge: \(counts)")
    }
}
