package metrics

// CI computes pipeline health on the default branch: success rate over
// pipelines that finished success or failed (canceled and skipped excluded),
// and duration and queue time of finished ones, each in the period it finished.
func CI(in Input, o Options) []*Metric {
	var success []hit
	var duration, queue []sample
	for i := range in.Pipelines {
		p := &in.Pipelines[i]
		if !p.IsDefaultBranch {
			continue
		}
		at := p.UpdatedAt
		if p.FinishedAt != nil {
			at = *p.FinishedAt
		}
		switch p.Status {
		case "success", "failed":
			success = append(success, hit{at, p.Status == "success"})
		default:
			if p.Status != "canceled" {
				continue
			}
		}
		if p.DurationS != nil && p.FinishedAt != nil {
			duration = append(duration, sample{at, *p.DurationS})
		}
		if p.QueuedDurationS != nil && p.FinishedAt != nil {
			queue = append(queue, sample{at, *p.QueuedDurationS})
		}
	}
	return []*Metric{o.ratio("pipeline_success_rate", success), o.durations("pipeline_duration", duration), o.durations("pipeline_queue_time", queue)}
}
