import Bidding
import Common
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The plans reinforcement-learning campaigns (`strategy: rl`) bid by: Cai et al.'s
/// values (`BiddingValues`) solved in the background on the campaign's market prices
/// (the published view's, every partition's outcomes) and on the predicted goal rates of
/// the auctions it was a candidate for, and the number of auctions left in its day.
///
/// Candidacies (auctions a campaign could bid in: targeted, a creative fits, not capped,
/// budget left) are counted here, in this process, floors and the request's other
/// campaigns not yet applied: an auction lost to a floor or to another of the bidder's
/// campaigns is still one of the day's auctions, though the log never sees it. In a
/// group each process sees a share of them; the group's count is this process's scaled
/// by the group's logged bids today (the view's) over this process's own, both made by
/// the same policy on the same traffic mix. The auctions left are the count so far times
/// what remains of the day's traffic profile over what has gone by.
///
/// A plan is solved for `horizon` auctions; the bid in a longer day follows Cai et al.'s
/// approximation (the same budget per auction left). It is solved again when the market,
/// the candidacies or the model's examples it was solved on have grown by a quarter, when it is an hour
/// old, or when the budget per auction left has outgrown the budgets it was solved for.
/// Until a campaign has a plan it is paced.
final class ReinforcementPlans: Sendable {
    /// The auctions a plan is solved for.
    static let horizon = 300
    /// The most budget units a plan is solved for: 8 per auction of the horizon (a budget
    /// of more per auction left bids as that one does). Its values take horizon × units ×
    /// 8 bytes, at most 5.8 MB per campaign.
    static let largestBudget = horizon * 8
    /// Second-price outcomes, some won, a campaign's market needs before it is planned on.
    static let marketEvidence = 50.0
    /// Candidacies today, and the share of the day's traffic gone by, before the day's
    /// auctions are extrapolated.
    static let candidacyEvidence = 100.0
    static let minimumShare = 1.0 / 96
    /// Price units of a plan: the 99th percentile of the prices won spans
    /// `unitsToHighPrice` (a percentile, so that one outlying price does not coarsen the
    /// units until every ordinary price rounds to nothing), at most `maximumUnits` up to
    /// the campaign's cap.
    static let unitsToHighPrice = 48.0
    static let maximumUnits = 96
    static let staleMillis: Int64 = 3_600_000

    /// One auction a campaign was a candidate for: the hashes of its features in the
    /// campaign's model (`ClickModel.hash`), so its rate can be predicted again.
    struct Candidacy: Sendable {
        /// The impression's features, shared by every campaign that was a candidate.
        var shared: [UInt64]
        /// The campaign's own feature and, when the request names a domain or bundle, its
        /// cross with it.
        var own: UInt64
        var cross: UInt64?
    }

    /// The latest `capacity` candidacies, their goal rates predicted at each solve by the
    /// model as it is then: the rates the plan's bids will be asked for. (Rates kept as
    /// predicted when each auction came would hold the model's past: low early in a day
    /// it is still learning, so a plan made on them took the dearer auctions for rare
    /// and spent its day early.)
    struct Recent: Sendable {
        static let capacity = 1_024
        static let bins = 48
        var items: [Candidacy] = []
        var next = 0

        mutating func add(_ c: Candidacy) {
            if items.count < Self.capacity {
                items.append(c)
            } else {
                items[next] = c
                next = (next + 1) % Self.capacity
            }
        }

        /// (rate, probability) per geometric bin from 1e-6 to 1 with candidacies, each at
        /// its mean, the rates predicted by `model`.
        func distribution(_ model: ClickModel.Weights) -> [(ctr: Double, p: Double)] {
            var counts = [Double](repeating: 0, count: Self.bins), sums = counts
            for c in items {
                var margin = model.weight(of: c.own)
                if let x = c.cross { margin += model.weight(of: x) }
                for h in c.shared { margin += model.weight(of: h) }
                let rate = model.probability(margin: margin)
                guard rate.isFinite else { continue }
                let i = min(Self.bins - 1, max(0, Int((log10(max(rate, 1e-6)) + 6) / 6 * Double(Self.bins))))
                counts[i] += 1
                sums[i] += rate
            }
            let total = counts.reduce(0, +)
            return (0..<Self.bins).compactMap { counts[$0] > 0 ? (sums[$0] / counts[$0], counts[$0] / total) : nil }
        }
    }

    struct Plan: Sendable {
        let values: BiddingValues
        let solvedAtMillis: Int64
        let observations: Double
        let candidacies: Double
        /// What the campaign's model had learnt from.
        let examples: Int64
    }

    struct Entry: Sendable {
        var day: Int32 = .min
        var candidacies = 0.0
        /// This process's logged bids today.
        var logged = 0.0
        var recent = Recent()
        var plan: Plan?
        var solving = false

        mutating func turn(to d: Int32) {
            guard d != day else { return }
            (day, candidacies, logged) = (d, 0, 0)
        }
    }

    private let entries = Mutex<[String: Entry]>([:])
    /// Solves run here, one at a time, off the threads that answer requests (a solve
    /// takes up to a second: on the cooperative pool it would hold one of its threads).
    private let solver = DispatchQueue(label: "arbiter.rl-solve", qos: .utility)

    /// Counts one request's candidacies.
    func count(candidacies: [(campaign: String, Candidacy)], day: Int32) {
        guard !candidacies.isEmpty else { return }
        entries.withLock { e in
            for (c, candidacy) in candidacies {
                e[c, default: Entry()].turn(to: day)
                e[c]!.candidacies += 1
                e[c]!.recent.add(candidacy)
            }
        }
    }

    /// Counts one request's bids once they are in the log (the view's count has only those).
    func count(logged: [String], day: Int32) {
        entries.withLock { e in
            for c in logged where e[c] != nil {
                e[c]!.turn(to: day)
                e[c]!.logged += 1
            }
        }
    }

    /// What campaign `c` bids by now: its plan and the auctions left in its day (this one
    /// included), nil while it is to be paced. Starts a solve when the plan is missing or
    /// stale; `model` is the campaign's goal model as the view holds it, which learnt from
    /// `examples`.
    func bidder(
        for c: ServedCampaign, ledger: CampaignLedger?, model: ClickModel.Weights, examples: Int64, budgetLeft: Double, now: Int64, day: Int32
    ) -> (values: BiddingValues, auctionsLeft: Int)? {
        guard let ledger, ledger.market.observations >= Self.marketEvidence, let high = ledger.market.wonQuantile(0.99), budgetLeft > 0 else { return nil }
        let share = c.campaign.planShare(at: now)
        return entries.withLock { e -> (values: BiddingValues, auctionsLeft: Int)? in
            guard var entry = e[c.id] else { return nil }
            entry.turn(to: day)
            defer { e[c.id] = entry }
            guard entry.candidacies >= Self.candidacyEvidence, share >= Self.minimumShare else { return nil }
            let groupBids = ledger.day == day ? Double(ledger.today.bids) : 0
            let groupCandidacies = entry.candidacies * max(1, entry.logged > 0 ? groupBids / entry.logged : 1)
            let left = Int(min(1e9, groupCandidacies * max(0, 1 - share) / share)) + 1
            let unit = high / Self.unitsToHighPrice / 1000
            let scaledBudget = budgetLeft * Double(min(left, Self.horizon)) / Double(left) / unit
            let stale: Bool
            if let p = entry.plan {
                stale = ledger.market.observations > 1.25 * p.observations || entry.candidacies > 1.25 * p.candidacies || Double(examples) > 1.25 * Double(p.examples)
                    || now - p.solvedAtMillis > Self.staleMillis
                    || (scaledBudget * unit / p.values.unit > 1.5 * Double(p.values.budgetUnits) && p.values.budgetUnits < Self.largestBudget)
            } else {
                stale = true
            }
            if stale, !entry.solving {
                entry.solving = true
                solve(
                    c, market: ledger.market, unit: unit, scaledBudgetUnits: scaledBudget, recent: entry.recent, model: model, examples: examples, candidacies: entry.candidacies,
                    now: now)
            }
            guard let plan = entry.plan else { return nil }
            return (plan.values, left)
        }
    }

    private func solve(
        _ c: ServedCampaign, market: MarketPrices, unit: Double, scaledBudgetUnits: Double, recent: Recent, model: ClickModel.Weights, examples: Int64, candidacies: Double,
        now: Int64
    ) {
        let units = max(2, Int(min(Double(Self.maximumUnits), c.bidCap / 1000 / unit)))
        let budgetUnits = max(Self.horizon, Int(min(Double(Self.largestBudget), 3 * scaledBudgetUnits)))
        let observations = market.observations
        let id = c.id
        solver.async { [self] in
            let ctrs = recent.distribution(model)
            let values = ctrs.isEmpty
                ? nil
                : BiddingValues.solve(auctions: Self.horizon, budgetUnits: budgetUnits, unit: unit, marketPrices: market.distribution(unit: unit * 1000, units: units), ctrs: ctrs)
            entries.withLock { e in
                if let values { e[id]?.plan = Plan(values: values, solvedAtMillis: now, observations: observations, candidacies: candidacies, examples: examples) }
                e[id]?.solving = false
            }
        }
    }

    /// When campaign `id`'s plan was solved (stream time, nil: not yet) and its candidacies
    /// in this process on `day`.
    func status(_ id: String, day: Int32) -> (solvedAtMillis: Int64?, candidacies: Double) {
        entries.withLock { e in
            guard let entry = e[id] else { return (nil, 0) }
            return (entry.plan?.solvedAtMillis, entry.day == day ? entry.candidacies : 0)
        }
    }

    /// Waits for the solves under way (the queue is serial: a job after them runs once they are done).
    func solved() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in solver.async { done.resume() } }
    }
}
