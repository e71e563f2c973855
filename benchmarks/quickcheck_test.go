package benchmarks

import (
	"math"
	"testing"
)

func TestQuickCheck_ReadsBothFilesOnOneScale(t *testing.T) {
	cases := []struct {
		key, score string
		mean, std  float64
	}{
		// All industries: as stored, and 10 − mean for the "higher = worse" ones.
		{"all", "overall", 4.3, 1.2},
		{"all", "lead_time_for_changes", 5.5, 2.4},
		{"all", "deployment_frequency", 4.8, 2.8},
		{"all", "change_failure_rate", 10 - 1.9, 2.1},
		{"all", "rework_rate", 10 - 2.2, 2.2},
		{"all", "stability", 10 - 2.1, 2.0},
		{"all", "failed_deployment_recovery_time", 7.4, 2.1},
		// An organisation size: its recovery mean is stored inverted (2.8) and read as 7.2.
		{"solo", "failed_deployment_recovery_time", 10 - 2.8, 2.6},
		{"solo", "lead_time_for_changes", 6.4, 2.7},
		{"technology", "overall", 0, 0}, // present; values checked below
	}
	for _, c := range cases {
		g, err := QuickCheck(c.key)
		if err != nil {
			t.Fatal(err)
		}
		r, ok := g.Scores[c.score]
		if !ok {
			t.Fatalf("%s has no %s", c.key, c.score)
		}
		if c.mean == 0 {
			if r.Mean <= 0 || r.Mean > 10 || r.Std <= 0 {
				t.Errorf("%s.%s = %+v, want a mean in (0, 10] and a std", c.key, c.score, r)
			}
			continue
		}
		if math.Abs(r.Mean-c.mean) > 1e-9 || r.Std != c.std {
			t.Errorf("%s.%s = %+v, want mean %v std %v", c.key, c.score, r, c.mean, c.std)
		}
	}
	if g, _ := QuickCheck("all"); g.Name != "All industries" {
		t.Errorf("all = %q, want the industry file's All industries", g.Name)
	}
	// Every group has all eight scores, each on the 0–10 scale.
	for _, k := range QuickCheckKeys() {
		g, _ := QuickCheck(k)
		if len(g.Scores) != 8 {
			t.Errorf("%s: %d scores, want 8", k, len(g.Scores))
		}
		for name, r := range g.Scores {
			if r.Mean < 0 || r.Mean > 10 {
				t.Errorf("%s.%s mean %v outside 0..10", k, name, r.Mean)
			}
		}
	}
	if _, err := QuickCheck("fintech"); err == nil {
		t.Error("an unknown group was accepted")
	}
}
