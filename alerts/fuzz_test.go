package alerts

import (
	"math"
	"testing"
)

// ParseGoal reads configuration: any input is an error or a goal whose
// target is a finite number, never a panic.
func FuzzParseGoal(f *testing.F) {
	for _, s := range []string{"pickup_time p50 < 4h", "change_failure_rate < 15%", "mr_size <= 400", "x > 1w", "a b < -3.5e2", "q p85 >= 0s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ParseGoal(s)
		if err == nil && (math.IsNaN(g.Target) || math.IsInf(g.Target, 0) || g.Series.Metric == "") {
			t.Fatalf("%q: %+v", s, g)
		}
	})
}

// Detection takes any finite series without panicking and reports shifts
// at indexes inside it, each with both segments at least MinWeeks long.
func FuzzDetect(f *testing.F) {
	f.Add([]byte{1, 1, 1, 1, 1, 9, 9, 9, 9, 9})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 40 {
			b = b[:40]
		}
		z := make([]float64, len(b))
		for i, x := range b {
			z[i] = float64(x)
		}
		for _, sh := range Detect(weeks(z), true, DefaultSettings()) {
			if sh.Index < 4 || sh.Index > len(z)-4 {
				t.Fatalf("shift at %d of %d", sh.Index, len(z))
			}
		}
	})
}
