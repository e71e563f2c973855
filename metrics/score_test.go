package metrics

import (
	"testing"

	"github.com/devpulse/devpulse/models"
)

// The six-level scale at each boundary of METRICS.md ("DORA 2025 score").
func TestQuickCheckLevels_AtEachBoundary(t *testing.T) {
	durations := []struct {
		s     float64
		level int
	}{
		{0, 6}, {hour - 1, 6}, {hour, 5}, {day - 1, 5}, {day, 4}, {week - 1, 4}, {week, 3},
		{30*day - 1, 3}, {30 * day, 2}, {180*day - 1, 2}, {180 * day, 1}, {400 * day, 1},
	}
	for _, c := range durations {
		if got := DurationLevel(c.s); got != c.level {
			t.Errorf("DurationLevel(%v s) = %d, want %d", c.s, got, c.level)
		}
	}
	freqs := []struct {
		perDay float64
		level  int
	}{
		{5, 6}, {2, 6}, {1.99, 5}, {1, 5}, {0.99, 4}, {1.0 / 7, 4}, {0.14, 3}, {1.0 / 30, 3}, {0.033, 2},
		{1.0 / 180, 2}, {0.005, 1}, {0, 1},
	}
	for _, c := range freqs {
		if got := FrequencyLevel(c.perDay); got != c.level {
			t.Errorf("FrequencyLevel(%v/day) = %d, want %d", c.perDay, got, c.level)
		}
	}
	for level, want := range map[int]float64{1: 0, 2: 2, 3: 4, 4: 6, 5: 8, 6: 10} {
		if got := LevelScore(level); got != want {
			t.Errorf("LevelScore(%d) = %v, want %v", level, got, want)
		}
	}
	for rate, want := range map[float64]float64{0: 10, 0.05: 9.5, 0.15: 8.5, 0.5: 5, 1: 0} {
		if got := RateScore(rate); got < want-1e-9 || got > want+1e-9 {
			t.Errorf("RateScore(%v) = %v, want %v", rate, got, want)
		}
	}
}

// TestDORAScore_HandWorked scores the drill-down example of
// TestProductionDeployments_ShipsCausesAndRecovery (28-day window):
//
//	lead time per commit 20, 14, 12, 9, 5 h: p50 12 h  → level 5 → 8
//	4 production deployments / 28 days = 1/7 a day    → level 4 → 6 (the weekly boundary)
//	recovery 5 h and 3 h: p50 4 h                      → level 5 → 8
//	change failure rate 2/4                            → 10 − 5 = 5
//	rework rate 0                                      → 10
//	overall (8+6+8+5+10)/5 = 7.4, throughput (8+6+8)/3, stability (5+10)/2 = 7.5
func TestDORAScore_HandWorked(t *testing.T) {
	in := Input{
		MergeRequests: []models.MergeRequest{
			mr(1, 0, 5, []float64{-10, -4}), mr(2, 1, 6, []float64{-2}), mr(3, 12, 15, []float64{11}), mr(4, 26, 28, []float64{25}),
		},
		Deployments: []models.Deployment{
			dep(1, 100, "production", "success", "a", 10, 1, 2),
			dep(2, 101, "production", "success", "b", 20, 3),
			dep(3, 102, "production", "success", "c", 30, 4),
			dep(4, 103, "production", "success", "b", 33),
		},
		Issues: []models.Issue{incident(7, 22, 25)},
	}
	s := find(DORA(in, opts()), "dora_score")
	if s == nil {
		t.Fatal("no dora_score")
	}
	near(t, "overall", s.Value, 7.4)
	for part, want := range map[string]float64{"lead_time_for_changes": 8, "deployment_frequency": 6, "failed_deployment_recovery_time": 8,
		"change_failure_rate": 5, "rework_rate": 10, "throughput": 22.0 / 3, "stability": 7.5} {
		near(t, part, s.Parts[part].Value, want)
	}
	// The series scores each week that had a deployment, and only those:
	// the window's first week (23 Feb) had none.
	var scored int
	for _, p := range s.Series {
		if p.N == 0 && p.Value != nil {
			t.Errorf("week of %s without a deployment has a score %v", p.PeriodStart.Format("2 Jan"), *p.Value)
		}
		if p.Value != nil {
			scored++
		}
	}
	if scored != 1 {
		t.Errorf("%d weeks scored, want 1 (every deployment is in the week of 2 Mar)", scored)
	}
}

// No production deployment in the window: no score at all, not a 0 that
// would rank the team last for what was not collected.
func TestDORAScore_NothingToScore(t *testing.T) {
	s := find(DORA(Input{}, opts()), "dora_score")
	absent(t, "overall", s.Value)
	for _, p := range ScoreParts {
		absent(t, p, s.Parts[p].Value)
	}
}
