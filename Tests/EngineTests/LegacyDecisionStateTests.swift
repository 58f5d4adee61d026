import Bandits
import Common
import Foundation
import StateFormat
import Testing

@testable import Engine

/// The decision-state files in Fixtures/legacy-decisions were written by two processes of
/// an earlier build (d73c46d) in one group (tools/make-legacy-decision-state.sh), with
/// the configuration beside them.
@Suite struct LegacyDecisionStateTests {
    static let fixtures = repositoryRoot + "/Tests/EngineTests/Fixtures/legacy-decisions"
    static let config = fixtures + "/config.yaml"

    static func file(_ name: String) throws -> [LegacyDecisionState.Surface] {
        try LegacyDecisionState.read(try FileIO.readAll(fixtures + "/" + name))
    }

    static func surface(_ name: String, in file: [LegacyDecisionState.Surface]) throws -> LegacyDecisionState.Surface {
        try #require(file.first { $0.name == name })
    }

    @Test func anEarlierBuildsFileReadsAsEachArmsObservationsWithoutItsPrior() throws {
        let file = try Self.file("p1.snap")
        #expect(file.map(\.name).sorted() == ["checkout_upsell", "home_banner", "offer"])
        let banner = try Self.surface("home_banner", in: file)
        let arms = try #require(banner.arms)
        #expect(banner.algorithm == "thompson-beta" && arms.map(\.name) == ["spring_sale", "free_shipping", "new_arrivals"])
        // Undiscounted: one trial per learnt reward, whole numbers once free_shipping's
        // prior (10 trials, 3 rewards) is taken out.
        #expect(banner.updates > 0 && arms.reduce(0) { $0 + $1.observed.trials } == Double(banner.updates))
        for arm in arms {
            #expect(arm.observed.trials == arm.observed.trials.rounded() && arm.observed.rewardSum == arm.observed.rewardSum.rounded())
            #expect(arm.observed.rewardSum >= 0 && arm.observed.rewardSum <= arm.observed.trials)
        }
        // Discounted by 0.999 per update: fewer trials than updates, each arm's mean still
        // the one reward it always got (bundle 42.5, the others 7.25).
        let upsell = try Self.surface("checkout_upsell", in: file)
        let upsellArms = try #require(upsell.arms)
        let trials = upsellArms.reduce(0) { $0 + $1.observed.trials }
        #expect(trials < Double(upsell.updates) && trials > Double(upsell.updates) * pow(0.999, Double(upsell.updates)))
        for arm in upsellArms where arm.observed.trials > 0 {
            #expect(abs(arm.observed.rewardSum / arm.observed.trials - (arm.name == "bundle" ? 42.5 : 7.25)) < 1e-9)
        }
        let offer = try Self.surface("offer", in: file)
        #expect(offer.algorithm == "linucb" && offer.arms == nil && offer.updates > 0)
    }

    @Test func migrationAddsBothProcessesCountsToTheConfiguredPriorsAndDropsRetiredKeys() throws {
        let files = [try Self.file("p1.snap"), try Self.file("p2.snap")]
        let yaml = String(decoding: try FileIO.readAll(Self.config), as: UTF8.self)
        let (migrated, notes) = try LegacyDecisionState.migrate(yaml: yaml, source: Self.config, files: files)
        let directory = temporaryDirectory("migrate")
        try FileIO.writeAtomically(Array(migrated.utf8), to: directory + "/arbiter.yaml")
        // The earlier build's configuration is refused as it is, the migrated one loads.
        #expect(throws: ConfigurationError.self) { try Configuration.load(path: Self.config, environment: [:]) }
        let loaded = try Configuration.load(path: directory + "/arbiter.yaml", environment: [:])
        let original = try Configuration.load(path: Self.config, environment: [:], ignoringRetiredKeys: true)
        #expect(notes.contains { $0.hasPrefix("'decisions.checkpoint_interval_ms' removed") })
        #expect(notes.contains { $0.hasPrefix("'kafka.topics.decisions' removed") } && !migrated.contains("arbiter.decisions"))
        #expect(!migrated.contains("kafka") && !migrated.contains("decisions:"), "the sections the retired keys leave empty go too")

        for name in ["home_banner", "checkout_upsell"] {
            let before = try #require(original.surfaces.first { $0.name == name })
            let after = try #require(loaded.surfaces.first { $0.name == name })
            #expect(after.policy == before.policy && after.arms.map(\.name) == before.arms.map(\.name))
            for (old, new) in zip(before.arms, after.arms) {
                let observed = try files.map { try #require(Self.surface(name, in: $0).arms?.first { $0.name == old.name }?.observed) }
                #expect(new.prior.trials == old.prior.trials + observed[0].trials + observed[1].trials, "\(name) \(old.name)")
                #expect(new.prior.rewardSum == old.prior.rewardSum + observed[0].rewardSum + observed[1].rewardSum, "\(name) \(old.name)")
            }
        }
        let banner = try #require(loaded.surfaces.first { $0.name == "home_banner" })
        let updates = try files.reduce(0) { $0 + (try Self.surface("home_banner", in: $1)).updates }
        #expect(banner.arms.reduce(0) { $0 + $1.prior.trials } == Double(updates) + 10)
        // The linear model has no reward counts: the surface is as configured.
        #expect(loaded.surfaces.first { $0.name == "offer" } == original.surfaces.first { $0.name == "offer" })
        #expect(notes.contains { $0.hasPrefix("surface 'offer': learnt by linucb") })
    }

    @Test func surfacesReconfiguredOrGoneSinceAreSaidToStartFreshOrBeDropped() throws {
        let yaml = """
            surfaces:
              home_banner:
                policy: linucb
                features: [mobile]
                arms: [spring_sale, free_shipping, new_arrivals]
              checkout_upsell:
                policy: exp3
                arms: [warranty, bundle]
            """
        let (migrated, notes) = try LegacyDecisionState.migrate(yaml: yaml, source: "test.yaml", files: [try Self.file("p1.snap")])
        #expect(notes.contains { $0.hasPrefix("surface 'home_banner': now linucb, which takes no arm priors: starts fresh") })
        #expect(notes.contains { $0.hasPrefix("surface 'checkout_upsell': now exp3, which takes no arm priors") })
        #expect(notes.contains { $0.hasPrefix("surface 'offer': not configured") })
        #expect(!migrated.contains("prior"))
    }

    @Test func damagedFilesAndOtherFormatsAreRefusedWhole() throws {
        var bytes = try FileIO.readAll(Self.fixtures + "/p1.snap")
        bytes[bytes.count / 2] ^= 0x40
        #expect(throws: StateFormatError.self) { try LegacyDecisionState.read(bytes) }
        // A partition snapshot of this build is an envelope too, of another payload.
        var w = StateWriter()
        w.write(UInt16(2))
        w.writeVarint(0)
        #expect(throws: StateFormatError.self) { try LegacyDecisionState.read(Envelope.seal(w.bytes)) }
        #expect(throws: StateFormatError.self) { try LegacyDecisionState.read(Array("{}".utf8)) }
    }
}
