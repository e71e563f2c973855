package alerts

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestParseGoal(t *testing.T) {
	for _, c := range []struct {
		in     string
		series Series
		below  bool
		target float64
	}{
		{"pickup_time p50 < 4h", Series{"pickup_time", "p50"}, true, 4 * 3600},
		{"pickup_time < 2d", Series{"pickup_time", "p50"}, true, 2 * 86400}, // a duration goal without a stat is on the median
		{"mr_size p85 <= 400", Series{"mr_size", "p85"}, true, 400},
		{"change_failure_rate < 15%", Series{"change_failure_rate", "value"}, true, 0.15},
		{"deployment_frequency > 0.5", Series{"deployment_frequency", "value"}, false, 0.5},
	} {
		g, err := ParseGoal(c.in)
		if err != nil || g.Series != c.series || g.Below != c.below || g.Target != c.target {
			t.Errorf("%q: %+v, %v", c.in, g, err)
		}
	}
	for _, bad := range []string{"", "pickup_time", "pickup_time p50 4h", "pickup_time p99 < 4h", "pickup_time p50 = 4h", "mr_size < lots", "a b c d e"} {
		if _, err := ParseGoal(bad); err == nil {
			t.Errorf("%q is accepted", bad)
		}
	}
}

func TestJudge(t *testing.T) {
	g, _ := ParseGoal("pickup_time p50 < 4h")
	h := 3600.0
	j := Judge(g, weeks([]float64{2 * h, 5 * h, 3 * h, 3.2 * h, 3.6 * h, 3.9 * h}))
	want := []string{Met, Missed, AtRisk, Met, AtRisk, AtRisk} // week 2: the line through 2h, 5h, 3h reaches 4.3h next week
	for i, w := range j.Weeks {
		if w.Status != want[i] {
			t.Errorf("week %d (%.1fh): %s, want %s", i, w.Value/h, w.Status, want[i])
		}
	}
	if j.Missed != 1 || j.Latest.Status != AtRisk || len(j.Weeks) != 6 {
		t.Errorf("back-test %d of %d, latest %s", j.Missed, len(j.Weeks), j.Latest.Status)
	}
	// Falling toward the threshold of a "more is better" goal is at risk too.
	d, _ := ParseGoal("deployment_frequency > 1")
	if j := Judge(d, weeks([]float64{3, 2.2, 1.4})); j.Latest.Status != AtRisk {
		t.Errorf("a falling deployment frequency: %s", j.Latest.Status)
	}
	if j := Judge(g, nil); j.Latest.Status != NoValue || j.Missed != 0 {
		t.Errorf("no weeks: %+v", j)
	}
}

// Christmas and New Year weeks are left out: a holiday slump is not a shift.
func TestDetect_SkipsHolidayWeeks(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	start := time.Date(2025, 10, 6, 0, 0, 0, 0, time.UTC)
	var series []Week
	for i := 0; i < 24; i++ {
		w := Week{Start: start.AddDate(0, 0, 7*i), Value: 600 * (1 + 0.04*r.NormFloat64())}
		if _, iso := w.Start.ISOWeek(); iso >= 52 || iso <= 1 {
			w.Value *= 3 // two people on call, every review waits
		}
		series = append(series, w)
	}
	s := DefaultSettings()
	if got := Detect(series, true, s); len(got) != 0 {
		t.Errorf("holiday weeks reported: %+v", got)
	}
	s.SkipWeeks = nil
	if got := Detect(series, true, s); len(got) == 0 {
		t.Log("without skip_weeks the holiday weeks are not detected either (a 2-week bump is under min_weeks)")
	}
	// The index of a shift found with weeks skipped is its index in the full series.
	for i := 14; i < len(series); i++ {
		series[i].Value *= 1.5
	}
	got := Detect(series, true, DefaultSettings())
	if len(got) != 1 || !got[0].Start.Equal(series[got[0].Index].Start) || got[0].Index < 13 || got[0].Index > 15 {
		t.Errorf("a shift after the holidays: %+v", got)
	}
}
