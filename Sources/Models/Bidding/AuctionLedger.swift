import Common
import Events
import StateFormat

/// Auction outcomes in total, from every `bid_outcome` event (Arbiter's bids or any
/// other bidder's): the win rate, cost (the sum of clearing CPMs) and click and
/// conversion counts a bidding policy is calibrated against.
public struct AuctionLedger: Learner, Equatable {
    public static let name = "models.auction-ledger"
    public static let stateVersion: UInt16 = 1

    public private(set) var auctions: Int64 = 0
    public private(set) var wins: Int64 = 0
    public private(set) var cost = Money.zero
    public private(set) var clicks: Int64 = 0
    public private(set) var conversions: Int64 = 0

    public init() {}

    public var reads: Set<EventKind> { [.bidOutcome] }

    public mutating func learn(_ event: Event) {
        guard case .bidOutcome(let e) = event.body else { return }
        // Billing, click and conversion notices follow a win already counted.
        if e.settlesAuction {
            auctions += 1
            if e.won {
                wins += 1
                cost += e.clearingPrice ?? .zero
            }
        }
        if e.click { clicks += 1 }
        if e.conversion { conversions += 1 }
    }

    public mutating func merge(_ other: AuctionLedger) {
        auctions += other.auctions
        wins += other.wins
        cost += other.cost
        clicks += other.clicks
        conversions += other.conversions
    }

    public func encode(to w: inout StateWriter) {
        w.write(auctions)
        w.write(wins)
        w.write(cost)
        w.write(clicks)
        w.write(conversions)
    }

    public init(from r: inout StateReader, version: UInt16) throws(StateFormatError) {
        auctions = try r.readInt64()
        wins = try r.readInt64()
        cost = try r.readMoney()
        clicks = try r.readInt64()
        conversions = try r.readInt64()
    }
}

extension AuctionLedger {
    public var gauges: [LearnerGauge] {
        [LearnerGauge("auctions_seen", Double(auctions)), LearnerGauge("auctions_won", Double(wins))]
    }

    public func summarize(into w: inout JSONWriter, top: Int) {
        w.beginObject()
        w.key("count"); w.int(auctions)
        w.key("wins"); w.int(wins)
        w.key("cost"); w.raw(cost.description)
        w.key("clicks"); w.int(clicks)
        w.key("conversions"); w.int(conversions)
        w.endObject()
    }
}
