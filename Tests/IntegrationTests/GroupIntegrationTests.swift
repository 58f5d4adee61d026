import Common
import Events
import Foundation
import FoundationNetworking
import Stream
import Testing

/// Three `arbiter serve` processes in one consumer group act as one engine: each keeps
/// snapshots in an object store (moto, a real S3 API server) and its own local directory,
/// decisions go to any of them, rewards through the stream or through any process, and
/// the group learns each reward once, decides alike, and forwards per-user reads to the
/// owner. One broker, four partitions, real processes.
@Suite(.serialized) struct GroupIntegrationTests {
    static let partitions = 4

    final class Group: @unchecked Sendable {
        let broker: Broker
        let s3: S3Server
        var engines: [EngineProcess]
        let dir: String

        init(name: String) throws {
            s3 = try S3Server()
            try s3.createBucket("snapshots")
            broker = try Broker()
            try broker.createEngineTopics(partitions: GroupIntegrationTests.partitions)
            dir = Paths.temporary(name)
            engines = []
            for k in 1...3 {
                var extra = s3.engineEnvironment(bucket: "snapshots", prefix: name)
                extra["ARBITER_DECISIONS_INSTANCE"] = "g\(k)"
                extra["ARBITER_DECISIONS_SEED"] = "5"
                extra["ARBITER_ENGINE_PUBLISH_INTERVAL_MS"] = "200"
                extra["ARBITER_HTTP_ADMIN_TOKEN"] = "tok"
                // Each process has a local directory of its own: nothing is shared on disk.
                engines.append(EngineProcess(broker: broker, group: name, snapshots: dir + "/local-\(k)", name: "g\(k)", extra: extra))
            }
        }

        var running: [EngineProcess] { engines.filter(\.isRunning) }

        func start() async throws {
            for e in engines { try e.start() }
            try await settle()
        }

        /// Waits until the running processes hold every partition between them, each once,
        /// and every one of them sees the same members.
        func settle(seconds: Double = 120) async throws {
            let live = running
            try await live[0].eventually(seconds, "the group holds every partition once") {
                var held: [Int] = []
                var members: Set<Int> = []
                for e in live {
                    let s = try await e.status()
                    held += s.heldPartitions
                    members.insert(((s["view"] as? [String: Any])?["members"] as? [Any])?.count ?? -1)
                }
                return held.sorted() == Array(0..<GroupIntegrationTests.partitions) && members == [live.count]
            }
        }

        /// Waits until every running process's view has the same fingerprint, twice in a
        /// row a second apart (nothing is still on its way), and returns the status.
        func quiesce(seconds: Double = 120) async throws -> [String: Any] {
            var last = ""
            var status: [String: Any] = [:]
            try await running[0].eventually(seconds, "equally fresh views on every process") {
                let views = try await self.running.asyncMap { try await $0.status() }
                let prints = Set(views.map { ($0["view"] as? [String: Any])?["fingerprint"] as? String ?? "" })
                guard prints.count == 1, let print = prints.first else { return false }
                defer { last = print }
                status = views[0]
                try await Task.sleep(for: .milliseconds(800))
                return print == last
            }
            return status
        }

        func stop() async throws {
            for e in running { try await e.terminate() }
            broker.stop()
        }
    }

    func surface(_ e: EngineProcess, _ name: String) async throws -> [String: Any] {
        let (code, body) = try await e.get("/v1/surfaces/\(name)")
        guard code == 200, let json = try JSONSerialization.jsonObject(with: body) as? [String: Any] else { throw HarnessError("surface \(code)") }
        return json
    }

    func counters(_ e: EngineProcess, _ name: String) async throws -> [String: Int] {
        try await surface(e, name)["counters"] as? [String: Int] ?? [:]
    }

    /// Every record of the events topic, one file per partition, in offset order.
    func partitionFiles(_ broker: Broker, into dir: String) async throws -> [String] {
        let records = try await readTopic("arbiter.events", broker: broker)
        var files: [String] = []
        for p in 0..<Self.partitions {
            let lines = records.filter { $0.partition == p }.sorted { $0.offset < $1.offset }.map { String(decoding: $0.value, as: UTF8.self) }
            let path = dir + "/partition-\(p).jsonl"
            try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            files.append(path)
        }
        return files
    }

    /// The decisions in the events topic by id (impression events naming a surface).
    func logged(_ broker: Broker) async throws -> Set<String> {
        var decoder = EventDecoder()
        var ids = Set<String>()
        for m in try await readTopic("arbiter.events", broker: broker) {
            if case .success(let e) = decoder.decode(m.value), case .impression(let i) = e.body, i.surface != nil { ids.insert(i.decisionID) }
        }
        return ids
    }

    func produceLines(_ lines: [String], _ broker: Broker, _ path: String) async throws {
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        try await waitForExit(try produce(path, to: broker), 60, "produce \(path)")
    }

    @Test func threeProcessesLearnEveryRewardOnceDecideAlikeAndEqualAReplay() async throws {
        let group = try Group(name: "group")
        try await group.start()
        let engines = group.engines
        // 900 decisions round-robin over the three processes, on two surfaces.
        var banner: [(id: String, user: String, action: String, by: Int)] = []
        var offer: [(id: String, user: String)] = []
        var quoted: [(user: String, price: Double)] = []
        for k in 0..<900 {
            let e = engines[k % 3]
            let user = "u\(k % 300)"
            if k % 10 == 0 {
                // Prices too (for shoppers who get no decisions, whose purchases would reward
                // the offer), on a surface that keeps a user's price: answered by the owner of
                // the user's partition, wherever asked; 503 while that owner is not yet known.
                let shopper = "shopper\(k % 300)"
                var (code, a) = try await e.post("/v1/price", #"{"surface":"catalogue","user":"\#(shopper)","products":["cdnow-cd","cdnow-box"]}"#)
                for _ in 0..<50 where code == 503 {
                    try await Task.sleep(nanoseconds: 200_000_000)
                    (code, a) = try await e.post("/v1/price", #"{"surface":"catalogue","user":"\#(shopper)","products":["cdnow-cd","cdnow-box"]}"#)
                }
                #expect(code == 200, "\(a)")
                if let cd = (a["prices"] as? [[String: Any]])?.first, let price = cd["price"] as? Double { quoted.append((shopper, price)) }
            }
            if k % 3 == 1 {
                let (code, d) = try await e.post("/v1/decide", #"{"surface":"offer","user":"\#(user)","context":{"orders":\#(k % 4)}}"#)
                #expect(code == 200, "\(d)")
                offer.append((d["decision_id"] as! String, user))
            } else {
                let (code, d) = try await e.post("/v1/decide", #"{"surface":"home_banner","user":"\#(user)"}"#)
                #expect(code == 200, "\(d)")
                banner.append((d["decision_id"] as! String, user, d["action"] as! String, k % 3))
            }
        }
        // Clicks through the stream for the decisions that showed free_shipping (some
        // twice); an explicit reward through a process other than the one that decided
        // for every fifth other one; purchases by a tenth of the offer's users.
        var lines: [String] = []
        var rewardedBanner = Set<String>()
        var duplicates = 0
        for (i, d) in banner.enumerated() where d.action == "free_shipping" {
            lines.append(#"{"type":"click","v":1,"ts":\#(WallClock.millis),"user":"\#(d.user)","decision_id":"\#(d.id)"}"#)
            if i % 5 == 0 {
                lines.append(lines.last!)
                duplicates += 1
            }
            rewardedBanner.insert(d.id)
        }
        try await produceLines(lines, group.broker, group.dir + "/clicks.jsonl")
        var explicit = 0
        for (i, d) in banner.enumerated() where d.action != "free_shipping" && i % 5 == 0 {
            // Sent to another process than the one that decided, without the user: the id
            // names its partition.
            let (code, _) = try await engines[(d.by + 1) % 3].post("/v1/reward", #"{"decision_id":"\#(d.id)","value":1}"#)
            #expect(code == 202)
            rewardedBanner.insert(d.id)
            explicit += 1
        }
        let buyers = Set(offer.map(\.user).enumerated().filter { $0.offset % 10 == 0 }.map(\.element))
        let purchases = buyers.sorted().enumerated().map { k, user in
            #"{"type":"purchase","v":1,"ts":\#(WallClock.millis),"user":"\#(user)","order_id":"o\#(k)","items":[{"item":"i","price":5,"quantity":1}],"revenue":5,"currency":"EUR"}"#
        }
        try await produceLines(purchases, group.broker, group.dir + "/purchases.jsonl")
        // A third of the priced users buy the CD at the price they were quoted.
        let sales = quoted.enumerated().filter { $0.offset % 3 == 0 }.map { k, q in
            #"{"type":"purchase","v":1,"ts":\#(WallClock.millis),"user":"\#(q.user)","order_id":"cd\#(k)","items":[{"item":"cdnow-cd","price":\#(q.price),"quantity":1}],"revenue":\#(q.price),"currency":"USD"}"#
        }
        try await produceLines(sales, group.broker, group.dir + "/sales.jsonl")

        let status = try await group.quiesce()
        // Every reward learnt exactly once, and every process says so.
        for e in engines {
            let b = try await counters(e, "home_banner")
            #expect(b["decisions"] == banner.count && b["rewards_joined"] == rewardedBanner.count && b["rewards_duplicate"] == duplicates, "\(e.logPath): \(b)")
            #expect(try await surface(e, "home_banner")["model_updates"] as? Int == rewardedBanner.count)
            let o = try await counters(e, "offer")
            #expect(o["decisions"] == offer.count && o["rewards_joined"] == buyers.count, "\(o)")
        }
        #expect(explicit > 20 && rewardedBanner.count > explicit)

        // The group's policies are exactly what a replay of the topic, partition by
        // partition, learns.
        let files = try await partitionFiles(group.broker, into: group.dir)
        let replay = try replaySummary(files, config: Paths.root + "/config/arbiter.yaml")
        let viewDigests = (status["view"] as! [String: Any])["digests"] as! [String: String]
        let replayDigests = replay["shared_digests"] as! [String: String]
        #expect(viewDigests["bandits.decisions"] == replayDigests["bandits.decisions"], "view \(viewDigests), replay \(replayDigests)")
        #expect(viewDigests["bandits.action-statistics"] == replayDigests["bandits.action-statistics"])
        #expect(viewDigests["pricing.quotes"] != nil && viewDigests["pricing.quotes"] == replayDigests["pricing.quotes"], "demand learnt from the quotes and sales")
        #expect(quoted.count == 90 && sales.count == 30)

        // Prices too: the same id gets the same prices from every process (for the kept
        // surface, from the owner, to which the others forward).
        for (k, body) in [#"{"surface":"clearance","user":"same-p","product":"poster","context":{"mobile":1},"decision_id":"price-1"}"#,
                          #"{"surface":"catalogue","user":"same-q","products":["cdnow-cd","cdnow-box"],"decision_id":"price-2"}"#].enumerated() {
            var answers: [String] = []
            for e in engines {
                let (code, a) = try await e.post("/v1/price", body)
                #expect(code == 200, "\(a)")
                answers.append("\((a["prices"] as? [[String: Any]] ?? []).map { "\($0["price"] ?? "")/\($0["propensity"] ?? "")" })")
            }
            #expect(Set(answers).count == 1, "request \(k): \(answers)")
        }

        // Equally fresh views: the same decision id gets the same answer from every process.
        for k in 0..<20 {
            var answers: [[String: String]] = []
            for e in engines {
                let (code, d) = try await e.post("/v1/decide", #"{"surface":"offer","user":"same-\#(k)","decision_id":"same-\#(k)","context":{"orders":2}}"#)
                #expect(code == 200)
                answers.append(["action": "\(d["action"] ?? "")", "propensity": "\(d["propensity"] ?? "")", "version": "\(d["policy_version"] ?? "")", "updates": "\(d["model_updates"] ?? "")"])
            }
            #expect(Set(answers).count == 1, "same-\(k): \(answers)")
        }

        // A per-user read answers the same from every process: the owner's answer.
        for user in ["u7", "u8", "u9", "u10"] {
            var bodies: [Data] = []
            for e in engines {
                let (code, body) = try await e.get("/v1/users/\(user)")
                #expect(code == 200, "\(String(decoding: body, as: UTF8.self))")
                bodies.append(body)
            }
            #expect(Set(bodies).count == 1, "\(user): \(bodies.map { String(decoding: $0, as: UTF8.self) })")
            let doc = try JSONSerialization.jsonObject(with: bodies[0]) as! [String: Any]
            let owner = doc["owner"] as! String
            let members = (status["view"] as! [String: Any])["members"] as! [[String: Any]]
            let owned = members.first { $0["instance"] as? String == owner }?["partitions"] as? [Int] ?? []
            #expect(owned.contains(doc["partition"] as! Int), "\(user) answered by \(owner), which holds \(owned)")
            if ["u7", "u10"].contains(user) {
                // Only offers, and no purchase: their latest offer decision is open.
                #expect((doc["open_decisions"] as? [[String: Any]])?.map { $0["surface"] as? String } == ["offer"], "\(doc)")
            }
        }

        // A campaign paused through one process stops bidding on all of them (the change
        // travels the state topic), and resumed through another bids again everywhere: the
        // resume is built on the pause (version 2, not a second version 1 that the others
        // would refuse as already held), even when that process had not yet read the pause.
        let bidRequest = try String(contentsOfFile: Paths.root + "/../shared/data/openrtb/6.2.1-request-example-1-simple-banner.json", encoding: .utf8)
        func bids(_ k: Int) async throws -> [Int] {
            var codes: [Int] = []
            for (i, e) in engines.enumerated() {
                codes.append(try await e.post("/v1/bid", bidRequest.replacingOccurrences(of: "55816b39711f9b5acf3b90e313ed29e51665623f", with: "grp-\(k)-\(i)")).status)
            }
            return codes
        }
        #expect(try await bids(0) == [200, 200, 200])
        let paused = try await admin(engines[0], "/v1/admin/campaigns/spring-shoes/pause")
        #expect(paused.status == 200 && paused.body["version"] as? Int == 1, "\(paused)")
        var round = 1
        try await engines[1].eventually(30, "every process stops bidding for the paused campaign") {
            round += 1
            return try await bids(round) == [204, 204, 204]
        }
        let resumed = try await admin(engines[2], "/v1/admin/campaigns/spring-shoes/resume")
        #expect(resumed.status == 200 && resumed.body["version"] as? Int == 2 && resumed.body["paused"] as? Bool == false, "\(resumed)")
        // Back to back through different processes, no wait between: each change is built
        // on the one before.
        for (k, (e, action)) in [(engines[1], "pause"), (engines[0], "resume"), (engines[2], "pause"), (engines[1], "resume")].enumerated() {
            let a = try await admin(e, "/v1/admin/campaigns/spring-shoes/\(action)")
            #expect(a.status == 200 && a.body["version"] as? Int == 3 + k && a.body["paused"] as? Bool == (action == "pause"), "\(action) \(k): \(a)")
        }
        try await engines[0].eventually(30, "every process bids again once it is resumed") {
            round += 1
            return try await bids(round) == [200, 200, 200]
        }

        // A user at the campaign's frequency cap (5) is refused alike by every process:
        // the two that do not hold the user's partition forward to its owner, and pass on
        // its 204 with the no-bid reason's header fields.
        let cappedUser = bidRequest.replacingOccurrences(of: "55816b39711f9b5acf3b90e313ed29e51665623f", with: "grp-capped")
        for k in 0..<5 { #expect(try await engines[k % 3].post("/v1/bid", cappedUser).status == 200) }
        for (i, e) in engines.enumerated() {
            let (code, headers) = try await e.postForHeaders("/v1/bid", cappedUser)
            #expect(code == 204 && headers["x-openrtb-nbr"] == "9" && headers["x-arbiter-no-bid"]?.contains("frequency cap") == true, "engine \(i): \(code) \(headers)")
        }
        try await group.stop()
    }

    /// POSTs an admin call with the group's token; returns the status and the answer.
    func admin(_ e: EngineProcess, _ path: String) async throws -> (status: Int, body: [String: Any]) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(e.httpPort)\(path)")!)
        request.httpMethod = "POST"
        request.setValue("Bearer tok", forHTTPHeaderField: "Authorization")
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as! HTTPURLResponse).statusCode, (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:])
    }

    @Test func killMinus9OfOneProcessLosesNothingCountsNothingTwiceAndTheOthersKeepAnswering() async throws {
        let group = try Group(name: "group-kill")
        try await group.start()
        let engines = group.engines
        var answered: [String] = []
        var clicks: [String] = []
        for k in 0..<600 {
            if k == 300 { try await engines[2].kill9() }
            let live = group.running
            let e = live[k % live.count]
            var code = 0
            var d: [String: Any] = [:]
            // Until the group has noticed the death, requests for the dead process's
            // partitions still get answers from the living: they decide on their view.
            for _ in 0..<20 {
                (code, d) = try await e.post("/v1/decide", #"{"surface":"home_banner","user":"k\#(k % 200)"}"#)
                if code == 200 { break }
                try await Task.sleep(for: .milliseconds(250))
            }
            #expect(code == 200, "\(d)")
            guard code == 200 else { continue }
            let id = d["decision_id"] as! String
            answered.append(id)
            if k % 3 == 0 { clicks.append(#"{"type":"click","v":1,"ts":\#(WallClock.millis),"user":"k\#(k % 200)","decision_id":"\#(id)"}"#) }
            if k % 50 == 49 {
                try await produceLines(clicks, group.broker, group.dir + "/clicks-\(k).jsonl")
                clicks = []
            }
        }
        try await group.settle()
        let status = try await group.quiesce()
        // Every decision answered is in the log, including those of the killed process.
        let inLog = try await logged(group.broker)
        #expect(answered.allSatisfy(inLog.contains), "\(answered.filter { !inLog.contains($0) }.count) answered decisions are missing from the log")
        // Nothing lost, nothing twice: the survivors' view equals a replay of the topic.
        let files = try await partitionFiles(group.broker, into: group.dir)
        let replay = try replaySummary(files, config: Paths.root + "/config/arbiter.yaml")
        let viewDigests = (status["view"] as! [String: Any])["digests"] as! [String: String]
        #expect(viewDigests["bandits.decisions"] == (replay["shared_digests"] as! [String: String])["bandits.decisions"])
        let c = try await counters(group.running[0], "home_banner")
        #expect(c["decisions"] == answered.count && c["rewards_joined"] == 200, "\(c)")
        // The partitions the killed process held were restored from the object store.
        let logs = group.running.map { (try? String(contentsOfFile: $0.logPath, encoding: .utf8)) ?? "" }.joined()
        #expect(logs.contains("restored from snapshot") && logs.contains("s3://snapshots/group-kill"), "the survivors restore from the object store")
        try await group.stop()
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for e in self { out.append(try await transform(e)) }
        return out
    }
}
