/// What this process bid lately and its partitions may not have learnt yet: per campaign,
/// the worst-case cost of the bids of the last `exposureMillis` (the hard stop adds it to
/// the view's spend), in 100 ms buckets so that reading it costs the same at any rate;
/// and per user, the bids of campaigns with a frequency cap of the last `pendingMillis`
/// (a cap counts them until the user's partition has them).
struct RecentBids {
    static let bucketMillis: Int64 = 100
    let exposureMillis: Int64
    let pendingMillis: Int64
    private var buckets: [String: [(bucket: Int64, cost: Double)]] = [:]
    private var byUser: [String: [(at: Int64, campaign: String, id: String)]] = [:]
    private var sweptAt: Int64 = 0

    init(exposureMillis: Int64, pendingMillis: Int64) {
        self.exposureMillis = exposureMillis
        self.pendingMillis = pendingMillis
    }

    private var slots: Int { Int(exposureMillis / Self.bucketMillis) + 1 }

    mutating func add(campaign: String, cost: Double, user: String, id: String, capped: Bool, at now: Int64) {
        let b = now / Self.bucketMillis
        var ring = buckets[campaign] ?? Array(repeating: (Int64.min, 0), count: slots)
        let i = Int(b % Int64(ring.count))
        if ring[i].bucket != b { ring[i] = (b, 0) }
        ring[i].cost += cost
        buckets[campaign] = ring
        guard capped else { return }
        byUser[user, default: []].append((now, campaign, id))
        // Users who stopped asking are dropped at most once per window.
        if now - sweptAt > pendingMillis {
            sweptAt = now
            byUser = byUser.filter { $0.value.last.map { now - $0.at <= pendingMillis } ?? false }
        }
    }

    /// The cost of `campaign`'s bids of the last `exposureMillis`.
    func exposure(campaign: String, at now: Int64) -> Double {
        guard let ring = buckets[campaign] else { return 0 }
        let oldest = (now - exposureMillis) / Self.bucketMillis
        return ring.reduce(0) { $1.bucket >= oldest ? $0 + $1.cost : $0 }
    }

    /// The ids of `user`'s bids for `campaign` of the last `pendingMillis`.
    func pending(user: String, campaign: String, at now: Int64) -> [String] {
        (byUser[user] ?? []).filter { $0.campaign == campaign && now - $0.at <= pendingMillis }.map(\.id)
    }
}
