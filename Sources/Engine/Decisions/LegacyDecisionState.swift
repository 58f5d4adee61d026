#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Bandits
import StateFormat
import Yams

/// The per-process decision-state files of builds before partitioned learning
/// (`<snapshot_dir>/decisions/<instance>.snap`, decision state version 1), read for what
/// can still be used of them: each surface's observations per arm.
///
/// Their policies cannot be restored as they were: they were learnt outside the
/// partitions, one per process, so no partition's snapshot can hold them and a replay
/// of the stream could not reproduce them. Context-free policies' observations are reward
/// counts, though, and counts carry over as arm priors (pseudo-observations) in the
/// configuration, an input of the engine like the events. The processes of a group each
/// learnt from the rewards they happened to join, disjoint sets, so their counts add.
/// Linear models and EXP3's weights have no such form; their surfaces start fresh.
public enum LegacyDecisionState {
    /// What one file holds for one surface.
    public struct Surface: Sendable, Equatable {
        public var name: String
        public var algorithm: String
        /// Per arm, in the file's order: its observations without its prior, as reward
        /// counts (discounted as they were when the file was written); nil for a policy
        /// without reward counts (a linear model, EXP3).
        public var arms: [(name: String, observed: ArmPrior)]?
        /// The decisions' rewards the surface had learnt.
        public var updates: Int64

        public static func == (a: Surface, b: Surface) -> Bool {
            a.name == b.name && a.algorithm == b.algorithm && a.updates == b.updates
                && a.arms?.map(\.name) == b.arms?.map(\.name) && a.arms?.map(\.observed) == b.arms?.map(\.observed)
        }
    }

    /// The surfaces of one file's bytes; anything damaged or of another format is refused
    /// whole. The reward join after them (open decisions) is not read: the rewards of
    /// decisions logged by an earlier build find no decision in the partitions.
    public static func read(_ bytes: [UInt8]) throws(StateFormatError) -> [Surface] {
        var r = StateReader(try Envelope.open(bytes))
        let version = try r.readUInt16()
        guard version == 1 else { throw StateFormatError("decision state version \(version) is not 1, the only one earlier builds wrote") }
        var surfaces: [Surface] = []
        for _ in 0..<(try r.readCount(elementSize: 4)) {
            let name = try r.readString()
            let (algorithm, statistics) = try policy(&r)
            var names: [String] = []
            for _ in 0..<(try r.readCount(elementSize: 3)) {
                names.append(try r.readString())
                _ = try r.readBool()
                for _ in 0..<(try r.readCount(elementSize: 8)) { _ = try r.readDouble() }
            }
            _ = try r.readInt64()
            let updates = try r.readInt64()
            var arms: [(name: String, observed: ArmPrior)]?
            if let statistics {
                guard statistics.count == names.count else {
                    throw StateFormatError("surface '\(name)' has \(names.count) arm names for \(statistics.count) arms")
                }
                arms = Array(zip(names, statistics)).map { (name: $0.0, observed: $0.1) }
            }
            surfaces.append(Surface(name: name, algorithm: algorithm, arms: arms, updates: updates))
        }
        return surfaces
    }

    /// A policy section: its algorithm's name, and for a policy over reward counts each
    /// arm's observations.
    private static func policy(_ r: inout StateReader) throws(StateFormatError) -> (String, [ArmPrior]?) {
        guard try r.readUInt16() == 1 else { throw StateFormatError("policy section version is not 1") }
        var p = StateReader(try r.readBytes())
        let algorithm = try p.readString()
        guard try p.readUInt16() == 1 else { throw StateFormatError("\(algorithm) section version is not 1") }
        var a = StateReader(try p.readBytes())
        switch algorithm {
        case "epsilon-greedy", "softmax", "ucb1", "kl-ucb": _ = try a.readDouble()
        case "thompson-beta": _ = try a.readVarint()
        case "thompson-normal":
            _ = try a.readVarint()
            for _ in 0..<4 { _ = try a.readDouble() }
        case "exp3", "linucb", "linear-thompson": return (algorithm, nil)
        default: throw StateFormatError("unknown policy '\(algorithm)'")
        }
        let statistics = try armStatistics(&a)
        guard a.isAtEnd, p.isAtEnd else { throw StateFormatError("\(algorithm) state has unread bytes") }
        return (algorithm, statistics)
    }

    /// Arm statistics, versions 1 (priors folded into the sums for good: they count as
    /// observations) and 2 (each arm's prior kept beside the sums: taken out). Decay with
    /// a discount below 1 was lazy, so each arm's sums are brought to the file's time.
    private static func armStatistics(_ outer: inout StateReader) throws(StateFormatError) -> [ArmPrior] {
        let version = try outer.readUInt16()
        guard version == 1 || version == 2 else { throw StateFormatError("arm statistics version \(version) is not 1 or 2") }
        var r = StateReader(try outer.readBytes())
        let discount = try r.readDouble()
        guard discount > 0, discount <= 1 else { throw StateFormatError("discount \(discount) out of (0, 1]") }
        let time = try r.readInt64()
        func aged(since stamp: Int64) -> Double { discount == 1 ? 1 : pow(discount, Double(time - stamp)) }
        var arms: [ArmPrior] = []
        for _ in 0..<(try r.readCount(elementSize: version == 2 ? 56 : 32)) {
            let weight = try r.readDouble(), sum = try r.readDouble()
            _ = try r.readDouble()
            let stamp = try r.readInt64()
            var observed = ArmPrior(trials: weight * aged(since: stamp), rewardSum: sum * aged(since: stamp))
            if version == 2 {
                let prior = ArmPrior(trials: try r.readDouble(), rewardSum: try r.readDouble())
                let since = aged(since: try r.readInt64())
                observed.trials -= prior.trials * since
                observed.rewardSum -= prior.rewardSum * since
            }
            guard observed.trials.isFinite, observed.rewardSum.isFinite else { throw StateFormatError("arm statistics out of range") }
            // Rounding can leave a prior's removal a hair below zero, or a sum without trials.
            if observed.trials <= 1e-9 { observed = .none }
            arms.append(observed)
        }
        guard r.isAtEnd else { throw StateFormatError("arm statistics have unread bytes") }
        return arms
    }
}

extension LegacyDecisionState {
    /// The configuration `yaml` (at `source`) with what `files` learnt added to its arms'
    /// priors and without the keys this build no longer has, and a line for each key,
    /// surface and arm saying what became of it.
    ///
    /// An arm's new prior is its configured one plus its observations summed over the
    /// files. It applies where the engine takes arm priors: on surfaces whose configured
    /// policy estimates from reward counts. The output holds the input's keys and values,
    /// not its comments.
    public static func migrate(yaml: String, source: String, files: [[Surface]]) throws(ConfigurationError) -> (yaml: String, notes: [String]) {
        var root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else { throw ConfigurationError("\(source) is empty") }
            root = node
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError("\(source) is not YAML: \(error)")
        }
        guard case .mapping = root else { throw ConfigurationError("\(source): the top level must be a mapping") }
        var notes: [String] = []
        for key in Configuration.retired.keys.sorted() where remove(key.split(separator: ".").map(String.init), from: &root) {
            notes.append("'\(key)' removed: \(Configuration.retired[key]!)")
        }
        guard let surfacesNode = root["surfaces"], case .mapping(var surfaceNodes) = surfacesNode else {
            throw ConfigurationError("\(source) configures no surfaces")
        }
        let configured = try SurfaceConfiguration.parse(surfacesNode, source: source)
        var learnt: [String: (algorithm: String, arms: [String: ArmPrior]?, updates: Int64)] = [:]
        for surface in files.joined() {
            var entry = learnt[surface.name] ?? (surface.algorithm, [:], 0)
            entry.updates += surface.updates
            if let arms = surface.arms, entry.arms != nil {
                for (name, observed) in arms {
                    let sum = entry.arms![name, default: .none]
                    entry.arms![name] = ArmPrior(trials: sum.trials + observed.trials, rewardSum: sum.rewardSum + observed.rewardSum)
                }
            } else {
                entry.arms = nil
            }
            learnt[surface.name] = entry
        }
        for name in learnt.keys.sorted() where !configured.contains(where: { $0.name == name }) {
            notes.append("surface '\(name)': not configured, its \(learnt[name]!.updates) updates dropped")
        }
        for surface in configured {
            guard let entry = learnt[surface.name] else {
                notes.append("surface '\(surface.name)': in no file, unchanged")
                continue
            }
            guard let arms = entry.arms else {
                notes.append("surface '\(surface.name)': learnt by \(entry.algorithm), whose state has no reward counts: starts fresh (\(entry.updates) updates dropped)")
                continue
            }
            guard surface.policy.estimator == .counts else {
                notes.append("surface '\(surface.name)': now \(surface.policy.name), which takes no arm priors: starts fresh (\(entry.updates) updates dropped)")
                continue
            }
            guard case .sequence(var armNodes) = surfaceNodes[surface.name]?["arms"] else { continue }
            for (i, arm) in surface.arms.enumerated() {
                guard let observed = arms[arm.name], observed.trials > 0 else {
                    notes.append("surface '\(surface.name)' arm '\(arm.name)': nothing learnt, prior unchanged")
                    continue
                }
                let prior = ArmPrior(trials: arm.prior.trials + observed.trials, rewardSum: arm.prior.rewardSum + observed.rewardSum)
                armNodes[i] = with(prior: prior, arm: armNodes[i], name: arm.name)
                notes.append("surface '\(surface.name)' arm '\(arm.name)': prior \(describe(arm.prior)) -> \(describe(prior))")
            }
            for name in arms.keys.sorted() where !surface.arms.contains(where: { $0.name == name }) {
                notes.append("surface '\(surface.name)' arm '\(name)': not configured, its \(describe(arms[name]!)) dropped")
            }
            surfaceNodes[surface.name]?["arms"] = .sequence(armNodes)
        }
        root["surfaces"] = .mapping(surfaceNodes)
        do {
            return (try Yams.serialize(node: root), notes)
        } catch {
            throw ConfigurationError("the migrated configuration cannot be written: \(error)")
        }
    }

    /// Removes the key at `path` of nested mappings, and the mappings it leaves empty;
    /// whether it was there.
    private static func remove(_ path: [String], from node: inout Node) -> Bool {
        guard let key = path.first, case .mapping(var mapping) = node, var child = mapping[key] else { return false }
        if path.count == 1 {
            mapping[key] = nil
        } else {
            guard remove(Array(path.dropFirst()), from: &child) else { return false }
            if case .mapping(let m) = child, m.isEmpty { mapping[key] = nil } else { mapping[key] = child }
        }
        node = .mapping(mapping)
        return true
    }

    /// The arm's node (a name or a mapping) as a mapping with `prior`.
    private static func with(prior: ArmPrior, arm: Node, name: String) -> Node {
        var mapping = Node.Mapping([(Node("name"), Node(name))])
        if case .mapping(let m) = arm { mapping = m }
        mapping["prior"] = Node([(Node("trials"), Node("\(prior.trials)")), (Node("reward_sum"), Node("\(prior.rewardSum)"))], .implicit, .flow)
        return .mapping(mapping)
    }

    private static func describe(_ p: ArmPrior) -> String { "{trials \(p.trials), reward_sum \(p.rewardSum)}" }
}
