package metrics

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/devpulse/devpulse/models"
)

// mixed is six weeks of MRs, deployments, pipelines, incidents and issues
// with history, at pseudo-random hours, from Monday 2 March 2026.
func mixed() Input {
	r := rand.New(rand.NewPCG(4, 2))
	var in Input
	h := func(maxDays float64) float64 { return r.Float64() * maxDays * 24 }
	for i := int64(1); i <= 120; i++ {
		c := h(40)
		m := c + 2 + h(3)
		x := mr(i, c, m, []float64{c - 5, c - 1}, reviewed(c+1+h(1)))
		x.Additions, x.Deletions = ptrI(int64(r.IntN(400))), ptrI(int64(r.IntN(100)))
		in.MergeRequests = append(in.MergeRequests, x)
		in.Deployments = append(in.Deployments, dep(i, 1000+i, "production", "success", fmt.Sprint("sha", i), m+h(1), i))
		dur := float64(300 + r.IntN(900))
		st := []string{"success", "failed", "canceled"}[r.IntN(3)]
		in.Pipelines = append(in.Pipelines, models.Pipeline{ID: fmt.Sprint("p", i), ProjectPath: P, Status: st, Ref: "main", IsDefaultBranch: true,
			CreatedAt: at(m), UpdatedAt: at(m + 1), FinishedAt: atp(m + 1), DurationS: &dur})
	}
	for i := int64(1); i <= 10; i++ {
		s := h(40)
		in.Issues = append(in.Issues, incident(900+i, s, s+h(1)))
	}
	for i := 0; i < 60; i++ {
		c := h(38) / 24
		x := issue(fmt.Sprint("W-", i), dh(c, 0), todo(dh(c, 0)), ip(dh(c+r.Float64()*3, 0)), done(dh(c+3+r.Float64()*4, 0)))
		x.ProjectPath = P
		in.Issues = append(in.Issues, x)
	}
	return in
}

func ptrI(v int64) *int64 { return &v }

// TestSeries_WeekIsTheSameWhateverDayTheWindowStarts: METRICS.md "stored
// periods are whole periods": the week of 6 April is one number for every
// metric whether the window began on its Monday or its Sunday (or any day
// between), and equal to the week computed on its own.
func TestSeries_WeekIsTheSameWhateverDayTheWindowStarts(t *testing.T) {
	in := mixed()
	week := time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC)
	until := time.Date(2026, 4, 20, 0, 0, 0, 0, time.UTC)
	values := func(since time.Time) map[string]string {
		o := DefaultOptions(since, until)
		o.Now = until
		out := map[string]string{}
		for name, m := range Compute(in, o) {
			for _, ms := range append([]*Metric{m}, partsOf(m)...) {
				key := name
				if ms != m {
					key = name + "." + ms.Name // parts may share a metric's name (dora_score.throughput)
				}
				for _, p := range ms.Series {
					if p.PeriodStart.Equal(week) {
						v := "absent"
						if p.Value != nil {
							v = fmt.Sprintf("%.6g", *p.Value)
						}
						out[key] = fmt.Sprintf("%s n=%d partial=%v", v, p.N, p.Partial)
					}
				}
			}
		}
		return out
	}
	ref := values(week)
	if len(ref) < 10 {
		t.Fatalf("only %d metrics have a point for the week: %v", len(ref), ref)
	}
	if !strings.HasPrefix(ref["mr_throughput"], "") || ref["mr_throughput"] == "0 n=0 partial=false" {
		t.Fatalf("no MR merged in the week: the test tests nothing (%s)", ref["mr_throughput"])
	}
	var names []string
	for n := range ref {
		names = append(names, n)
	}
	sort.Strings(names)
	for d := 1; d < 7; d++ {
		since := week.AddDate(0, 0, d)
		got := values(since)
		for _, n := range names {
			if got[n] != ref[n] {
				t.Errorf("window from %s: %s of the week of %s = %s, from its Monday %s", since.Format("Mon 2 Jan"), n, week.Format("2 Jan"), got[n], ref[n])
			}
		}
	}
	t.Logf("week of %s, identical for windows starting on each of its 7 days: mr_throughput %s, lead_time_for_changes %s, pipeline_duration %s, throughput %s",
		week.Format("2 Jan 2006"), ref["mr_throughput"], ref["lead_time_for_changes"], ref["pipeline_duration"], ref["throughput"])
}

// TestSeries_PeriodNotEndedIsPartial: the period that had not ended when
// the data was read is marked partial; whole ones are not.
func TestSeries_PeriodNotEndedIsPartial(t *testing.T) {
	in := mixed()
	since := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	now := time.Date(2026, 4, 8, 15, 0, 0, 0, time.UTC) // a Wednesday
	o := DefaultOptions(since, now)
	o.Now = now
	m := Compute(in, o)["mr_throughput"]
	last := m.Series[len(m.Series)-1]
	if !last.Partial || !last.PeriodStart.Equal(time.Date(2026, 4, 6, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("last point %+v, want the week of 6 April, partial", last)
	}
	for _, p := range m.Series[:len(m.Series)-1] {
		if p.Partial {
			t.Errorf("week of %s marked partial", p.PeriodStart.Format("2 Jan"))
		}
	}
}

// TestPeriodIndexIsPeriodStart: the binary search over the window's periods
// that durations uses finds the same period as the calendar computation, in
// every grain and across DST changes.
func TestPeriodIndexIsPeriodStart(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tz database:", err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, loc := range []*time.Location{time.UTC, berlin} {
		for _, grain := range []string{"day", "week", "month", "quarter"} {
			o := DefaultOptions(time.Date(2025, 1, 7, 13, 0, 0, 0, time.UTC), time.Date(2026, 11, 3, 2, 30, 0, 0, time.UTC))
			o.Location, o.Grain = loc, grain
			ps := o.periods()
			span := int64(o.Until.Sub(o.Since))
			for range 5000 {
				at := o.Since.Add(time.Duration(r.Int64N(span)))
				if got, want := ps[periodIndex(ps, at)], PeriodStart(at, grain, loc); !got.Equal(want) {
					t.Fatalf("%s/%s: %v is in the period of %v, periodIndex says %v", loc, grain, at, want, got)
				}
			}
		}
	}
}

// TestCompute_OnePassIsWindowPlusWholePeriods: Compute works the window's
// values and the whole periods' series out in one pass; every metric must
// equal the two computations it replaces — the values over the window, the
// series (and their parts') over the whole periods around it — in every
// grain, for windows cut mid-period, with a partial last period, in a zone
// with DST, shared or not.
func TestCompute_OnePassIsWindowPlusWholePeriods(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tz database:", err)
	}
	reference := func(in Input, o Options) Set {
		set := compute(in, o)
		whole, horizon := o.wholePeriods()
		ws := compute(in, whole)
		for name, m := range set {
			if w := ws[name]; w != nil && !perSprint[name] {
				takeSeries(m, w)
			}
		}
		markPartial(set, horizon)
		return set
	}
	in := mixed()
	checked, widened := 0, 0
	for _, loc := range []*time.Location{time.UTC, berlin} {
		for _, grain := range []string{"day", "week", "month", "quarter"} {
			for _, c := range []struct{ since, until, now time.Time }{
				{time.Date(2026, 3, 4, 13, 0, 0, 0, time.UTC), time.Date(2026, 4, 1, 9, 30, 0, 0, time.UTC), time.Date(2026, 4, 1, 9, 30, 0, 0, time.UTC)},
				{time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 30, 0, 0, 0, 0, time.UTC), time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)},
				{time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 8, 15, 0, 0, 0, time.UTC), time.Time{}},
				{time.Date(2026, 3, 10, 7, 0, 0, 0, time.UTC), time.Date(2026, 3, 26, 7, 0, 0, 0, time.UTC), time.Date(2026, 3, 27, 0, 0, 0, 0, time.UTC)},
			} {
				for _, share := range []bool{false, true} {
					o := DefaultOptions(c.since, c.until)
					o.Location, o.Grain, o.Now = loc, grain, c.now
					x := in
					if share {
						x = Share(in, o)
					}
					got, want := Compute(x, o), reference(x, o)
					if whole, _ := o.wholePeriods(); !whole.Since.Equal(o.Since) || !whole.Until.Equal(o.Until) {
						widened++
					}
					if len(got) != len(want) {
						t.Fatalf("%s/%s %v: %d metrics, want %d", loc, grain, c.since, len(got), len(want))
					}
					for name, w := range want {
						if g := got[name]; !reflect.DeepEqual(g, w) {
							t.Errorf("%s/%s window %v–%v now %v share %v: %s\n got  %s\n want %s", loc, grain, c.since, c.until, c.now, share, name, describe(g), describe(w))
						}
						checked++
					}
				}
			}
		}
	}
	if widened < 8 {
		t.Fatalf("only %d cases had a window off period boundaries: the one pass was hardly exercised", widened)
	}
	t.Logf("%d metrics equal in %d cases cut mid-period", checked, widened)
}

// describe prints a metric with its series and parts for a failure message.
func describe(m *Metric) string {
	if m == nil {
		return "<nil>"
	}
	var b strings.Builder
	v := func(p *float64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprintf("%.6g", *p)
	}
	fmt.Fprintf(&b, "value %s p50 %s p85 %s n %d;", v(m.Value), v(m.P50), v(m.P85), m.N)
	for _, p := range m.Series {
		fmt.Fprintf(&b, " %s:%s/%d%s", p.PeriodStart.Format("01-02"), v(p.Value), p.N, map[bool]string{true: "p"}[p.Partial])
	}
	parts := make([]string, 0, len(m.Parts))
	for k := range m.Parts {
		parts = append(parts, k)
	}
	sort.Strings(parts)
	for _, k := range parts {
		fmt.Fprintf(&b, " [%s: %s]", k, describe(m.Parts[k]))
	}
	return b.String()
}

// TestInstant_OrdersAsTime: the numbers deployedChanges searches order
// every instant as time does — the zero time of a bad record and instants
// outside UnixNano's range included.
func TestInstant_OrdersAsTime(t *testing.T) {
	ts := []time.Time{{}, time.Date(1600, 1, 1, 0, 0, 0, 5, time.UTC), time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 2, 9, 0, 0, 1, time.UTC), time.Date(2026, 3, 2, 9, 0, 0, 2, time.UTC), time.Date(2026, 3, 2, 10, 0, 0, 0, time.FixedZone("CET", 3600)),
		time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)}
	for _, a := range ts {
		for _, b := range ts {
			if got, want := instantOf(a).before(instantOf(b)), a.Before(b); got != want {
				t.Errorf("%v before %v: %v, want %v", a, b, got, want)
			}
		}
	}
}
