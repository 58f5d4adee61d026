import Common
import Events

/// Writes events in the canonical version-1 form: `type`, `v`, `ts` first, then the
/// type's fields in schema order; timestamps as epoch milliseconds.
public enum EventEncoder {
    public static func encode(_ event: Event, into w: inout JSONWriter) {
        w.beginObject()
        w.key("type"); w.string(event.kind.wireName)
        w.key("v"); w.int(Int64(EventDecoder.schemaVersion))
        w.key("ts"); w.int(event.timestamp)
        switch event.body {
        case .view(let e), .addToCart(let e):
            w.key("user"); w.string(e.user)
            w.key("item"); w.string(e.item)
        case .click(let e):
            w.key("user"); w.string(e.user)
            if let d = e.decisionID { w.key("decision_id"); w.string(d) }
        case .purchase(let e):
            w.key("user"); w.string(e.user)
            w.key("order_id"); w.string(e.orderID)
            w.key("items"); w.beginArray()
            for line in e.items {
                w.beginObject()
                w.key("item"); w.string(line.item)
                w.key("price"); w.raw(line.price.description)
                w.key("quantity"); w.int(line.quantity)
                w.endObject()
            }
            w.endArray()
            w.key("revenue"); w.raw(e.revenue.description)
            w.key("currency"); w.string(e.currency)
        case .impression(let e):
            w.key("decision_id"); w.string(e.decisionID)
            w.key("user"); w.string(e.user)
            w.key("action"); w.string(e.action)
            if let p = e.position { w.key("position"); w.int(p) }
            if let p = e.propensity { w.key("propensity"); w.double(p) }
            if let s = e.surface { w.key("surface"); w.string(s) }
            if let p = e.price { w.key("price"); w.raw(p.description) }
            if !e.context.isEmpty {
                w.key("context"); w.beginObject()
                for name in e.context.keys.sorted() {
                    w.key(name); w.double(e.context[name]!)
                }
                w.endObject()
            }
            if !e.armFeatures.isEmpty {
                w.key("arm_features"); w.beginArray()
                for v in e.armFeatures { w.double(v) }
                w.endArray()
            }
        case .reward(let e):
            w.key("decision_id"); w.string(e.decisionID)
            w.key("value"); w.double(e.value)
            if let u = e.user { w.key("user"); w.string(u) }
        case .bidOutcome(let e):
            w.key("auction_id"); w.string(e.auctionID)
            w.key("won"); w.bool(e.won)
            if let p = e.clearingPrice { w.key("clearing_price"); w.raw(p.description) }
            w.key("click"); w.bool(e.click)
            w.key("conversion"); w.bool(e.conversion)
            if let u = e.user { w.key("user"); w.string(u) }
            if let n = e.notice { w.key("notice"); w.string(n.rawValue) }
        case .spend(let e):
            w.key("channel"); w.string(e.channel)
            w.key("amount"); w.raw(e.amount.description)
            w.key("day"); w.string(e.day.description)
        }
        w.endObject()
    }

    /// The canonical JSON bytes of one event.
    public static func encode(_ event: Event) -> [UInt8] {
        var w = JSONWriter()
        encode(event, into: &w)
        return w.bytes
    }
}
