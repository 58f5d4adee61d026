import Common
import Stream

/// The JSON document of an evaluation: the data (rounds kept, rows rejected by reason,
/// propensity issues), the reward model, and each candidate's estimates.
public enum EvaluationReport {
    public static func json(data: LoggedBandit, model: RewardModel, settings: EstimatorSettings, results: [PolicyEvaluation]) -> [UInt8] {
        var w = JSONWriter(reservingCapacity: 4096)
        w.beginObject()
        w.key("data"); w.beginObject()
        w.key("rounds"); w.int(Int64(data.count))
        w.key("actions"); w.int(Int64(data.actionCount))
        w.key("positions"); w.int(Int64(data.positionCount))
        w.key("observed_mean_reward"); w.double(data.observedMean)
        w.key("rejected_rows"); w.beginObject()
        for reason in data.rejected.keys.sorted() { w.key(reason); w.int(Int64(data.rejected[reason]!)) }
        w.endObject()
        let issues = data.propensityIssues
        w.key("propensity_issues"); w.beginObject()
        w.key("missing"); w.int(Int64(issues.missing))
        w.key("zero_or_negative"); w.int(Int64(issues.zero))
        w.key("above_one_clipped"); w.int(Int64(issues.aboveOne))
        w.key("raised_to_floor"); w.int(Int64(issues.clippedBelow))
        w.endObject()
        w.endObject()
        w.key("reward_model"); w.beginObject()
        w.key("kind"); w.string("context-free mean reward per action and position, cross-fitted")
        w.key("folds"); w.int(Int64(model.folds))
        w.key("prior_strength"); w.double(model.priorStrength)
        w.endObject()
        w.key("settings"); w.beginObject()
        w.key("switch_tau"); w.double(settings.tau)
        w.key("bootstrap_samples"); w.int(Int64(settings.bootstrapSamples))
        w.key("bootstrap_block_rounds"); w.int(Int64(settings.blockSize(rounds: data.count)))
        w.key("confidence"); w.double(settings.confidence)
        w.key("seed"); w.int(Int64(settings.seed))
        w.endObject()
        w.key("policies"); w.beginArray()
        for r in results {
            w.beginObject()
            w.key("policy"); w.string(r.policy)
            w.key("deterministic"); w.bool(r.deterministic)
            w.key("effective_sample_size"); w.double(r.effectiveSampleSize)
            w.key("maximum_weight"); w.double(r.maximumWeight)
            w.key("replay_matches"); w.int(Int64(r.replayMatches))
            w.key("estimates"); w.beginObject()
            for name in PolicyEvaluation.estimators {
                guard let e = r.estimates[name] else { continue }
                w.key(name); w.beginObject()
                w.key("value"); w.double(e.value)
                w.key("lower"); w.double(e.lower)
                w.key("upper"); w.double(e.upper)
                w.endObject()
            }
            w.endObject()
            w.endObject()
        }
        w.endArray()
        w.endObject()
        w.newline()
        return w.bytes
    }

    /// The reward model's table, so another tool can be given exactly the same q̂:
    /// `{"folds": F, "actions": A, "positions": P, "table": [...]}` with the value for
    /// round t, position k, action a at `((t mod F) * P + k) * A + a`.
    public static func rewardModel(_ model: RewardModel) -> [UInt8] {
        var w = JSONWriter(reservingCapacity: model.table.count * 20 + 64)
        w.beginObject()
        w.key("folds"); w.int(Int64(model.folds))
        w.key("actions"); w.int(Int64(model.actions))
        w.key("positions"); w.int(Int64(model.positions))
        w.key("table"); w.beginArray()
        for v in model.table { w.double(v) }
        w.endArray()
        w.endObject()
        return w.bytes
    }
}
