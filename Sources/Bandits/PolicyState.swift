import StateFormat

// The binary state of every policy, so that policies can live in engine snapshots.
// Each encodes its parameters too: a restored policy is the same policy, and a snapshot
// taken under other settings is refused rather than silently reinterpreted.

extension ArmStatistics: StateCodable {
    /// 2: each arm's prior and when it was set (version 1 had none: its priors stay in
    /// the sums, and a replacement adds to them).
    public static let stateVersion: UInt16 = 2

    public func encode(to w: inout StateWriter) {
        w.write(discount)
        w.write(Int64(time))
        w.writeVarint(UInt64(arms.count))
        for a in arms {
            w.write(a.weight)
            w.write(a.sum)
            w.write(a.squares)
            w.write(Int64(a.stamp))
            w.write(a.prior.trials)
            w.write(a.prior.rewardSum)
            w.write(Int64(a.priorStamp))
        }
    }

    public init(from r: inout StateReader, version: UInt16) throws(StateFormatError) {
        let discount = try r.readDouble()
        guard discount > 0, discount <= 1 else { throw StateFormatError("discount \(discount) out of (0, 1]") }
        self.init(discount: discount)
        time = Int(try r.readInt64())
        let n = try r.readCount(elementSize: version >= 2 ? 56 : 32)
        for _ in 0..<n {
            var arm = Arm(weight: try r.readDouble(), sum: try r.readDouble(), squares: try r.readDouble(), stamp: Int(try r.readInt64()))
            if version >= 2 {
                arm.prior = ArmPrior(trials: try r.readDouble(), rewardSum: try r.readDouble())
                arm.priorStamp = Int(try r.readInt64())
                guard arm.prior.trials >= 0, arm.prior.trials.isFinite, arm.prior.rewardSum.isFinite else { throw StateFormatError("arm prior out of range") }
            }
            arms.append(arm)
        }
    }
}

extension RidgeRegression: StateCodable {
    public static let stateVersion: UInt16 = 1

    public func encode(to w: inout StateWriter) {
        w.writeVarint(UInt64(dimension))
        w.write(Int64(observations))
        for v in factor { w.write(v) }
        for v in b { w.write(v) }
    }

    public init(from r: inout StateReader, version: UInt16) throws(StateFormatError) {
        let d = try r.readCount(elementSize: 8)
        guard d > 0, d * d <= r.remaining / 8 else { throw StateFormatError("ridge dimension \(d) does not fit the state") }
        self.init(dimension: d)
        observations = Int(try r.readInt64())
        for i in 0..<(d * d) { factor[i] = try r.readDouble() }
        for i in 0..<d { b[i] = try r.readDouble() }
        for i in 0..<d where !(factor[i * d + i] > 0) {
            throw StateFormatError("ridge factor has a non-positive diagonal at \(i)")
        }
        recomputeTheta()
    }
}

extension EpsilonGreedy: StateCodable {
    public static let stateVersion: UInt16 = 1
    public func encode(to w: inout StateWriter) {
        w.write(epsilon)
        w.write(section: stats)
    }
    public init(from r: inout StateReader, version: UInt16) throws(StateFormatError) {
        self.init(epsilon: try r.readDouble())
        stats = try r.read(section: ArmStatistics.self)
    }
}

extension Softmax: StateCodable {
    public static let stateVersion: UInt16 = 1
    public func encode(to w: inout StateWriter) {
        w.write(temperature)
        w.write(section: stats)
    }
    public init(from r: inout StateReader, version: UInt16) throws(StateFormatError) {
        self.init(temperature: try r.readDouble())
        stats = try r.read(section: ArmStatistics.self)
    }
}

extension UCB1: StateCodable {
    public static let stateVersion: UInt16 = 1
    public func encode(to w: inout StateWriter) {
        w.write(exploration)
        w.write(section: stats)
    }
    public init(from r: inout StateReader, version: UInt16) throws(StateFormatError) {
        self.init(exploration: try r.readDouble())
        stats = try r.read(section: ArmStatistics.self)
    }
}

extension KLUCB: StateCodable {
    public static let stateVersion: UInt16 = 1
    public func encode(to w: inout StateWriter) {
        w.write(c)
        w.write(section: stats)
    }
    public init(from r: inout StateReader, version: UInt16) throws(StateFormatError) {
        self.init(c: try r.readDouble())
        stats = try r.read(section: ArmStatistics.self)
    }
}

extension BetaThompson: StateCodable {
    public static let stateVersion: UInt16 = 1
    public func encode(to w: inout StateWriter) {
        w.writeVarint(UInt64(propensityDraws))
        w.write(section: stats)
    }
    public init(from r: inout StateReader, version: UInt16) throws(StateFormatError) {
        self.init(propensityDraws: Int(try r.readVarint()))
        stats = try r.read(section: ArmStatistics.self)
    }
}

extension NormalThompson: StateCodable {
    public static let stateVersion: UInt16 = 1
    public func encode(to w: inout StateWriter) {
        w.writeVarint(UInt64(propensityDraws))
        for v in [priorMean, priorStrength, priorShape, priorScale] { w.write(v) }
        w.write(section: stats)
    }
    public init(from r: inout StateReader, version: UInt16) throws(StateFormatError) {
        let draws = Int(try r.readVarint())
        self.init(propensityDraws: draws, priorMean: try r.readDouble(), priorStrength: try r.readDouble(), priorShape: try r.readDouble(), priorScale: try r.readDouble())
        stats = try r.read(section: ArmStatistics.self)
    }
}

extension EXP3: StateCodable {
    public static let stateVersion: UInt16 = 1
    public func encode(to w: inout StateWriter) {
        w.write(gamma)
        w.writeVarint(UInt64(logWeights.count))
        for v in logWeights { w.write(v) }
    }
    public init(from r: inout StateReader, version: UInt16) throws(StateFormatError) {
        self.init(gamma: try r.readDouble())
        let n = try r.readCount(elementSize: 8)
        for _ in 0..<n { logWeights.append(try r.readDouble()) }
    }
}

extension LinearModels {
    func encode(to w: inout StateWriter) {
        w.write(payoff == .shared)
        w.writeVarint(UInt64(dimension))
        w.write(regularization)
        w.writeVarint(UInt64(arms))
        w.writeVarint(UInt64(models.count))
        for m in models { w.write(section: m) }
    }

    init(from r: inout StateReader) throws(StateFormatError) {
        let shared = try r.readBool()
        let dimension = Int(try r.readVarint())
        let regularization = try r.readDouble()
        guard dimension > 0, regularization > 0 else { throw StateFormatError("invalid linear model settings") }
        self.init(payoff: shared ? .shared : .perArm, dimension: dimension, regularization: regularization)
        arms = Int(try r.readVarint())
        let n = try r.readCount()
        models = []
        for _ in 0..<n {
            let m = try r.read(section: RidgeRegression.self)
            guard m.dimension == dimension else { throw StateFormatError("model dimension \(m.dimension) ≠ \(dimension)") }
            models.append(m)
        }
        guard models.count == (shared ? 1 : arms) else { throw StateFormatError("\(models.count) models for \(arms) arms") }
    }
}

extension LinUCB: StateCodable {
    public static let stateVersion: UInt16 = 1
    public func encode(to w: inout StateWriter) {
        w.write(alpha)
        linear.encode(to: &w)
    }
    public init(from r: inout StateReader, version: UInt16) throws(StateFormatError) {
        let alpha = try r.readDouble()
        let linear = try LinearModels(from: &r)
        self.init(dimension: linear.dimension, payoff: linear.payoff, alpha: alpha, regularization: linear.regularization)
        self.linear = linear
    }
}

extension LinearThompson: StateCodable {
    public static let stateVersion: UInt16 = 1
    public func encode(to w: inout StateWriter) {
        w.write(scale)
        w.writeVarint(UInt64(propensityDraws))
        linear.encode(to: &w)
    }
    public init(from r: inout StateReader, version: UInt16) throws(StateFormatError) {
        let scale = try r.readDouble()
        let draws = Int(try r.readVarint())
        let linear = try LinearModels(from: &r)
        self.init(dimension: linear.dimension, payoff: linear.payoff, scale: scale, regularization: linear.regularization, propensityDraws: draws)
        self.linear = linear
    }
}
