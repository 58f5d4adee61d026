import Bidding
import Common
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
/// approximation (the same budget per auction left). It is solved again when the market
/// or the candidacies it was solved on have grown by a quarter, when it is an hour
/// old, or when the budget per auction left has outgrown the budgets it was solved for.
/// Until a campaign has a plan it is paced.
final class ReinforcementPlans: Sendable {
    /// The auctions a plan is solved for.
    static let horizon = 500
    /// Second-price outcomes, some won, a campaign's market needs before it is planned on.
    static let marketEvidence = 50.0
    /// Clicks (or conversions, its goal) a campaign's won impressions had before it is
    /// planned on: the plan takes the model's rates as exact, as Cai et al. do, and a
    /// model still learning them moves them under the plan (early rates are low, so a
    /// plan made on them takes the dearer auctions for rare and spends its day early).
    static let rateEvidence: Int64 = 50
    /// Candidacies today, and the share of the day's traffic gone by, before the day's
    /// auctions are extrapolated.
    static let candidacyEvidence = 100.0
    static let minimumShare = 1.0 / 96
    /// Price units of a plan: the highest price won spans `unitsToHighestWon`, at most
    /// `maximumUnits` up to the campaign's cap.
    static let unitsToHighestWon = 48.0
    static let maximumUnits = 96
    static let staleMillis: Int64 = 3_600_000

    /// The latest `capacity` candidacies' goal rates: as the model predicts now, which
    /// is what the plan's bids will be asked for (the rates of the day's first auctions,
    /// predicted before the model had learnt, are not).
    struct Rates: Sendable {
        static let capacity = 1_024
        static let bins = 48
        var recent: [Double] = []
        var next = 0

        mutating func add(_ rate: Double) {
            if recent.count < Self.capacity {
                recent.append(rate)
            } else {
                recent[next] = rate
                next = (next + 1) % Self.capacity
            }
        }

        /// (rate, probability) per geometric bin from 1e-6 to 1 with candidacies, each at
        /// its mean.
        var distribution: [(ctr: Double, p: Double)] {
            var counts = [Double](repeating: 0, count: Self.bins), sums = counts
            for rate in recent {
                let i = min(Self.bins - 1, max(0, Int((log10(max(rate, 1e-6)) + 6) / 6 * Double(Self.bins))))
                counts[i] += 1
                sums[i] += rate
            }
            return (0..<Self.bins).compactMap { counts[$0] > 0 ? (sums[$0] / counts[$0], counts[$0] / Double(recent.count)) : nil }
        }
    }

    struct Plan: Sendable {
        let values: BiddingValues
        let solvedAtMillis: Int64
        let observations: Double
        let candidacies: Double
    }

    struct Entry: Sendable {
        var day: Int32 = .min
        var candidacies = 0.0
        /// This process's logged bids today.
        var logged = 0.0
        var rates = Rates()
        var plan: Plan?
        var solving: Task<Void, Never>?

        mutating func turn(to d: Int32) {
            guard d != day else { return }
            (day, candidacies, logged) = (d, 0, 0)
        }
    }

    private let entries = Mutex<[String: Entry]>([:])

    /// Counts one request's candidacies (campaign and predicted rate) and its logged bids.
    func count(candidacies: [(campaign: String, rate: Double)], logged: [String], day: Int32) {
        guard !candidacies.isEmpty else { return }
        entries.withLock { e in
            for (c, rate) in candidacies {
                e[c, default: Entry()].turn(to: day)
                e[c]!.candidacies += 1
                e[c]!.rates.add(rate)
            }
            for c in logged where e[c] != nil { e[c]!.logged += 1 }
        }
    }

    /// What campaign `c` bids by now: its plan and the auctions left in its day (this one
    /// included), nil while it is to be paced. Starts a solve when the plan is missing or
    /// stale.
    func bidder(for c: ServedCampaign, ledger: CampaignLedger?, budgetLeft: Double, now: Int64, day: Int32) -> (values: BiddingValues, auctionsLeft: Int)? {
        guard let ledger, ledger.market.observations >= Self.marketEvidence, let highest = ledger.market.highestWon, budgetLeft > 0,
            (c.perClick ? ledger.total.clicks : ledger.total.conversions) >= Self.rateEvidence
        else { return nil }
        let share = c.campaign.planShare(at: now)
        return entries.withLock { e -> (values: BiddingValues, auctionsLeft: Int)? in
            guard var entry = e[c.id] else { return nil }
            entry.turn(to: day)
            defer { e[c.id] = entry }
            guard entry.candidacies >= Self.candidacyEvidence, share >= Self.minimumShare else { return nil }
            let groupBids = ledger.day == day ? Double(ledger.today.bids) : 0
            let groupCandidacies = entry.candidacies * max(1, entry.logged > 0 ? groupBids / entry.logged : 1)
            let left = Int(min(1e9, groupCandidacies * max(0, 1 - share) / share)) + 1
            let unit = highest / Self.unitsToHighestWon / 1000
            let scaledBudget = budgetLeft * Double(min(left, Self.horizon)) / Double(left) / unit
            let stale: Bool
            if let p = entry.plan {
                stale = ledger.market.observations > 1.25 * p.observations || entry.candidacies > 1.25 * p.candidacies
                    || now - p.solvedAtMillis > Self.staleMillis
                    || (scaledBudget > 1.5 * Double(p.values.budgetUnits) && p.values.budgetUnits < Self.largestBudget(units: p.values.marketPrices.count - 1))
            } else {
                stale = true
            }
            if stale, entry.solving == nil {
                entry.solving = solve(c, market: ledger.market, unit: unit, scaledBudgetUnits: scaledBudget, rates: entry.rates, candidacies: entry.candidacies, now: now)
            }
            guard let plan = entry.plan else { return nil }
            return (plan.values, left)
        }
    }

    private static func largestBudget(units: Int) -> Int { horizon * units / 2 }

    private func solve(_ c: ServedCampaign, market: MarketPrices, unit: Double, scaledBudgetUnits: Double, rates: Rates, candidacies: Double, now: Int64) -> Task<Void, Never> {
        let units = max(2, min(Self.maximumUnits, Int(c.bidCap / 1000 / unit)))
        let budgetUnits = min(Self.largestBudget(units: units), max(Self.horizon, Int(3 * scaledBudgetUnits)))
        let observations = market.observations
        let id = c.id
        return Task.detached(priority: .utility) { [self] in
            let values = BiddingValues.solve(
                auctions: Self.horizon, budgetUnits: budgetUnits, unit: unit, marketPrices: market.distribution(unit: unit * 1000, units: units), ctrs: rates.distribution)
            entries.withLock { e in
                e[id]?.plan = Plan(values: values, solvedAtMillis: now, observations: observations, candidacies: candidacies)
                e[id]?.solving = nil
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

    /// Waits for the solves under way.
    func solved() async {
        for t in entries.withLock({ $0.values.compactMap(\.solving) }) { await t.value }
    }
}
