package report

import (
	"testing"
	"time"

	"github.com/devpulse/devpulse/alerts"
	"github.com/devpulse/devpulse/warehouse"
)

// A shift found again by a later run keeps when it was first detected,
// also when another week of data moved its first week; one no longer found
// is resolved; scopes this run did not examine keep their rows as they were.
func TestMergeRegressions(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC).AddDate(0, 0, d) }
	first, now := day(20), day(27)
	reg := func(scope, metric string, week time.Time, detected time.Time) warehouse.Regression {
		return warehouse.Regression{ScopeKind: "project", Scope: scope, Metric: metric, Stat: "p50", Kind: "regression", FirstWeek: week, State: "open", DetectedAt: detected}
	}
	stored := []warehouse.Regression{
		reg("acme/api", "pipeline_duration", day(0), first),
		reg("acme/api", "review_time", day(0), first),
		reg("acme/web", "review_time", day(0), first),
		reg("acme/api", "cycle_time", day(0), first),
	}
	found := []warehouse.Regression{reg("acme/api", "pipeline_duration", day(21), now), reg("acme/api", "pickup_time", day(14), now),
		reg("acme/api", "cycle_time", day(28), now)} // min_weeks away: another shift
	got := mergeRegressions(stored, found, map[string]bool{scopeKey("project", "acme/api"): true}, 4, now)
	by := map[string]warehouse.Regression{}
	cycles := 0
	for _, g := range got {
		by[g.Scope+" "+g.Metric] = g
		if g.Metric == "cycle_time" {
			cycles++
		}
	}
	if len(got) != 6 || cycles != 2 {
		t.Fatalf("%d rows: %+v", len(got), got)
	}
	if g := by["acme/api pipeline_duration"]; !g.DetectedAt.Equal(first) || !g.FirstWeek.Equal(day(21)) || g.State != "open" {
		t.Errorf("re-found three weeks later: %+v", g)
	}
	if g := by["acme/api pickup_time"]; !g.DetectedAt.Equal(now) {
		t.Errorf("new: %+v", g)
	}
	if g := by["acme/api review_time"]; g.State != "resolved" || g.ResolvedAt == nil || !g.ResolvedAt.Equal(now) {
		t.Errorf("no longer found: %+v", g)
	}
	if g := by["acme/web review_time"]; g.State != "open" || g.ResolvedAt != nil {
		t.Errorf("a scope not examined changed: %+v", g)
	}
}

// A regression whose series came back (a later change point returned the
// median to where it was) is resolved; one still above is open.
func TestDetected_StateFollowsTheLatestSegment(t *testing.T) {
	mk := func(levels ...float64) []alerts.Week {
		var out []alerts.Week
		start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
		for i, l := range levels {
			for j := 0; j < 8; j++ {
				v := l * (1 + 0.02*float64((j*7+i*3)%5-2))
				out = append(out, alerts.Week{Start: start.AddDate(0, 0, 7*len(out)), Value: v})
			}
		}
		return out
	}
	sr := alerts.Series{Metric: "pipeline_duration", Stat: "p50"}
	w := weekly{scopeKey("project", "a"): {sr: mk(600, 900, 600)}, scopeKey("project", "b"): {sr: mk(600, 900)}}
	set := alerts.DefaultSettings()
	set.SkipWeeks = nil
	got := detected(w, map[alerts.Series]seriesInfo{sr: {unit: "seconds"}}, []Scope{{Kind: "project", Name: "a"}, {Kind: "project", Name: "b"}}, []alerts.Series{sr}, set, time.Now())
	states := map[string]string{}
	for _, g := range got {
		states[g.Scope+" "+g.Kind] = g.State
	}
	if states["a regression"] != "resolved" || states["a improvement"] != "open" || states["b regression"] != "open" || len(got) != 3 {
		t.Errorf("states %v (%d rows)", states, len(got))
	}
}
