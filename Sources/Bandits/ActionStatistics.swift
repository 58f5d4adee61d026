import Common
import Events
import StateFormat

/// Exposure counts per action from logged impressions, and the totals of clicks and
/// rewards: the sufficient statistics a context-free bandit starts from.
///
/// Clicks and rewards are not attributed to actions here; joining them to their decision
/// needs the decision log and an attribution window, which belong to the decision service.
public struct ActionStatistics: Learner, Equatable {
    public static let name = "bandits.action-statistics"
    public static let stateVersion: UInt16 = 1

    public struct Exposure: Sendable, Equatable {
        public var impressions: Int64 = 0
        /// Σ 1/propensity over impressions that carried one: the inverse-propensity
        /// weight offline evaluation needs.
        public var inversePropensitySum = ExactSum()
        public var withPropensity: Int64 = 0
    }

    public private(set) var actions: [String: Exposure] = [:]
    public private(set) var clicks: Int64 = 0
    public private(set) var clicksWithDecision: Int64 = 0
    public private(set) var rewards: Int64 = 0
    public private(set) var rewardSum = ExactSum()

    public init() {}

    public var reads: Set<EventKind> { [.impression, .click, .reward] }

    public mutating func learn(_ event: Event) {
        switch event.body {
        case .impression(let e):
            actions[e.action, default: Exposure()].record(e.propensity)
        case .click(let e):
            clicks += 1
            if e.decisionID != nil { clicksWithDecision += 1 }
        case .reward(let e):
            rewards += 1
            rewardSum.add(e.value)
        default:
            break
        }
    }

    public mutating func merge(_ other: ActionStatistics) {
        for (action, exposure) in other.actions {
            actions[action, default: Exposure()].add(exposure)
        }
        clicks += other.clicks
        clicksWithDecision += other.clicksWithDecision
        rewards += other.rewards
        rewardSum.add(other.rewardSum)
    }

    public func encode(to w: inout StateWriter) {
        w.writeVarint(UInt64(actions.count))
        for action in actions.keys.sorted() {
            let x = actions[action]!
            w.write(action)
            w.write(x.impressions)
            x.inversePropensitySum.encode(to: &w)
            w.write(x.withPropensity)
        }
        w.write(clicks)
        w.write(clicksWithDecision)
        w.write(rewards)
        rewardSum.encode(to: &w)
    }

    public init(from r: inout StateReader, version: UInt16) throws(StateFormatError) {
        let n = try r.readCount(elementSize: 33)
        actions.reserveCapacity(n)
        for _ in 0..<n {
            let action = try r.readString()
            var x = Exposure()
            x.impressions = try r.readInt64()
            x.inversePropensitySum = try ExactSum(from: &r)
            x.withPropensity = try r.readInt64()
            actions[action] = x
        }
        clicks = try r.readInt64()
        clicksWithDecision = try r.readInt64()
        rewards = try r.readInt64()
        rewardSum = try ExactSum(from: &r)
    }
}

extension ActionStatistics.Exposure {
    mutating func record(_ propensity: Double?) {
        impressions += 1
        if let propensity {
            withPropensity += 1
            inversePropensitySum.add(1 / propensity)
        }
    }

    mutating func add(_ other: Self) {
        impressions += other.impressions
        inversePropensitySum.add(other.inversePropensitySum)
        withPropensity += other.withPropensity
    }
}

extension ActionStatistics {
    public func summarize(into w: inout JSONWriter, top: Int) {
        w.beginObject()
        w.key("count"); w.int(Int64(actions.count))
        w.key("impressions"); w.int(actions.values.reduce(0) { $0 + $1.impressions })
        w.key("clicks"); w.int(clicks)
        w.key("clicks_with_decision"); w.int(clicksWithDecision)
        w.key("rewards"); w.int(rewards)
        w.key("reward_sum"); w.double(rewardSum.value)
        w.key("most_shown"); w.beginArray()
        for (action, x) in actions.sorted(by: { ($0.value.impressions, $1.key) > ($1.value.impressions, $0.key) }).prefix(top) {
            w.beginObject()
            w.key("action"); w.string(action)
            w.key("impressions"); w.int(x.impressions)
            w.key("inverse_propensity_sum"); w.double(x.inversePropensitySum.value)
            w.endObject()
        }
        w.endArray()
        w.endObject()
    }
}
