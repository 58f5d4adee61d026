import Bandits
import Events
import Yams

/// A decision point ("surface"): what is decided there, among which arms, by which
/// policy, on which context, and what counts as the reward.
public struct SurfaceConfiguration: Sendable, Equatable {
    /// A configured arm; its `features` follow `armFeatures`.
    public typealias Arm = ArmDefinition

    public var name: String
    public var policy: PolicySpec
    /// Context feature names, in the order of the model's coefficients.
    public var features: [String]
    /// Per-arm feature names (shared linear payoff only).
    public var armFeatures: [String]
    public var arms: [Arm]
    public var reward: RewardDefinition
    public var attributionWindowMillis: Int64
    /// Arms whose priors follow the marketing-mix model's posterior ROI of a channel.
    public var channelPriors: ChannelPriorMapping?

    public init(
        name: String, policy: PolicySpec, features: [String] = [], armFeatures: [String] = [], arms: [Arm],
        reward: RewardDefinition = .click, attributionWindowMillis: Int64 = 30 * 60_000, channelPriors: ChannelPriorMapping? = nil
    ) {
        self.name = name
        self.policy = policy
        self.features = features
        self.armFeatures = armFeatures
        self.arms = arms
        self.reward = reward
        self.attributionWindowMillis = attributionWindowMillis
        self.channelPriors = channelPriors
    }

    /// The length of the vectors a linear policy learns on (0 for context-free ones).
    public var dimension: Int {
        guard policy.isContextual else { return 0 }
        return policy.payoff.dimension(contextFeatures: features.count, armFeatures: armFeatures.count)
    }

    static let maximumNameBytes = 128

    /// Checks names and arm features; `make` of the policy checks its parameters.
    public func validate() throws(ConfigurationError) {
        let subject = "surface '\(name)'"
        guard SurfaceConfiguration.isName(name) else {
            throw ConfigurationError("surface name '\(name)' must be 1–\(Self.maximumNameBytes) bytes of letters, digits, '_', '-' or '.'")
        }
        do { try policy.validate() } catch { throw ConfigurationError("\(subject): \(error.message)") }
        if policy.payoff == .shared, !policy.isContextual {
            throw ConfigurationError("\(subject): 'payoff' applies to linear models only (linucb, linear-thompson, or estimator: ridge)")
        }
        if !policy.isContextual, !features.isEmpty || !armFeatures.isEmpty {
            throw ConfigurationError("\(subject): \(policy.name) does not use features; use linucb, linear-thompson or 'estimator: ridge'")
        }
        if policy.payoff == .perArm, !armFeatures.isEmpty {
            throw ConfigurationError("\(subject): 'arm_features' need 'payoff: shared'")
        }
        for (list, what) in [(features, "features"), (armFeatures, "arm_features")] {
            if let bad = list.first(where: { !SurfaceConfiguration.isName($0) }) {
                throw ConfigurationError("\(subject): \(what) name '\(bad)' is not a valid name")
            }
            if Set(list).count != list.count { throw ConfigurationError("\(subject): \(what) has a name twice") }
        }
        guard attributionWindowMillis >= 1, attributionWindowMillis <= 30 * 86_400_000 else {
            throw ConfigurationError("\(subject): attribution_window_ms must be between 1 and \(30 * 86_400_000)")
        }
        if let mapping = channelPriors {
            guard policy.estimator == .counts else {
                throw ConfigurationError("\(subject): mmm_priors need a policy with per-arm priors (reward counts), not \(policy.name)")
            }
            guard mapping.rewardPerROI > 0, mapping.rewardPerROI.isFinite, mapping.trials > 0, mapping.trials.isFinite else {
                throw ConfigurationError("\(subject): mmm_priors.reward_per_roi and mmm_priors.trials must be positive numbers")
            }
            if let bad = mapping.arms.keys.sorted().first(where: { !SurfaceConfiguration.isName($0) }) {
                throw ConfigurationError("\(subject): mmm_priors.arms names '\(bad)', which is not a valid arm name")
            }
        }
        var seen = Set<String>()
        for arm in arms {
            try SurfaceConfiguration.check(arm, armFeatures: armFeatures, subject: subject)
            guard seen.insert(arm.name).inserted else { throw ConfigurationError("\(subject): arm '\(arm.name)' is listed twice") }
        }
    }

    /// Checks one arm (also for arms added at run time).
    public static func check(_ arm: Arm, armFeatures: [String], subject: String) throws(ConfigurationError) {
        guard isName(arm.name) else {
            throw ConfigurationError("\(subject): arm name '\(arm.name)' must be 1–\(maximumNameBytes) bytes of letters, digits, '_', '-' or '.'")
        }
        guard arm.prior.trials >= 0, arm.prior.trials.isFinite, arm.prior.rewardSum.isFinite else {
            throw ConfigurationError("\(subject): arm '\(arm.name)' prior needs finite trials ≥ 0 and a finite reward sum")
        }
        guard arm.prior.trials > 0 || arm.prior.rewardSum == 0 else {
            throw ConfigurationError("\(subject): arm '\(arm.name)' prior has a reward sum but no trials")
        }
        guard arm.features.count == armFeatures.count, arm.features.allSatisfy(\.isFinite) else {
            throw ConfigurationError("\(subject): arm '\(arm.name)' needs a finite value for each arm feature (\(armFeatures.joined(separator: ", ")))")
        }
    }

    static func isName(_ s: String) -> Bool {
        let bytes = s.utf8
        guard !bytes.isEmpty, bytes.count <= maximumNameBytes else { return false }
        return bytes.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x2D || b == 0x2E
        }
    }

    // MARK: YAML

    /// Reads the `surfaces` mapping: surface name → settings.
    static func parse(_ node: Node, source: String) throws(ConfigurationError) -> [SurfaceConfiguration] {
        guard case .mapping(let mapping) = node else { throw ConfigurationError("\(source): 'surfaces' must map surface names to their settings") }
        var out: [SurfaceConfiguration] = []
        for (k, v) in mapping {
            guard let name = k.string else { throw ConfigurationError("\(source): surface names must be strings") }
            let surface = try parseOne(name: name, v, source: source)
            try surface.validate()
            out.append(surface)
        }
        return out
    }

    private static let surfaceKeys: Set<String> = [
        "policy", "estimator", "parameters", "payoff", "features", "arm_features", "arms", "reward", "attribution_window_ms", "mmm_priors",
    ]

    private static func parseOne(name: String, _ node: Node, source: String) throws(ConfigurationError) -> SurfaceConfiguration {
        let at = "\(source): surfaces.\(name)"
        guard case .mapping(let m) = node else { throw ConfigurationError("\(at) must be a mapping") }
        var fields: [String: Node] = [:]
        for (k, v) in m {
            guard let key = k.string, surfaceKeys.contains(key) else {
                throw ConfigurationError("\(at): unknown key '\(k.string ?? "?")'; known: \(surfaceKeys.sorted().joined(separator: ", "))")
            }
            fields[key] = v
        }
        guard let policyName = fields["policy"]?.string else { throw ConfigurationError("\(at).policy is required (one of \(PolicySpec.Algorithm.allCases.map(\.rawValue).joined(separator: ", ")))") }
        guard let algorithm = PolicySpec.Algorithm(rawValue: policyName) else {
            throw ConfigurationError("\(at).policy '\(policyName)' is not one of \(PolicySpec.Algorithm.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var spec = PolicySpec(algorithm: algorithm)
        if let e = fields["estimator"] {
            guard let text = e.string, let choice = PolicySpec.EstimatorChoice(rawValue: text) else {
                throw ConfigurationError("\(at).estimator must be one of \(PolicySpec.EstimatorChoice.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            spec.estimatorChoice = choice
        }
        if let p = fields["parameters"] { spec.parameters = try numbers(p, "\(at).parameters") }
        if let payoff = fields["payoff"] {
            switch payoff.string {
            case "per_arm": spec.payoff = .perArm
            case "shared": spec.payoff = .shared
            default: throw ConfigurationError("\(at).payoff must be per_arm or shared")
            }
        }
        let features = try fields["features"].map { (n) throws(ConfigurationError) in try strings(n, "\(at).features") } ?? []
        let armFeatures = try fields["arm_features"].map { (n) throws(ConfigurationError) in try strings(n, "\(at).arm_features") } ?? []
        var arms: [Arm] = []
        if let list = fields["arms"] {
            guard case .sequence(let seq) = list else { throw ConfigurationError("\(at).arms must be a list") }
            for item in seq { arms.append(try arm(item, armFeatures: armFeatures, at: "\(at).arms")) }
        }
        var reward = RewardDefinition.click
        if let r = fields["reward"] {
            guard let text = r.string, let def = RewardDefinition(name: text) else {
                throw ConfigurationError("\(at).reward must be click, purchase, revenue, view or add_to_cart")
            }
            reward = def
        }
        var window: Int64 = 30 * 60_000
        if let w = fields["attribution_window_ms"] {
            guard let text = w.string, let n = Int64(text) else { throw ConfigurationError("\(at).attribution_window_ms must be an integer") }
            window = n
        }
        let channelPriors = try fields["mmm_priors"].map { (n) throws(ConfigurationError) in try mapping(n, at: "\(at).mmm_priors") }
        return SurfaceConfiguration(
            name: name, policy: spec, features: features, armFeatures: armFeatures, arms: arms, reward: reward, attributionWindowMillis: window,
            channelPriors: channelPriors)
    }

    private static func mapping(_ node: Node, at: String) throws(ConfigurationError) -> ChannelPriorMapping {
        guard case .mapping(let m) = node else { throw ConfigurationError("\(at) must be a mapping (reward_per_roi, trials, arms)") }
        var rewardPerROI: Double?, trials: Double?
        var arms: [String: String] = [:]
        for (k, v) in m {
            switch k.string {
            case "reward_per_roi": rewardPerROI = v.scalar.flatMap { Double($0.string) }
            case "trials": trials = v.scalar.flatMap { Double($0.string) }
            case "arms":
                guard case .mapping(let pairs) = v else { throw ConfigurationError("\(at).arms must map arm names to channel names") }
                for (arm, channel) in pairs {
                    guard let a = arm.string, let c = channel.scalar?.string, !c.isEmpty else { throw ConfigurationError("\(at).arms must map arm names to channel names") }
                    arms[a] = c
                }
            default: throw ConfigurationError("\(at): unknown key '\(k.string ?? "?")' (reward_per_roi, trials, arms)")
            }
        }
        guard let rewardPerROI, let trials else { throw ConfigurationError("\(at) needs reward_per_roi and trials as numbers") }
        return ChannelPriorMapping(rewardPerROI: rewardPerROI, trials: trials, arms: arms)
    }

    private static func arm(_ node: Node, armFeatures: [String], at: String) throws(ConfigurationError) -> Arm {
        if let name = node.scalar?.string { return Arm(name: name) }
        guard case .mapping(let m) = node else { throw ConfigurationError("\(at): an arm is a name or a mapping with 'name'") }
        var name: String?
        var prior = ArmPrior.none
        var features: [String: Double] = [:]
        for (k, v) in m {
            switch k.string {
            case "name": name = v.string
            case "prior":
                let p = try numbers(v, "\(at).prior")
                guard Set(p.keys).isSubset(of: ["trials", "reward_sum"]) else { throw ConfigurationError("\(at).prior takes trials and reward_sum") }
                prior = ArmPrior(trials: p["trials"] ?? 0, rewardSum: p["reward_sum"] ?? 0)
            case "features": features = try numbers(v, "\(at).features")
            default: throw ConfigurationError("\(at): unknown arm key '\(k.string ?? "?")' (name, prior, features)")
            }
        }
        guard let name else { throw ConfigurationError("\(at): an arm mapping needs 'name'") }
        if let unknown = features.keys.sorted().first(where: { !armFeatures.contains($0) }) {
            throw ConfigurationError("\(at): arm '\(name)' has feature '\(unknown)', which is not in arm_features")
        }
        guard features.count == armFeatures.count else {
            throw ConfigurationError("\(at): arm '\(name)' needs a value for each arm feature (\(armFeatures.joined(separator: ", ")))")
        }
        return Arm(name: name, prior: prior, features: armFeatures.map { features[$0]! })
    }

    private static func strings(_ node: Node, _ at: String) throws(ConfigurationError) -> [String] {
        guard case .sequence(let seq) = node else { throw ConfigurationError("\(at) must be a list of names") }
        var out: [String] = []
        for item in seq {
            guard let s = item.scalar?.string else { throw ConfigurationError("\(at) must be a list of names") }
            out.append(s)
        }
        return out
    }

    private static func numbers(_ node: Node, _ at: String) throws(ConfigurationError) -> [String: Double] {
        guard case .mapping(let m) = node else { throw ConfigurationError("\(at) must be a mapping of names to numbers") }
        var out: [String: Double] = [:]
        for (k, v) in m {
            guard let key = k.string, let text = v.scalar?.string, let value = Double(text), value.isFinite else {
                throw ConfigurationError("\(at): '\(k.string ?? "?")' must be a finite number")
            }
            out[key] = value
        }
        return out
    }
}

/// How a surface turns a marketing-mix refit into arm priors: each mapped arm's prior
/// mean reward is `rewardPerROI` times its channel's posterior mean ROI (clipped to
/// [0, 1] when the reward is a 0/1 outcome), worth `trials` pseudo-observations. An arm
/// that has observed more than `trials` rewards is led by its own data; a new or rarely
/// chosen arm starts from what the model says its channel returns.
public struct ChannelPriorMapping: Sendable, Equatable {
    public var rewardPerROI: Double
    public var trials: Double
    /// Arm name → channel name (as in the model's data).
    public var arms: [String: String]

    public init(rewardPerROI: Double, trials: Double, arms: [String: String]) {
        self.rewardPerROI = rewardPerROI
        self.trials = trials
        self.arms = arms
    }

    /// The prior for an arm of a channel with posterior mean ROI `roi`.
    public func prior(roi: Double, binaryReward: Bool) -> ArmPrior {
        var mean = max(0, rewardPerROI * roi)
        if binaryReward { mean = min(mean, 1) }
        return ArmPrior(trials: trials, rewardSum: trials * mean)
    }
}
