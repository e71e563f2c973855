package metrics

// CI computes pipeline health on the default branch over one set of
// pipelines, those that finished success or failed (canceled and skipped
// excluded, METRICS.md): success rate, duration and queue time, each in the
// period it finished. A canceled pipeline's duration says when someone
// stopped it, not how long CI takes.
func CI(in Input, o Options) []*Metric {
	success := make([]hit, 0, len(in.Pipelines))
	duration, queue := make([]sample, 0, len(in.Pipelines)), make([]sample, 0, len(in.Pipelines))
	for i := range in.Pipelines {
		p := &in.Pipelines[i]
		if !p.IsDefaultBranch {
			continue
		}
		at := p.UpdatedAt
		if p.FinishedAt != nil {
			at = *p.FinishedAt
		}
		if (p.Status != "success" && p.Status != "failed") || !o.inSeries(at) {
			continue
		}
		success = append(success, hit{at, p.Status == "success"})
		if p.DurationS != nil && p.FinishedAt != nil {
			duration = append(duration, sample{at, *p.DurationS})
		}
		if p.QueuedDurationS != nil && p.FinishedAt != nil {
			queue = append(queue, sample{at, *p.QueuedDurationS})
		}
	}
	return []*Metric{o.ratio("pipeline_success_rate", success), o.durations("pipeline_duration", duration), o.durations("pipeline_queue_time", queue)}
}
