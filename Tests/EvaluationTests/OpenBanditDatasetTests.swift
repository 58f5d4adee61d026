import Foundation
import Testing

@testable import Evaluation

/// The repository root, found from this file's path.
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// The Open Bandit Dataset sample, next to the repository (see the shared data README).
let obdDirectory = repositoryRoot + "/../shared/data/obd"
let obdPresent = FileManager.default.fileExists(atPath: obdDirectory + "/random/all/all.csv")

@Suite(.enabled(if: obdPresent, "the Open Bandit Dataset is not at ../shared/data/obd")) struct OpenBanditDatasetTests {
    func load(_ policy: String, _ campaign: String) throws -> LoggedBandit {
        try OpenBanditDataset.load(log: "\(obdDirectory)/\(policy)/\(campaign)/\(campaign).csv", items: "\(obdDirectory)/\(policy)/\(campaign)/item_context.csv")
    }

    /// The uniform-random policy evaluated on the Thompson-sampling log: its value is the
    /// click rate the random log observed in the same week.
    @Test(arguments: ["all", "men"]) func theUniformPolicyOnTheBTSLogCoversTheRandomLogsClickRate(campaign: String) throws {
        let bts = try load("bts", campaign)
        let random = try load("random", campaign)
        #expect(bts.count == 10_000 && bts.rejected.isEmpty && !bts.propensityIssues.any)
        let uniform = FixedPolicy.uniform(actions: bts.actionCount, positions: bts.positionCount)
        let r = OffPolicyEvaluation.evaluate(uniform, on: bts, model: RewardModel(fitting: bts), settings: EstimatorSettings())
        let truth = random.observedMean
        for name in ["ips", "snips", "dr", "sndr"] {
            let e = r.estimates[name]!
            #expect(e.lower <= truth && truth <= e.upper, "\(campaign) \(name): [\(e.lower), \(e.upper)] vs observed \(truth)")
        }
        #expect(r.effectiveSampleSize > 100 && r.effectiveSampleSize < Double(bts.count))
    }

    /// tools/obp-compare.py: Arbiter's estimates equal obp 0.4.0's on the same inputs, and
    /// both directions of the random/BTS check hold. Skipped only without Python.
    @Test(.enabled(if: pythonPresent, "python3 is not installed: the obp comparison cannot run"))
    func estimatesEqualOpenBanditPipelines() throws {
        let arbiter = repositoryRoot + "/.build/debug/arbiter"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", repositoryRoot + "/tools/obp-compare.py", "--arbiter", arbiter, "--data", obdDirectory]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        print(output)
        #expect(process.terminationStatus == 0, "tools/obp-compare.py:\n\(output)")
    }
}

let pythonPresent: Bool = {
    ["/usr/bin/python3", "/usr/local/bin/python3"].contains { FileManager.default.isExecutableFile(atPath: $0) }
}()
