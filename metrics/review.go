package metrics

import (
	"slices"
	"sort"
	"time"

	"github.com/devpulse/devpulse/models"
)

// Review computes merge-request throughput and review health over MRs merged
// in the window (each in the period of its merge). Bot-authored MRs are left
// out, and count in throughput only with include_bots.
func Review(in Input, o Options) []*Metric {
	// Sized by a first count: slices grown by appends copy their samples
	// at every doubling, for every scope.
	n := 0
	for i := range in.MergeRequests {
		if at := in.MergeRequests[i].MergedAt; at != nil && o.inSeries(*at) {
			n++
		}
	}
	merged := make([]time.Time, 0, n)
	pickup, review := make([]sample, 0, n), make([]sample, 0, n)
	unreviewed := make([]hit, 0, n)
	reviewers, size := make([]sample, 0, n), make([]sample, 0, n)
	var distinct []string
	for i := range in.MergeRequests {
		m := &in.MergeRequests[i]
		if m.MergedAt == nil {
			continue
		}
		at := *m.MergedAt
		if !o.inSeries(at) {
			continue // every value below is timed by the merge
		}
		if m.Author.IsBot {
			if o.IncludeBots {
				merged = append(merged, at)
			}
			continue
		}
		merged = append(merged, at)
		if m.Additions != nil && m.Deletions != nil {
			size = append(size, sample{at, float64(*m.Additions + *m.Deletions)})
		}
		fr, ok := firstReview(m)
		unreviewed = append(unreviewed, hit{at, !ok})
		if ok {
			addNonNeg(&pickup, at, fr.Sub(ready(m)))
			addNonNeg(&review, at, at.Sub(fr))
		}
		// Distinct reviewers need identities: with privacy.people: drop there
		// are no tokens, and the metric is absent rather than guessed.
		// A few reviewers each: a slice, not a map per MR.
		distinct = distinct[:0]
		for _, r := range m.Reviews {
			if r.Reviewer.Token != "" && r.Reviewer.Token != m.Author.Token && !slices.Contains(distinct, r.Reviewer.Token) {
				distinct = append(distinct, r.Reviewer.Token)
			}
		}
		if m.Author.Token != "" {
			reviewers = append(reviewers, sample{at, float64(len(distinct))})
		}
	}
	rpm := o.means("reviewers_per_mr", reviewers)
	sz := o.durations("mr_size", size)
	sz.Unit = "lines"
	return []*Metric{o.counts("mr_throughput", merged), sz, o.durations("pickup_time", pickup), o.durations("review_time", review),
		o.ratio("unreviewed_merge_rate", unreviewed), rpm}
}

// means makes a mean metric (unit count) with its series.
func (o Options) means(name string, xs []sample) *Metric {
	m := &Metric{Name: name, Unit: "count"}
	ps := o.periods()
	all, by := o.bucket(xs, ps)
	m.N = len(all)
	m.Mean = mean(all)
	m.Value = m.Mean
	for i, p := range ps {
		m.Series = append(m.Series, Point{PeriodStart: p, PeriodEnd: NextPeriod(p, o.Grain), Value: mean(by[i]), N: len(by[i])})
	}
	return m
}

// Waiting is an open merge request no one but its author has reviewed yet.
type Waiting struct {
	MR    *models.MergeRequest
	Since time.Time // ready for review (created, or un-drafted)
	For   float64   // seconds waited until at
}

// WaitingForReview lists the open, ready (not draft) merge requests of
// people (not bots) that have no review by anyone but their author at at,
// longest waiting first (ties by id), at most limit of them.
func WaitingForReview(in Input, at time.Time, limit int) []Waiting {
	var out []Waiting
	for i := range in.MergeRequests {
		m := &in.MergeRequests[i]
		if m.State != "opened" || m.Draft || m.Author.IsBot {
			continue
		}
		since := ready(m)
		if since.After(at) {
			continue
		}
		if first, ok := firstReview(m); ok && !first.After(at) {
			continue
		}
		out = append(out, Waiting{MR: m, Since: since, For: at.Sub(since).Seconds()})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].For != out[j].For {
			return out[i].For > out[j].For
		}
		return out[i].MR.ID < out[j].MR.ID
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}
