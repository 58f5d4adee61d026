import Bandits
import Logging
import StateFormat

/// The decision service's durable state: each surface's policy, arms, version and
/// update count, and the reward join, written as one enveloped file per process.
enum DecisionState {
    static let version: UInt16 = 1

    static func encode(surfaces: [DecisionService.SurfaceState], join: RewardJoin) -> [UInt8] {
        var out = StateWriter()
        out.write(version)
        out.writeVarint(UInt64(surfaces.count))
        for s in surfaces {
            out.write(s.config.name)
            out.write(section: s.policy)
            out.writeVarint(UInt64(s.arms.names.count))
            for i in s.arms.names.indices {
                out.write(s.arms.names[i])
                out.write(s.arms.active[i])
                out.writeVarint(UInt64(s.arms.features[i].count))
                for v in s.arms.features[i] { out.write(v) }
            }
            out.write(s.version)
            out.write(s.updates)
        }
        join.encode(to: &out)
        return Envelope.seal(out.bytes)
    }

    /// Restores what `bytes` holds into the freshly configured `w`. A surface keeps its
    /// learnt state when its algorithm and feature layout are unchanged (parameters from
    /// the configuration apply to it); otherwise it starts fresh, with a warning.
    /// Surfaces no longer configured are dropped; arms added in configuration are added.
    static func restore(_ bytes: [UInt8], into w: inout DecisionService.Working, logger: Logger) throws(ConfigurationError) {
        do throws(StateFormatError) {
            var r = StateReader(try Envelope.open(bytes))
            let v = try r.readUInt16()
            guard v == version else { throw StateFormatError("decision state version \(v) is not \(version)") }
            var surfaceMap: [Int?] = []
            for _ in 0..<(try r.readCount(elementSize: 4)) {
                let name = try r.readString()
                let policy = try r.read(section: SurfacePolicy.self)
                var arms = DecisionService.ArmTable()
                for _ in 0..<(try r.readCount(elementSize: 3)) {
                    let arm = try r.readString()
                    let active = try r.readBool()
                    var features: [Double] = []
                    for _ in 0..<(try r.readCount(elementSize: 8)) { features.append(try r.readDouble()) }
                    arms.append(arm, features: features)
                    arms.active[arms.names.count - 1] = active
                }
                let surfaceVersion = try r.readInt64()
                let updates = try r.readInt64()
                guard arms.names.count == policy.armCount else {
                    throw StateFormatError("surface '\(name)' has \(arms.names.count) arm names for \(policy.armCount) arms")
                }
                guard let i = w.surfaces.firstIndex(where: { $0.config.name == name }) else {
                    logger.warning("surface in the decision state is no longer configured: dropped", metadata: ["surface": "\(name)"])
                    surfaceMap.append(nil)
                    continue
                }
                var s = w.surfaces[i]
                do {
                    s.policy = try policy.retuned(s.config.policy, dimension: s.config.dimension)
                } catch {
                    logger.warning("surface configuration no longer matches its learnt state: it starts fresh", metadata: ["surface": "\(name)", "reason": "\(error.message)"])
                    surfaceMap.append(nil)
                    continue
                }
                guard arms.features.allSatisfy({ $0.count == s.config.armFeatures.count }) else {
                    logger.warning("surface arm features changed: it starts fresh", metadata: ["surface": "\(name)"])
                    surfaceMap.append(nil)
                    continue
                }
                s.arms = arms
                for arm in s.config.arms where arms.index[arm.name] == nil {
                    _ = s.policy.addArm(prior: arm.prior)
                    s.arms.append(arm.name, features: arm.features)
                }
                s.version = surfaceVersion
                s.updates = updates
                w.surfaces[i] = s
                surfaceMap.append(i)
            }
            w.join = try RewardJoin(from: &r, capacity: w.join.capacity, surfaces: w.surfaces.count, surfaceMap: surfaceMap)
            guard r.remaining == 0 else { throw StateFormatError("\(r.remaining) bytes after the decision state") }
        } catch {
            throw ConfigurationError("decision state cannot be read: \(error)")
        }
    }
}
