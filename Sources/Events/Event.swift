/// One decoded, validated event (schema version 1, see `docs/events.md`).
///
/// Events are plain values: learners receive them after the codec has checked every
/// field, so a learner never has to guard against malformed input.
public struct Event: Sendable, Hashable {
    /// Milliseconds since the Unix epoch, UTC.
    public var timestamp: Int64
    public var body: Body

    public init(timestamp: Int64, body: Body) {
        self.timestamp = timestamp
        self.body = body
    }

    public var kind: EventKind { body.kind }

    /// The type-specific part of an event.
    public enum Body: Sendable, Hashable {
        case view(ItemInteraction)
        case addToCart(ItemInteraction)
        case click(Click)
        case purchase(Purchase)
        case impression(Impression)
        case reward(Reward)
        case bidOutcome(BidOutcome)
        case spend(Spend)

        public var kind: EventKind {
            switch self {
            case .view: .view
            case .addToCart: .addToCart
            case .click: .click
            case .purchase: .purchase
            case .impression: .impression
            case .reward: .reward
            case .bidOutcome: .bidOutcome
            case .spend: .spend
            }
        }
    }

    /// The user the event belongs to, when it names one; it is the Kafka key.
    public var user: String? {
        switch body {
        case .view(let e), .addToCart(let e): e.user
        case .click(let e): e.user
        case .purchase(let e): e.user
        case .impression(let e): e.user
        case .reward(let e): e.user
        case .bidOutcome(let e): e.user
        case .spend: nil
        }
    }

    /// The Kafka partitioning key: the user, else the decision, auction or channel id.
    public var partitionKey: String {
        if let user { return user }
        switch body {
        case .reward(let e): return e.decisionID
        case .bidOutcome(let e): return e.auctionID
        case .spend(let e): return e.channel
        default: return ""  // unreachable: every other type has a user
        }
    }
}

/// The event types of schema version 1, in a fixed order used for counters and state.
public enum EventKind: UInt8, Sendable, CaseIterable, Hashable, Comparable {
    case view = 0, addToCart, click, purchase, impression, reward, bidOutcome, spend

    /// The `type` string on the wire.
    public var wireName: String {
        switch self {
        case .view: "view"
        case .addToCart: "add_to_cart"
        case .click: "click"
        case .purchase: "purchase"
        case .impression: "impression"
        case .reward: "reward"
        case .bidOutcome: "bid_outcome"
        case .spend: "spend"
        }
    }

    public init?(wireName: String) {
        guard let kind = EventKind.allCases.first(where: { $0.wireName == wireName }) else { return nil }
        self = kind
    }

    public static func < (a: EventKind, b: EventKind) -> Bool { a.rawValue < b.rawValue }
}

/// A `view` or `add_to_cart`.
public struct ItemInteraction: Sendable, Hashable {
    public var user: String
    public var item: String
    public init(user: String, item: String) {
        self.user = user
        self.item = item
    }
}

public struct Click: Sendable, Hashable {
    public var user: String
    /// The decision the click answers, when the front end knows it.
    public var decisionID: String?
    public init(user: String, decisionID: String? = nil) {
        self.user = user
        self.decisionID = decisionID
    }
}

public struct Purchase: Sendable, Hashable {
    public struct Line: Sendable, Hashable {
        public var item: String
        public var price: Money
        public var quantity: Int64
        public init(item: String, price: Money, quantity: Int64) {
            self.item = item
            self.price = price
            self.quantity = quantity
        }
    }
    public var user: String
    public var orderID: String
    public var items: [Line]
    public var revenue: Money
    /// ISO 4217 code, three upper-case ASCII letters.
    public var currency: String
    public init(user: String, orderID: String, items: [Line], revenue: Money, currency: String) {
        self.user = user
        self.orderID = orderID
        self.items = items
        self.revenue = revenue
        self.currency = currency
    }
}

public struct Impression: Sendable, Hashable {
    public var decisionID: String
    public var user: String
    public var action: String
    /// 1-based slot, when the surface has several.
    public var position: Int64?
    /// Probability with which the logging policy chose this action, in (0, 1].
    public var propensity: Double?
    /// The decision point that decided, when the impression is a logged decision: its
    /// policy learns from the rewards that follow, in the partition of the user.
    public var surface: String? { decision?.surface }
    /// The context features the decision was made on, by name.
    public var context: [String: Double] { decision?.context ?? [:] }
    /// The chosen arm's feature values (policies with a shared linear payoff).
    public var armFeatures: [Double] { decision?.armFeatures ?? [] }
    /// The price quoted, when the impression is a logged price decision: `action` is then
    /// the product, and the pricing surface learns its demand, not a bandit.
    public var price: Money? { decision?.price }
    // Boxed (an indirect case): with these fields inline, copying an event went through
    // memmove, 3 % of decoding's time, for impressions that mostly carry none of them.
    private let logged: Logged?
    private indirect enum Logged: Sendable, Hashable { case decision(LoggedDecision) }
    private var decision: LoggedDecision? {
        guard case .decision(let d)? = logged else { return nil }
        return d
    }

    public init(
        decisionID: String, user: String, action: String, position: Int64? = nil, propensity: Double? = nil, surface: String? = nil,
        context: [String: Double] = [:], armFeatures: [Double] = [], price: Money? = nil
    ) {
        self.decisionID = decisionID
        self.user = user
        self.action = action
        self.position = position
        self.propensity = propensity
        let carries = surface != nil || !context.isEmpty || !armFeatures.isEmpty || price != nil
        logged = carries ? .decision(LoggedDecision(surface: surface, context: context, armFeatures: armFeatures, price: price)) : nil
    }
}

/// What only an impression that is a logged decision carries.
struct LoggedDecision: Sendable, Hashable {
    var surface: String?
    var context: [String: Double]
    var armFeatures: [Double]
    var price: Money?
}

public struct Reward: Sendable, Hashable {
    public var decisionID: String
    public var value: Double
    public var user: String?
    public init(decisionID: String, value: Double, user: String? = nil) {
        self.decisionID = decisionID
        self.value = value
        self.user = user
    }
}

public struct BidOutcome: Sendable, Hashable {
    public var auctionID: String
    public var won: Bool
    /// The clearing CPM (the exchange's `${AUCTION_PRICE}`): one impression costs a thousandth.
    public var clearingPrice: Money?
    public var click: Bool
    public var conversion: Bool
    public var user: String?
    /// Which notice it is, when it is one of several about the same auction (nil: the
    /// whole outcome in one event).
    public var notice: BidNotice?
    public init(
        auctionID: String, won: Bool, clearingPrice: Money?, click: Bool = false, conversion: Bool = false, user: String? = nil, notice: BidNotice? = nil
    ) {
        self.auctionID = auctionID
        self.won = won
        self.clearingPrice = clearingPrice
        self.click = click
        self.conversion = conversion
        self.user = user
        self.notice = notice
    }

    /// Whether this event tells how the auction went (a whole outcome, a win or a loss),
    /// rather than following up on one already told (billing, click, conversion).
    public var settlesAuction: Bool { notice == nil || notice == .win || notice == .loss }
}

/// The notices an exchange sends about one bid, each a `bid_outcome` event: the win
/// (`nurl`), the billing (`burl`), the loss (`lurl`), then a click or a conversion.
public enum BidNotice: String, Sendable, Hashable, CaseIterable {
    case win, billing, loss, click, conversion
}

public struct Spend: Sendable, Hashable {
    public var channel: String
    public var amount: Money
    public var day: Day
    public init(channel: String, amount: Money, day: Day) {
        self.channel = channel
        self.amount = amount
        self.day = day
    }
}
