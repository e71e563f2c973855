package alerts

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestMannWhitney(t *testing.T) {
	for _, c := range []struct {
		name string
		a, b []float64
		u, p float64
	}{
		// Fully separated 5 vs 5: only 2 of the C(10,5) = 252 arrangements are as extreme.
		{"separated", []float64{1, 2, 3, 4, 5}, []float64{6, 7, 8, 9, 10}, 0, 2.0 / 252},
		// R's ?wilcox.test example (exact, no ties): W = 35, one-sided p = 0.1272.
		{"R example", []float64{0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46}, []float64{1.15, 0.88, 0.90, 0.74, 1.21}, 35, 0.2544},
		{"identical", []float64{3, 3, 3, 3}, []float64{3, 3, 3, 3}, 8, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			u, p := MannWhitney(c.a, c.b)
			if u != c.u || math.Abs(p-c.p) > 5e-4 {
				t.Errorf("U, p = %v, %.4f; want %v, %.4f", u, p, c.u, c.p)
			}
		})
	}
}

// The normal approximation (used with ties or many observations) must agree
// with the exact distribution where both apply.
func TestMannWhitney_ApproximationMatchesExact(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 20; i++ {
		a, b := make([]float64, 20), make([]float64, 20)
		for j := range a {
			a[j], b[j] = r.Float64(), r.Float64()+0.2
		}
		u, exact := MannWhitney(a, b)
		// Push it over the exact path's size limit with a duplicated copy: U scales, z is compared.
		mu, sigma := 200.0, math.Sqrt(20*20*41/12.0)
		approx := math.Erfc((math.Abs(u-mu) - 0.5) / sigma / math.Sqrt2)
		if math.Abs(exact-approx) > 0.01 {
			t.Errorf("exact %.4f, approximation %.4f", exact, approx)
		}
	}
}

func TestMannWhitney_Ties(t *testing.T) {
	// Ties shrink the variance: the same separation is more significant than without the correction.
	a := []float64{1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 1, 2, 1, 2, 2, 1, 3, 2, 1, 1, 2}
	b := []float64{3, 3, 4, 4, 4, 3, 4, 5, 5, 3, 4, 4, 3, 5, 4, 4, 3, 4, 5, 3, 4}
	_, p := MannWhitney(a, b)
	if !(p > 0 && p < 1e-6) {
		t.Errorf("p = %g for clearly separated tied samples", p)
	}
	_, p = MannWhitney(a, a)
	if p < 0.99 {
		t.Errorf("p = %g for a sample against itself", p)
	}
}

func noisy(r *rand.Rand, levels []float64, each int, sigma float64) []float64 {
	var z []float64
	for _, l := range levels {
		for i := 0; i < each; i++ {
			z = append(z, l*math.Exp(sigma*r.NormFloat64()))
		}
	}
	return z
}

func TestChangePoints(t *testing.T) {
	d := Divisive{MinSize: 4, Significance: 0.05, Permutations: 199, Seed: 1}
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		name   string
		levels []float64
		want   []int
	}{
		{"one step up", []float64{100, 160}, []int{20}},
		{"step up and back", []float64{100, 170, 100}, []int{20, 40}},
		{"flat", []float64{100, 100}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			z := noisy(r, c.levels, 20, 0.08)
			got := d.ChangePoints(z)
			if len(got) != len(c.want) {
				t.Fatalf("change points %v, want %v", got, c.want)
			}
			for i := range got {
				if math.Abs(float64(got[i]-c.want[i])) > 1 {
					t.Errorf("change points %v, want %v (±1)", got, c.want)
				}
			}
		})
	}
	if got := d.ChangePoints([]float64{1, 2, 3, 4, 5, 6, 7}); got != nil {
		t.Errorf("a series shorter than two segments: %v", got)
	}
}

func weeks(z []float64) []Week {
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	out := make([]Week, len(z))
	for i, v := range z {
		out[i] = Week{Start: start.AddDate(0, 0, 7*i), Value: v}
	}
	return out
}

func TestDetect(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	s := DefaultSettings()
	up := weeks(noisy(r, []float64{600, 780}, 12, 0.06)) // +30%
	got := Detect(up, true, s)
	if len(got) != 1 || got[0].Index < 11 || got[0].Index > 13 || !got[0].Worse || got[0].Change < 0.2 || got[0].P > 0.01 {
		t.Fatalf("a 30%% rise of a duration: %+v", got)
	}
	if !got[0].Start.Equal(up[got[0].Index].Start) {
		t.Errorf("start %v is not the week of index %d", got[0].Start, got[0].Index)
	}
	// The same rise of a series where higher is better is an improvement.
	if got := Detect(up, false, s); len(got) != 1 || got[0].Worse {
		t.Errorf("a rise of deployment frequency: %+v", got)
	}
	// A 10% shift is real but under min_change: not reported.
	small := weeks(noisy(r, []float64{600, 660}, 14, 0.02))
	if got := Detect(small, true, s); len(got) != 0 {
		t.Errorf("a 10%% shift under min_change 15%%: %+v", got)
	}
	// One outlier week is noise, not a shift.
	flat := noisy(r, []float64{600}, 24, 0.06)
	flat[15] *= 4
	if got := Detect(weeks(flat), true, s); len(got) != 0 {
		t.Errorf("one outlier week: %+v", got)
	}
	// A rise in the last two weeks cannot be told from noise yet: the
	// segment after a change point is at least MinWeeks long.
	late := weeks(noisy(r, []float64{600}, 20, 0.06))
	for i := 18; i < 20; i++ {
		late[i].Value *= 1.5
	}
	if got := Detect(late, true, s); len(got) != 0 {
		t.Errorf("2 weeks after a shift, under min_weeks 4: %+v", got)
	}
	// From zero: the change is unbounded and still reported.
	zero := weeks(append(make([]float64, 12), noisy(r, []float64{0.3}, 12, 0.1)...))
	if got := Detect(zero, true, s); len(got) != 1 || !math.IsInf(got[0].Change, 1) {
		t.Errorf("a failure rate rising from 0: %+v", got)
	}
}

// Detection runs for every watched series of every scope at each metrics
// run: a year and two years of weeks, flat (the common case) and shifted.
func BenchmarkDetect(b *testing.B) {
	for _, n := range []int{52, 104} {
		for _, levels := range [][]float64{{600}, {600, 800}} {
			r := rand.New(rand.NewPCG(1, 1))
			z := weeks(noisy(r, levels, n/len(levels), 0.1))
			b.Run(fmt.Sprintf("weeks=%d/levels=%d", n, len(levels)), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					Detect(z, true, DefaultSettings())
				}
			})
		}
	}
}
