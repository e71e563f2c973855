// Package metrics derives the numbers of METRICS.md from normalized records.
// Everything here is a pure function of its inputs: no I/O, no clock (now is
// an input), so the same records give the same values wherever they are shown.
package metrics

import (
	"fmt"
	"math"
	"math/bits"
	"regexp"
	"slices"
	"sort"
	"time"

	"github.com/devpulse/devpulse/models"
)

// Input is what a computation sees: records already narrowed to one scope.
type Input struct {
	MergeRequests []models.MergeRequest // with Commits and Reviews
	Deployments   []models.Deployment   // with Changes
	Pipelines     []models.Pipeline
	Issues        []models.Issue
	Sprints       []models.Sprint
	// shared is what Share computed once for every window of this input,
	// with the options it was computed for.
	shared *shared
}

type shared struct {
	a   analysis
	key string
	// The records it was worked out on: an input whose records were
	// replaced since is analysed again (its changes are indexed by their
	// MR's position).
	mrs    []models.MergeRequest
	deps   []models.Deployment
	issues []models.Issue
}

// same reports whether in holds the records the analysis was worked out on.
func (s *shared) same(in Input) bool {
	return sameSlice(s.mrs, in.MergeRequests) && sameSlice(s.deps, in.Deployments) && sameSlice(s.issues, in.Issues)
}

func sameSlice[T any](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// analysisKey names the options the attribution depends on; an input
// shared under other options is worked out again, never reused.
func (o Options) analysisKey() string {
	prod := ""
	if o.Production != nil {
		prod = o.Production.String()
	}
	return fmt.Sprintf("%q %v %q %q %q %v", prod, o.AttributionWindow, o.IncidentLabels, o.NotChangeLabels, o.IncidentTypes, o.IncidentPriorities)
}

// Share returns in with the attribution of changes, failures and incidents
// to deployments done once: it depends on the records and on the options
// other than the window (production, incidents, attribution window), so the
// window, the whole periods around it and the previous window computed with
// these options read the same one instead of redoing it. A computation with
// other production, incident or attribution options works its own out.
func Share(in Input, o Options) Input {
	in.shared = nil
	in.shared = &shared{a: analyse(in, o), key: o.analysisKey(), mrs: in.MergeRequests, deps: in.Deployments, issues: in.Issues}
	return in
}

// Options are the configurable choices of METRICS.md.
type Options struct {
	Since, Until       time.Time           // the window, half-open [Since, Until)
	Location           *time.Location      // metrics.timezone: periods are cut here
	Grain              string              // day | week | month | quarter
	Production         *regexp.Regexp      // environment names counted as production when the tier is unknown
	AttributionWindow  time.Duration       // incidents.attribution_window (default 7 days)
	IncludeBots        bool                // count bot MRs in throughput
	IncidentLabels     []string            // incidents.labels (default incident)
	NotChangeLabels    []string            // incidents.not_change_labels (default not-change-related)
	IncidentPriorities map[string][]string // by source (jira, redmine): incidents.jira_priorities, .redmine_priorities
	IncidentTypes      []string            // issue types that are incidents: GitLab's incident, incidents.redmine_trackers
	BenchmarkYear      int                 // metrics.benchmark_year (default 2024): the legacy tiers
	BenchmarkIndustry  string              // metrics.benchmark_industry (default all): the Quick Check reference shown beside dora_score
	Flow               FlowOptions
	// Now is when the data was read: a period that had not ended by then is
	// partial. Zero means Until.
	Now time.Time
	// series, when set, is the range the series cover instead of the
	// window: the whole periods around it (Compute), so that the metrics
	// built from samples give the window's values and the whole periods'
	// series in one pass over the records. It always holds the window.
	series *span
}

// span is a half-open range of instants.
type span struct{ since, until time.Time }

// DefaultOptions fills what METRICS.md gives defaults for.
func DefaultOptions(since, until time.Time) Options {
	return Options{Since: since, Until: until, Location: time.UTC, Grain: "week",
		Production: regexp.MustCompile(`(?i)^(prod|production)`), AttributionWindow: 7 * 24 * time.Hour,
		IncidentLabels: []string{"incident"}, NotChangeLabels: []string{"not-change-related"}, IncidentTypes: []string{"incident"}, BenchmarkYear: 2024, BenchmarkIndustry: "all", Flow: FlowOptions{ActiveStatuses: []string{"In Progress"}}}
}

// Point is one period of a series.
type Point struct {
	PeriodStart time.Time // local midnight in Options.Location
	PeriodEnd   time.Time // exclusive
	Value       *float64
	// P85 is a distribution's p85 over the period (Value is its p50);
	// nil for other metrics.
	P85 *float64
	N   int
	// Partial: the period had not ended when the data was read, so its
	// value is over part of it and must never replace a whole one.
	Partial bool
}

// Metric is one metric of one scope over the window.
type Metric struct {
	Name   string
	Unit   string // seconds | ratio | count | per_day
	Value  *float64
	P50    *float64
	P85    *float64
	Mean   *float64
	N      int
	Tier   string
	Year   int    // benchmark year of Tier
	Band   string // deployment_frequency only
	Series []Point
	Parts  map[string]*Metric // lead_time_breakdown: coding, pickup, review, deploy; throughput: by type
	// Sprints holds velocity's and say/do's per-sprint detail.
	Sprints []SprintStat
}

// IsDistribution tells whether the metric reports p50/p85 (durations, sizes)
// rather than a single value.
func (m *Metric) IsDistribution() bool { return m.Unit == "seconds" || m.Unit == "lines" }

// Set is the result for one scope, by metric name.
type Set map[string]*Metric

func ptr(f float64) *float64 { return &f }

// Percentile is continuous (linear interpolation between closest ranks), as
// PERCENTILE_CONT / quantile_cont in Snowflake and DuckDB. xs need not be sorted.
// It returns nil for no samples: a metric with n = 0 is absent, not 0.
func Percentile(xs []float64, p float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	return percentiles(append([]float64(nil), xs...), p)[0]
}

// percentiles is, for each of ps (ascending), the p-th percentile of s as
// Percentile defines it: with h = p·(n−1), the order statistics ⌊h⌋ and
// ⌊h⌋+1 interpolated. They are found by selection, which reorders s: linear
// where a sort is n log n, over millions of lead-time samples, and the same
// values, since an order statistic does not depend on how it is found. s
// holds numbers (no NaN).
func percentiles(s []float64, ps ...float64) []*float64 {
	out := make([]*float64, len(ps))
	if len(s) == 0 {
		return out
	}
	// s[:hi] is unordered; every element from hi on is at least as large,
	// and s[hi] (when hi < len(s)) is order statistic hi.
	hi := len(s)
	for k := len(ps) - 1; k >= 0; k-- {
		h := ps[k] * float64(len(s)-1)
		lo := math.Floor(h)
		i := min(int(lo), len(s)-1)
		if i < hi {
			nth(s[:hi], i)
		}
		v := s[i]
		if i+1 < len(s) && h > lo {
			v += (h - lo) * (slices.Min(s[i+1:]) - v)
		}
		out[k] = &v
		hi = i
	}
	return out
}

// nth reorders s so that s[k] is the k-th smallest, none after it smaller
// and none before it larger (quickselect; a sort if the pivots go badly).
func nth(s []float64, k int) {
	lo, hi := 0, len(s)-1
	for budget := 2*bits.Len(uint(len(s))) + 8; lo < hi; budget-- {
		if budget == 0 {
			slices.Sort(s[lo : hi+1])
			return
		}
		m := lo + (hi-lo)/2
		if s[m] < s[lo] {
			s[m], s[lo] = s[lo], s[m]
		}
		if s[hi] < s[lo] {
			s[hi], s[lo] = s[lo], s[hi]
		}
		if s[hi] < s[m] {
			s[hi], s[m] = s[m], s[hi]
		}
		p := s[m]
		i, j := lo, hi
		for i <= j {
			for s[i] < p {
				i++
			}
			for s[j] > p {
				j--
			}
			if i <= j {
				s[i], s[j] = s[j], s[i]
				i++
				j--
			}
		}
		// s[lo..j] <= p <= s[i..hi], and what lies between equals p.
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return
		}
	}
}

func mean(xs []float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	t := 0.0
	for _, x := range xs {
		t += x
	}
	return ptr(t / float64(len(xs)))
}

// PeriodStart is the start of t's period in loc: local midnight of the day,
// the ISO week's Monday, the month's or the quarter's first day.
func PeriodStart(t time.Time, grain string, loc *time.Location) time.Time {
	l := t.In(loc)
	d := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	switch grain {
	case "week":
		wd := (int(d.Weekday()) + 6) % 7 // Monday = 0
		return d.AddDate(0, 0, -wd)
	case "month":
		return time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, loc)
	case "quarter":
		q := (int(l.Month()) - 1) / 3
		return time.Date(l.Year(), time.Month(q*3+1), 1, 0, 0, 0, 0, loc)
	}
	return d
}

// NextPeriod is the start of the period after start.
func NextPeriod(start time.Time, grain string) time.Time {
	switch grain {
	case "week":
		return start.AddDate(0, 0, 7)
	case "month":
		return start.AddDate(0, 1, 0)
	case "quarter":
		return start.AddDate(0, 3, 0)
	}
	return start.AddDate(0, 0, 1)
}

// seriesSpan is the range the series cover: the window, unless Compute
// widened it to whole periods.
func (o Options) seriesSpan() (since, until time.Time) {
	if o.series != nil {
		return o.series.since, o.series.until
	}
	return o.Since, o.Until
}

// periods lists the periods that intersect the series' range.
func (o Options) periods() []time.Time {
	since, until := o.seriesSpan()
	var out []time.Time
	for p := PeriodStart(since, o.Grain, o.Location); p.Before(until); p = NextPeriod(p, o.Grain) {
		out = append(out, p)
	}
	return out
}

func (o Options) inWindow(t time.Time) bool {
	return !t.Before(o.Since) && t.Before(o.Until)
}

// inSeries tells whether t falls in a period of the series. The series'
// range holds the window, so a sample outside it counts nowhere.
func (o Options) inSeries(t time.Time) bool {
	since, until := o.seriesSpan()
	return !t.Before(since) && t.Before(until)
}

// windowOnly is o with its series over the window: for the metrics whose
// series are not bucketed samples (flow's, timed by the window's end).
func (o Options) windowOnly() Options {
	o.series = nil
	return o
}

// sample is one value, timed by the end event that puts it in a period.
type sample struct {
	at time.Time
	v  float64
}

// durations makes a p50/p85 metric with its series (series values are p50).
func (o Options) durations(name string, xs []sample) *Metric {
	m := &Metric{Name: name, Unit: "seconds"}
	ps := o.periods()
	all, by := o.bucket(xs, ps)
	m.N = len(all)
	q := percentiles(all, 0.5, 0.85) // local slices: reordered in place
	m.P50, m.P85 = q[0], q[1]
	for i, p := range ps {
		q := percentiles(by[i], 0.5, 0.85)
		m.Series = append(m.Series, Point{PeriodStart: p, PeriodEnd: NextPeriod(p, o.Grain), Value: q[0], P85: q[1], N: len(by[i])})
	}
	return m
}

// bucket splits the samples' values into those of the window (all) and
// those of each period of the series (by), in sample order. The periods'
// slices are cut from one array sized by a first count: appends to a slice
// per period would copy millions of values as they grow.
func (o Options) bucket(xs []sample, ps []time.Time) (all []float64, by [][]float64) {
	period := make([]int32, len(xs)) // index in ps, -1 outside the series
	counts := make([]int, len(ps))
	nAll, nSeries := 0, 0
	for j, s := range xs {
		period[j] = -1
		if o.inWindow(s.at) {
			nAll++
		}
		if o.inSeries(s.at) {
			i := periodIndex(ps, s.at)
			period[j] = int32(i)
			counts[i]++
			nSeries++
		}
	}
	all = make([]float64, 0, nAll)
	buf := make([]float64, nSeries)
	by = make([][]float64, len(ps))
	off := 0
	for i, c := range counts {
		by[i] = buf[off : off : off+c]
		off += c
	}
	for j, s := range xs {
		if o.inWindow(s.at) {
			all = append(all, s.v)
		}
		if i := period[j]; i >= 0 {
			by[i] = append(by[i], s.v)
		}
	}
	return all, by
}

// periodIndex is the index in ps (o.periods(), ascending) of the period
// holding t, an instant inside the window: the last start at or before it,
// the same as PeriodStart(t) without a calendar computation per sample.
func periodIndex(ps []time.Time, t time.Time) int {
	return sort.Search(len(ps), func(i int) bool { return ps[i].After(t) }) - 1
}

// ratio makes a numerator/denominator metric; each event carries its hit.
type hit struct {
	at  time.Time
	yes bool
}

func (o Options) ratio(name string, xs []hit) *Metric {
	m := &Metric{Name: name, Unit: "ratio"}
	type acc struct{ yes, n int }
	ps := o.periods()
	by := make([]acc, len(ps))
	total := acc{}
	for _, h := range xs {
		if o.inWindow(h.at) {
			total.n++
			if h.yes {
				total.yes++
			}
		}
		if o.inSeries(h.at) {
			a := &by[periodIndex(ps, h.at)]
			a.n++
			if h.yes {
				a.yes++
			}
		}
	}
	m.N = total.n
	if total.n > 0 {
		m.Value = ptr(float64(total.yes) / float64(total.n))
	}
	for i, p := range ps {
		pt := Point{PeriodStart: p, PeriodEnd: NextPeriod(p, o.Grain)}
		if a := by[i]; a.n > 0 {
			pt.Value, pt.N = ptr(float64(a.yes)/float64(a.n)), a.n
		}
		m.Series = append(m.Series, pt)
	}
	return m
}

// counts makes a count metric with its series.
func (o Options) counts(name string, at []time.Time) *Metric {
	m := &Metric{Name: name, Unit: "count"}
	ps := o.periods()
	by := make([]int, len(ps))
	for _, t := range at {
		if o.inWindow(t) {
			m.N++
		}
		if o.inSeries(t) {
			by[periodIndex(ps, t)]++
		}
	}
	m.Value = ptr(float64(m.N))
	for i, p := range ps {
		m.Series = append(m.Series, Point{PeriodStart: p, PeriodEnd: NextPeriod(p, o.Grain), Value: ptr(float64(by[i])), N: by[i]})
	}
	return m
}

// Compute derives every metric GitLab-shaped data can feed. Window values
// are over [Since, Until); every series point is over its whole period
// (METRICS.md: stored periods are whole periods), so a week's value does
// not depend on the day the window began.
func Compute(in Input, o Options) Set {
	o.series = nil
	whole, horizon := o.wholePeriods()
	if whole.Since.Equal(o.Since) && whole.Until.Equal(o.Until) {
		set := compute(in, o)
		markPartial(set, horizon)
		return set
	}
	// One pass gives the window's values and the whole periods' series of
	// every metric built from timed samples; flow's series (work in
	// progress at the window's end, its days) are worked out over the
	// whole periods on their own.
	wide := o
	wide.series = &span{whole.Since, whole.Until}
	set := compute(in, wide)
	for _, w := range Flow(in, whole) {
		if m := set[w.Name]; m != nil && !perSprint[w.Name] {
			takeSeries(m, w)
		}
	}
	markPartial(set, horizon)
	return set
}

// takeSeries gives m the series of w, and each of m's parts its twin's.
func takeSeries(m, w *Metric) {
	m.Series = w.Series
	for part, pm := range m.Parts {
		if wp := w.Parts[part]; wp != nil {
			pm.Series = wp.Series
		}
	}
}

// perSprint series are per sprint, not per period.
var perSprint = map[string]bool{"velocity": true, "say_do_ratio": true}

func compute(in Input, o Options) Set {
	set := Set{}
	a := analyse(in, o) // DORA's and the AI comparison's deployed changes, once
	for _, m := range doraOf(a, in, o) {
		set[m.Name] = m
	}
	for _, m := range Review(in, o) {
		set[m.Name] = m
	}
	for _, m := range CI(in, o) {
		set[m.Name] = m
	}
	for _, m := range Flow(in, o.windowOnly()) {
		set[m.Name] = m
	}
	for _, m := range aiOf(a, in, o) {
		set[m.Name] = m
	}
	return set
}

// wholePeriods is o widened to whole periods: from the start of Since's
// period to the end of Until's, but not past the data (Now, else Until),
// which is the horizon after which a period is partial.
func (o Options) wholePeriods() (Options, time.Time) {
	horizon := o.Now
	if horizon.IsZero() {
		horizon = o.Until
	}
	w := o
	w.Since = PeriodStart(o.Since, o.Grain, o.Location)
	w.Until = NextPeriod(PeriodStart(o.Until.Add(-time.Nanosecond), o.Grain, o.Location), o.Grain)
	w.Until = minTime(w.Until, maxTime(horizon, o.Until))
	return w, horizon
}

func markPartial(set Set, horizon time.Time) {
	for name, m := range set {
		if perSprint[name] {
			continue
		}
		for _, ms := range append([]*Metric{m}, partsOf(m)...) {
			for i := range ms.Series {
				ms.Series[i].Partial = ms.Series[i].PeriodEnd.After(horizon)
			}
		}
	}
}

func partsOf(m *Metric) []*Metric {
	out := make([]*Metric, 0, len(m.Parts))
	for _, p := range m.Parts {
		out = append(out, p)
	}
	return out
}
