import Bandits
import Bidding
import Common
import Events
import MarketingMix
import Pricing
import Recommenders
import Scoring
import StateFormat

/// What the engine's learners are made from: the configuration they learn under.
public struct LearnerContext: Sendable, Equatable {
    /// The decision points, as their learning needs them.
    public var surfaces: [SurfaceLearning]
    /// The pricing surfaces, as their learning needs them.
    public var pricing: [PricingSurface]
    /// Partitions of the event stream (1 for a file).
    public var partitions: Int
    /// What the bidding learns with (windows, click models).
    public var bidding: BiddingSettings
    /// Open and remembered decisions the reward join keeps per partition at most.
    public var joinCapacity: Int

    public init(
        surfaces: [SurfaceLearning] = [], pricing: [PricingSurface] = [], bidding: BiddingSettings = BiddingSettings(), partitions: Int = 1,
        joinCapacity: Int = 1_000_000
    ) {
        self.surfaces = surfaces
        self.pricing = pricing
        self.bidding = bidding
        self.partitions = max(1, partitions)
        self.joinCapacity = max(1, joinCapacity)
    }
}

/// One kind of learner the engine keeps in every partition: how to make it, read it and
/// describe it. `LearnerRegistry.all` lists them.
public struct LearnerRegistration: Sendable {
    public let name: String
    /// The learner's key in state summaries.
    public let summaryKey: String
    let make: @Sendable (LearnerContext) throws -> any Learner
    let read: @Sendable (inout StateReader) throws(StateFormatError) -> any Learner

    public init<L: Learner>(_ type: L.Type, summary key: String, make: @escaping @Sendable (LearnerContext) throws -> L) {
        name = L.name
        summaryKey = key
        self.make = make
        read = { (r: inout StateReader) throws(StateFormatError) -> any Learner in try r.read(section: L.self) }
    }
}

/// Every learner the engine runs, in the order each event reaches them and their
/// sections appear in state. Everything the engine does with learners — update, merge,
/// encode, decode, publish, summarise — goes through this list, so adding a learner
/// touches its own file and one line here.
public enum LearnerRegistry {
    public static let all: [LearnerRegistration] = [
        LearnerRegistration(EventTally.self, summary: "events") { _ in EventTally() },
        LearnerRegistration(ActionStatistics.self, summary: "actions") { _ in ActionStatistics() },
        LearnerRegistration(CustomerLedger.self, summary: "customers") { _ in CustomerLedger() },
        LearnerRegistration(MediaLedger.self, summary: "media") { _ in MediaLedger() },
        LearnerRegistration(ItemPopularity.self, summary: "items") { _ in ItemPopularity() },
        LearnerRegistration(AuctionLedger.self, summary: "auctions") { _ in AuctionLedger() },
        LearnerRegistration(BanditLearner.self, summary: "decisions") { c in
            try BanditLearner(surfaces: c.surfaces, partitions: c.partitions, capacity: c.joinCapacity)
        },
        LearnerRegistration(PricingLearner.self, summary: "prices") { c in PricingLearner(surfaces: c.pricing, partitions: c.partitions, capacity: c.joinCapacity) },
        LearnerRegistration(BiddingLearner.self, summary: "bids") { c in BiddingLearner(settings: c.bidding) },
    ]

    static let byName: [String: Int] = Dictionary(uniqueKeysWithValues: all.enumerated().map { ($1.name, $0) })
}
