import StateFormat

// A policy's binary state: its specification (so a restored policy is the same policy,
// and state taken under other settings is refused rather than reinterpreted), its arms'
// priors and its estimator.

extension PolicySpec: StateCodable {
    public static let stateVersion: UInt16 = 1

    public func encode(to w: inout StateWriter) {
        w.write(algorithm.rawValue)
        // "" when the algorithm's own: a specification reads back equal to itself.
        w.write(estimatorChoice?.rawValue ?? "")
        w.write(payoff == .shared)
        let given = parameters.sorted { $0.key < $1.key }
        w.writeVarint(UInt64(given.count))
        for (name, value) in given {
            w.write(name)
            w.write(value)
        }
    }

    public init(from r: inout StateReader, version: UInt16) throws(StateFormatError) {
        let name = try r.readString()
        guard let algorithm = Algorithm(rawValue: name) else { throw StateFormatError("unknown policy '\(name)'") }
        let estimatorName = try r.readString()
        let estimator = EstimatorChoice(rawValue: estimatorName)
        guard estimator != nil || estimatorName.isEmpty else { throw StateFormatError("unknown estimator '\(estimatorName)'") }
        let shared = try r.readBool()
        var parameters: [String: Double] = [:]
        for _ in 0..<(try r.readCount(elementSize: 9)) {
            let key = try r.readString()
            parameters[key] = try r.readDouble()
        }
        self.init(algorithm: algorithm, parameters: parameters, payoff: shared ? .shared : .perArm, estimator: estimator)
        do { try validate() } catch { throw StateFormatError("policy state: \(error.message)") }
    }
}

extension BanditPolicy: StateCodable {
    /// 2: a specification, priors and an estimator (version 1, one state layout per
    /// algorithm with priors folded into the statistics, was written by per-process
    /// decision state, which partitioned learning replaced).
    public static let stateVersion: UInt16 = 2

    public func encode(to w: inout StateWriter) {
        w.write(section: spec)
        w.writeVarint(UInt64(priors.count))
        for p in priors {
            w.write(p.trials)
            w.write(p.rewardSum)
        }
        EstimatorKinds.write(estimator, to: &w)
    }

    public init(from r: inout StateReader, version: UInt16) throws(StateFormatError) {
        guard version == 2 else { throw StateFormatError("policy state version \(version) is not 2") }
        let spec = try r.read(section: PolicySpec.self)
        var priors: [ArmPrior] = []
        for _ in 0..<(try r.readCount(elementSize: 16)) {
            let p = ArmPrior(trials: try r.readDouble(), rewardSum: try r.readDouble())
            guard p.trials >= 0, p.trials.isFinite, p.rewardSum.isFinite else { throw StateFormatError("arm prior out of range") }
            priors.append(p)
        }
        let estimator = try EstimatorKinds.read(&r)
        let fresh: any Estimator
        let exploration: any Exploration
        do {
            fresh = try spec.makeEstimator(dimension: (estimator as? LinearModels)?.dimension ?? 0)
            exploration = try spec.makeExploration()
        } catch {
            throw StateFormatError("policy state: \(error.message)")
        }
        guard fresh.sameSettings(any: estimator), exploration.supports(estimator) else {
            throw StateFormatError("policy state: the estimator's settings differ from the policy's")
        }
        guard priors.count == estimator.armCount else { throw StateFormatError("\(priors.count) priors for \(estimator.armCount) arms") }
        self.init(spec: spec, estimator: estimator, exploration: exploration)
        self.priors = priors
    }
}

extension BanditPolicy: Equatable {
    /// Equal specifications, priors and estimator state (compared as encoded state, which
    /// holds exactly what the policy has learnt).
    public static func == (a: BanditPolicy, b: BanditPolicy) -> Bool {
        var x = StateWriter(), y = StateWriter()
        a.encode(to: &x)
        b.encode(to: &y)
        return x.bytes == y.bytes
    }
}
