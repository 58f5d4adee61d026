import Common
import Foundation
import Testing

@testable import MarketingMix

/// ROI priors and lift tests: refused when they name what the data lacks, and when
/// given they move the posterior the way the evidence says.
@Suite struct CalibrationTests {
    static let settings = FitSettings(chains: 4, sampler: NUTSSettings(warmup: 500, draws: 500, targetAcceptance: 0.9), seed: 23)

    @Test func calibrationThatDoesNotMatchTheDataIsRefused() throws {
        let sim = try MixSimulation(weeks: 30, channels: 2, seed: 1)
        func refused(_ spec: MixSpecification, _ words: String) {
            do {
                _ = try MixModel(data: sim.data, specification: spec)
                Issue.record("accepted: \(words)")
            } catch {
                #expect(error.message.contains(words), "\(error.message)")
            }
        }
        refused(MixSpecification(roiPriors: ["radio": ROIPrior(median: 1, logSD: 0.5)]), "radio")
        refused(MixSpecification(roiPriors: ["ch0": ROIPrior(median: -1, logSD: 0.5)]), "positive")
        refused(MixSpecification(liftTests: [LiftTest(channel: "tv", first: "1", last: "2", lift: 1, standardError: 1)]), "tv")
        refused(MixSpecification(liftTests: [LiftTest(channel: "ch0", first: "1", last: "99", lift: 1, standardError: 1)]), "99")
        refused(MixSpecification(liftTests: [LiftTest(channel: "ch0", first: "5", last: "2", lift: 1, standardError: 1)]), "after")
        refused(MixSpecification(liftTests: [LiftTest(channel: "ch0", first: "1", last: "2", lift: 1, standardError: 0)]), "standard error")
        refused(MixSpecification(liftTests: [LiftTest(channel: "ch0", first: "1", last: "2", lift: 1, standardError: 1, geo: "north")]), "no geos")
    }

    /// A precise lift test on one channel narrows that channel's ROI interval and the
    /// interval still covers the truth; a confident ROI prior pulls the ROI to it.
    @Test func aLiftTestNarrowsTheROIAndAnROIPriorMovesIt() throws {
        let sim = try MixSimulation(weeks: 104, channels: 3, seed: 23)
        let plain = MixFit.fit(sim.model, settings: Self.settings)
        // The truth's contribution of ch1 over weeks 20…45, measured with a 5 % error.
        let model = sim.model
        let (_, series) = model.decomposition(sim.truth, workspace: MixModel.Workspace(model))
        let lift = series[1][20...45].reduce(0, +)
        var spec = model.specification
        spec.liftTests = [LiftTest(channel: "ch1", first: "20", last: "45", lift: lift, standardError: 0.05 * lift)]
        let calibrated = MixFit.fit(try MixModel(data: sim.data, specification: spec), settings: Self.settings)
        #expect(calibrated.problems.isEmpty, "\(calibrated.problems)")
        let truth = sim.trueEffects[1].roi
        let before = plain.channels[1].roi, after = calibrated.channels[1].roi
        #expect(after.contains(truth), "ROI \(truth) outside [\(after.lower), \(after.upper)]")
        #expect(after.upper - after.lower < 0.7 * (before.upper - before.lower), "width \(before.upper - before.lower) → \(after.upper - after.lower)")

        var prior = model.specification
        prior.roiPriors = ["ch2": ROIPrior(median: 2 * sim.trueEffects[2].roi, logSD: 0.03)]
        let pulled = MixFit.fit(try MixModel(data: sim.data, specification: prior), settings: Self.settings)
        let roi = pulled.channels[2].roi.mean
        #expect(abs(roi / (2 * sim.trueEffects[2].roi) - 1) < 0.1, "ROI \(roi), prior median \(2 * sim.trueEffects[2].roi)")
        #expect(abs(plain.channels[2].roi.mean / sim.trueEffects[2].roi - 1) < 0.5)
    }
}

/// The optimiser on response curves whose optimum is known in closed form, and its
/// refusals.
@Suite struct BudgetOptimiserTests {
    /// Two channels with responses E·s/(s + K): the optimum equalises E·K/(s + K)².
    @Test func theGreedyAllocationEqualisesMarginalReturns() {
        let a = ChannelEffect(effect: 100, adstock: 0.5, halfSaturation: 10, slope: 1, contribution: 0, roi: 0, marginalROI: 0)
        let b = ChannelEffect(effect: 60, adstock: 0.5, halfSaturation: 30, slope: 1, contribution: 0, roi: 0, marginalROI: 0)
        let budget = 50.0
        let spend = BudgetOptimiser.greedy([[a, b]], from: [0, 0], adding: budget, step: budget / 5000, limits: [0...100, 0...100])
        #expect(abs(spend[0] + spend[1] - budget) < 1e-9)
        func marginal(_ e: ChannelEffect, _ s: Double) -> Double { e.effect * e.halfSaturation / ((s + e.halfSaturation) * (s + e.halfSaturation)) }
        #expect(abs(marginal(a, spend[0]) / marginal(b, spend[1]) - 1) < 0.01, "\(spend)")
        // A binding bound: the first channel capped, the rest goes to the second.
        let capped = BudgetOptimiser.greedy([[a, b]], from: [0, 0], adding: budget, step: budget / 5000, limits: [0...5, 0...100])
        #expect(abs(capped[0] - 5) < 1e-9 && abs(capped[1] - 45) < 1e-9, "\(capped)")
    }

    @Test func aPlanBeatsTheCurrentMixAndRefusesImpossibleBudgets() throws {
        let sim = try MixSimulation(weeks: 60, channels: 3, seed: 23)
        let fit = MixFit.fit(sim.model, settings: FitSettings(chains: 2, sampler: NUTSSettings(warmup: 150, draws: 150, targetAcceptance: 0.9), seed: 3))
        let plan = try BudgetOptimiser.plan(fit)
        #expect(abs(plan.optimal.total - plan.current.total) < 1e-6 * plan.current.total)
        #expect(plan.optimal.expected.mean >= plan.current.expected.mean)
        #expect(plan.gain.mean >= 0)
        #expect(abs(plan.tenPercentMore.total - 1.1 * plan.optimal.total) < 1e-6 * plan.optimal.total)
        #expect(plan.tenPercentGain.mean > 0)
        for c in 0..<3 { #expect(plan.bounds[c].contains(plan.optimal.spend[c]) && plan.bounds[c].contains(plan.tenPercentMore.spend[c])) }
        // Any other mix of the same total within the bounds does no better (the posterior
        // mean responses are concave, so the greedy answer is the optimum).
        var random = SeededRandom(seed: 5)
        func expected(_ spend: [Double]) -> Double {
            fit.effects.reduce(0) { sum, e in sum + (0..<3).reduce(0) { $0 + e[$1].response(toSpend: spend[$1]) } } / Double(fit.effects.count)
        }
        let best = expected(plan.optimal.spend)
        for _ in 0..<200 {
            var w = (0..<3).map { _ in random.unit() }
            let total = w.reduce(0, +)
            w = w.map { $0 / total * plan.optimal.total }
            guard zip(w, plan.bounds).allSatisfy({ $1.contains($0) }) else { continue }
            #expect(expected(w) <= best * (1 + 1e-4))
        }
        #expect(throws: MixError.self) { try BudgetOptimiser.plan(fit, budget: 1e12) }
        #expect(throws: MixError.self) { try BudgetOptimiser.plan(fit, bounds: ["radio": 0...1]) }
        #expect(throws: MixError.self, "not converged: no priors") { try MixPriorsFile.json(MixFit.fit(sim.model, settings: FitSettings(chains: 2, sampler: NUTSSettings(warmup: 20, draws: 20))), plan: plan, kpi: "kpi") }
    }
}

@Suite struct MixConfigurationTests {
    @Test func aConfigurationFileIsReadAndCheckedKeyByKey() throws {
        let yaml = """
            data: weekly.csv
            date: week
            kpi: sales
            channels: [tv, search]
            controls: [price]
            model: {max_lag: 6, fourier: 3, noise: student-t, nu: 5}
            roi_priors:
              tv: {median: 1.5, log_sd: 0.4}
            lift_tests:
              - {channel: search, first: 2024-03-04, last: 2024-03-25, lift: 12000, standard_error: 3000}
            sampler: {chains: 6, warmup: 300, draws: 400, target_acceptance: 0.95, seed: 7}
            budget: {per_period: 5000, bounds: {tv: [100, 4000]}}
            """
        let c = try MixConfiguration.parse(yaml: yaml, source: "mix.yaml")
        #expect(c.data == "weekly.csv" && c.date == "week" && c.kpi == "sales" && c.channels == ["tv", "search"] && c.controls == ["price"])
        #expect(c.specification.maxLag == 6 && c.specification.fourierOrder == 3 && c.specification.noise == .studentT(5))
        #expect(c.specification.roiPriors == ["tv": ROIPrior(median: 1.5, logSD: 0.4)])
        #expect(c.specification.liftTests == [LiftTest(channel: "search", first: "2024-03-04", last: "2024-03-25", lift: 12000, standardError: 3000)])
        #expect(c.fit.chains == 6 && c.fit.sampler.warmup == 300 && c.fit.sampler.draws == 400 && c.fit.sampler.targetAcceptance == 0.95 && c.fit.seed == 7)
        #expect(c.budget == 5000 && c.bounds == ["tv": 100...4000])
        for (bad, words) in [
            ("kpi: sales\nchanels: [tv]", "chanels"), ("model: {noise: laplace}", "laplace"), ("sampler: {chains: 1}", "chains"),
            ("roi_priors: {tv: {median: 1}}", "log_sd"), ("budget: {bounds: {tv: [5, 1]}}", "bounds.tv"), ("lift_tests: {a: 1}", "list"),
            ("kpi: [a, b]", "kpi"),
        ] {
            do {
                _ = try MixConfiguration.parse(yaml: bad, source: "mix.yaml")
                Issue.record("accepted: \(bad)")
            } catch {
                #expect(error.message.contains(words), "\(error.message)")
            }
        }
    }
}
