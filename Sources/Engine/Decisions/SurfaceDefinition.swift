import Bandits
import Common
import StateFormat

/// A decision point as it stands now: its configuration (arms in the order they were
/// added, with their priors and features), which arms are active, and a version bumped by
/// every change. Changes are published on the state topic and every process applies them
/// in the topic's order, so the group keeps one catalogue.
public struct SurfaceDefinition: Sendable, Equatable {
    public var config: SurfaceConfiguration
    public var active: [Bool]
    public var version: Int64

    public init(config: SurfaceConfiguration, version: Int64 = 1) {
        self.config = config
        active = Array(repeating: true, count: config.arms.count)
        self.version = version
    }

    public var name: String { config.name }

    /// What partitions need to learn for this surface.
    public var learning: SurfaceLearning {
        SurfaceLearning(
            name: config.name, policy: config.policy, features: config.features, armFeatureCount: config.armFeatures.count,
            reward: config.reward, attributionWindowMillis: config.attributionWindowMillis)
    }

    /// What a view prepares the surface's policy from.
    public var catalogue: BanditLearner.Catalogue { BanditLearner.Catalogue(spec: config.policy, arms: config.arms, dimension: config.dimension) }

    public func index(of arm: String) -> Int? { config.arms.firstIndex { $0.name == arm } }

    public var activeIndices: [Int] { active.indices.filter { active[$0] } }

    /// Whether state learnt under `other` means the same here: same estimator and its
    /// settings, features, reward and window. The exploration may differ: it reads the
    /// learnt state, it is not part of it.
    public func learnsLike(_ other: SurfaceDefinition) -> Bool {
        let a = learning, b = other.learning
        guard a.policy.estimator == b.policy.estimator, a.policy.payoff == b.policy.payoff,
            a.features == b.features, a.armFeatureCount == b.armFeatureCount, a.reward == b.reward, a.attributionWindowMillis == b.attributionWindowMillis
        else { return false }
        return a.policy.estimator.parameterNames.allSatisfy { a.policy.value($0) == b.policy.value($0) }
    }

    /// The definition to start from: `config` (the YAML), with what the group changed at
    /// run time when `published` still learns like it — arms added or removed, priors
    /// from the marketing mix — and the configuration's exploration parameters.
    public static func reconciled(config: SurfaceConfiguration, published: SurfaceDefinition?) -> SurfaceDefinition {
        var fresh = SurfaceDefinition(config: config)
        guard let published, published.learnsLike(fresh) else {
            if let published { fresh.version = published.version + 1 }
            return fresh
        }
        var d = published
        d.config.policy = config.policy
        d.config.channelPriors = config.channelPriors
        for arm in config.arms where d.index(of: arm.name) == nil {
            d.config.arms.append(arm)
            d.active.append(true)
        }
        if d != published { d.version = published.version + 1 }
        return d
    }

    // MARK: Changes (each bumps the version)

    /// Adds an arm, or reactivates a removed one (keeping what it had learnt).
    public mutating func addArm(_ arm: ArmDefinition) throws(DecisionError) {
        if let i = index(of: arm.name) {
            guard !active[i] else { throw DecisionError(.conflict, "arm '\(arm.name)' already exists on surface '\(name)'") }
            active[i] = true
        } else {
            do throws(ConfigurationError) {
                try SurfaceConfiguration.check(arm, armFeatures: config.armFeatures, subject: "surface '\(name)'")
            } catch {
                throw DecisionError(.invalid, error.message)
            }
            config.arms.append(arm)
            active.append(true)
        }
        version += 1
    }

    /// Makes an arm ineligible; what it learnt stays, and decisions already made with it
    /// still learn from their rewards.
    public mutating func removeArm(_ arm: String) throws(DecisionError) {
        guard let i = index(of: arm), active[i] else { throw DecisionError(.notFound, "surface '\(name)' has no active arm '\(clipped(arm))'") }
        active[i] = false
        version += 1
    }

    /// Sets policy parameters (the others keep their values). Parameters that define
    /// the learnt state cannot change.
    public mutating func setParameters(_ parameters: [String: Double]) throws(DecisionError) {
        var spec = config.policy
        spec.parameters.merge(parameters) { $1 }
        do throws(PolicySpecError) {
            try config.policy.checkRetune(to: spec, dimension: config.dimension)
        } catch {
            throw DecisionError(.invalid, error.message)
        }
        config.policy = spec
        version += 1
    }

    /// Replaces the priors of the arms in `priors` (by name); true when one changed.
    public mutating func setPriors(_ priors: [String: ArmPrior]) -> Bool {
        var changed = false
        for (arm, prior) in priors {
            guard let i = index(of: arm), config.arms[i].prior != prior else { continue }
            config.arms[i].prior = prior
            changed = true
        }
        if changed { version += 1 }
        return changed
    }
}

extension PolicySpec.EstimatorChoice {
    /// Names of the parameters that define the estimator's state.
    public var parameterNames: [String] {
        switch self {
        case .counts: ["discount"]
        case .ridge: ["regularization"]
        case .importance: []
        }
    }
}

// MARK: State

extension SurfaceDefinition {
    public static let stateVersion: UInt16 = 1

    public func serialized() -> [UInt8] {
        var w = StateWriter()
        w.write(Self.stateVersion)
        let c = config
        w.write(c.name)
        w.write(section: c.policy)
        for list in [c.features, c.armFeatures] {
            w.writeVarint(UInt64(list.count))
            for f in list { w.write(f) }
        }
        w.writeVarint(UInt64(c.arms.count))
        for (i, arm) in c.arms.enumerated() {
            w.write(arm.name)
            w.write(arm.prior.trials)
            w.write(arm.prior.rewardSum)
            w.writeVarint(UInt64(arm.features.count))
            for v in arm.features { w.write(v) }
            w.write(active[i])
        }
        w.write(c.reward.name)
        w.write(c.attributionWindowMillis)
        w.write(c.channelPriors != nil)
        if let m = c.channelPriors {
            w.write(m.rewardPerROI)
            w.write(m.trials)
            w.writeVarint(UInt64(m.arms.count))
            for arm in m.arms.keys.sorted() {
                w.write(arm)
                w.write(m.arms[arm]!)
            }
        }
        w.write(version)
        return Envelope.seal(w.bytes)
    }

    public init(serialized bytes: [UInt8]) throws(StateFormatError) {
        var r = StateReader(try Envelope.open(bytes))
        guard try r.readUInt16() == Self.stateVersion else { throw StateFormatError("surface record of another version") }
        let name = try r.readString()
        let policy = try r.read(section: PolicySpec.self)
        var lists: [[String]] = []
        for _ in 0..<2 {
            var list: [String] = []
            for _ in 0..<(try r.readCount()) { list.append(try r.readString()) }
            lists.append(list)
        }
        var arms: [ArmDefinition] = []
        var active: [Bool] = []
        for _ in 0..<(try r.readCount(elementSize: 20)) {
            let armName = try r.readString()
            let prior = ArmPrior(trials: try r.readDouble(), rewardSum: try r.readDouble())
            var features: [Double] = []
            for _ in 0..<(try r.readCount(elementSize: 8)) { features.append(try r.readDouble()) }
            arms.append(ArmDefinition(name: armName, prior: prior, features: features))
            active.append(try r.readBool())
        }
        let rewardName = try r.readString()
        guard let reward = RewardDefinition(name: rewardName) else { throw StateFormatError("unknown reward '\(rewardName)'") }
        let window = try r.readInt64()
        var channelPriors: ChannelPriorMapping?
        if try r.readBool() {
            let perROI = try r.readDouble()
            let trials = try r.readDouble()
            var mapping: [String: String] = [:]
            for _ in 0..<(try r.readCount(elementSize: 2)) {
                let arm = try r.readString()
                mapping[arm] = try r.readString()
            }
            channelPriors = ChannelPriorMapping(rewardPerROI: perROI, trials: trials, arms: mapping)
        }
        let config = SurfaceConfiguration(
            name: name, policy: policy, features: lists[0], armFeatures: lists[1], arms: arms, reward: reward, attributionWindowMillis: window,
            channelPriors: channelPriors)
        do throws(ConfigurationError) { try config.validate() } catch { throw StateFormatError("surface record: \(error.message)") }
        self.config = config
        self.active = active
        version = try r.readInt64()
        guard r.isAtEnd else { throw StateFormatError("\(r.remaining) unread bytes after the surface record") }
    }
}
