import Bandits
import Events
import Bidding
import MarketingMix
import Recommenders
import Scoring
import StateFormat

/// Every learner the engine keeps, for one partition of the event stream (or, merged,
/// for all of them). Adding a learner means adding it here: to `update`, `merge`, and to
/// the sections of the state format.
public struct LearnerSet: Sendable, Equatable {
    public var tally = EventTally()
    public var actions = ActionStatistics()
    public var customers = CustomerLedger()
    public var media = MediaLedger()
    public var items = ItemPopularity()
    public var auctions = AuctionLedger()

    public init() {}

    public mutating func update(_ event: Event) {
        tally.update(event)
        switch event.body {
        case .impression, .click, .reward:
            actions.update(event)
        case .view, .addToCart:
            items.update(event)
        case .purchase:
            items.update(event)
            media.update(event)
        case .spend:
            media.update(event)
        case .bidOutcome:
            auctions.update(event)
        }
        customers.update(event)
    }

    public mutating func merge(_ other: LearnerSet) {
        tally.merge(other.tally)
        actions.merge(other.actions)
        customers.merge(other.customers)
        media.merge(other.media)
        items.merge(other.items)
        auctions.merge(other.auctions)
    }

    /// Sections are named and length-prefixed: a reader skips sections it does not know
    /// (written by a newer build) and starts learners it finds no section for empty.
    public func encode(to w: inout StateWriter) {
        w.writeVarint(6)
        section(tally, &w)
        section(actions, &w)
        section(customers, &w)
        section(media, &w)
        section(items, &w)
        section(auctions, &w)
    }

    private func section<L: Learner>(_ learner: L, _ w: inout StateWriter) {
        w.write(L.name)
        w.write(section: learner)
    }

    public init(from r: inout StateReader) throws(StateFormatError) {
        let count = try r.readCount()
        for _ in 0..<count {
            let name = try r.readString()
            switch name {
            case EventTally.name: tally = try r.read(section: EventTally.self)
            case ActionStatistics.name: actions = try r.read(section: ActionStatistics.self)
            case CustomerLedger.name: customers = try r.read(section: CustomerLedger.self)
            case MediaLedger.name: media = try r.read(section: MediaLedger.self)
            case ItemPopularity.name: items = try r.read(section: ItemPopularity.self)
            case AuctionLedger.name: auctions = try r.read(section: AuctionLedger.self)
            default:
                _ = try r.readUInt16()
                _ = try r.readBytes()
            }
        }
    }
}
