// Package alerts finds lasting shifts in weekly metric series (METRICS.md
// "Regressions") and judges series against team goals ("Team goals"). It is
// pure computation over series: the warehouse, the report and the
// notifications call it.
package alerts

import (
	"math"
	"math/rand/v2"
	"sort"
)

// E-Divisive means (Matteson & James, "A Nonparametric Approach for
// Multiple Change Point Analysis of Multivariate Data", JASA 2014), with
// α = 1: a split of a segment Z into X = Z[s,τ) and Y = Z[τ,κ) is scored by
//
//	Q(X, Y) = mn/(m+n) · ( 2/(mn) Σ|x−y| − 2/(m(m−1)) Σ_{i<k}|x_i−x_k| − 2/(n(n−1)) Σ_{j<l}|y_j−y_l| )
//
// (m = |X|, n = |Y|): the energy distance between the two samples, which is
// zero only when they come from the same distribution, so it sees a shift of
// any kind and assumes no distribution. Change points are found one at a
// time (bisection): in every current segment the best (τ, κ) is found, the
// best of those is kept if a permutation test finds it significant, and the
// search repeats on the new segments until nothing significant is left.

// Divisive holds the method's settings.
type Divisive struct {
	MinSize      int     // no segment is shorter (alerts.min_weeks)
	Significance float64 // of the permutation test (0.05 in the paper)
	Permutations int     // R (199 in the paper)
	Seed         uint64  // the permutations are random; a fixed seed makes a run repeatable
}

// energy scores splits of one series in O(1) each from prefix sums of the
// pairwise distance matrix.
type energy struct {
	n int
	p []float64 // (n+1)×(n+1): p[i*(n+1)+j] = Σ_{a<i, b<j} |z_a − z_b|
}

func newEnergy(z []float64) *energy {
	e := &energy{}
	e.reset(z)
	return e
}

// reset recomputes the sums for z, reusing the buffer: the permutation test
// does this R times per candidate.
func (e *energy) reset(z []float64) {
	n := len(z)
	e.n = n
	if cap(e.p) < (n+1)*(n+1) {
		e.p = make([]float64, (n+1)*(n+1))
	}
	e.p = e.p[:(n+1)*(n+1)]
	w := n + 1
	for i := 1; i <= n; i++ {
		row := 0.0
		for j := 1; j <= n; j++ {
			row += math.Abs(z[i-1] - z[j-1])
			e.p[i*w+j] = e.p[(i-1)*w+j] + row
		}
	}
}

// block is Σ_{a∈[a0,a1), b∈[b0,b1)} |z_a − z_b|.
func (e *energy) block(a0, a1, b0, b1 int) float64 {
	w := e.n + 1
	return e.p[a1*w+b1] - e.p[a0*w+b1] - e.p[a1*w+b0] + e.p[a0*w+b0]
}

// q is Q(Z[s,t), Z[t,k)).
func (e *energy) q(s, t, k int) float64 {
	m, n := float64(t-s), float64(k-t)
	between := e.block(s, t, t, k)
	// Within sums over ordered pairs count each pair twice: Σ_{i<k} = block/2.
	inX, inY := e.block(s, t, s, t)/2, e.block(t, k, t, k)/2
	d := 2 / (m * n) * between
	if m > 1 {
		d -= 2 / (m * (m - 1)) * inX
	}
	if n > 1 {
		d -= 2 / (n * (n - 1)) * inY
	}
	return m * n / (m + n) * d
}

// best is the split of Z[s,e) with the largest Q over τ and κ, both sides
// at least min long: (τ, Q), or τ = -1 when the segment is too short.
func (e *energy) best(s, end, min int) (int, float64) {
	bt, bq := -1, math.Inf(-1)
	for t := s + min; t <= end-min; t++ {
		for k := t + min; k <= end; k++ {
			if q := e.q(s, t, k); q > bq {
				bt, bq = t, q
			}
		}
	}
	return bt, bq
}

// ChangePoints returns the indexes where a new segment of z begins, in
// ascending order (none for a series without a significant change).
func (d Divisive) ChangePoints(z []float64) []int {
	min := max(d.MinSize, 2)
	if len(z) < 2*min {
		return nil
	}
	rng := rand.New(rand.NewPCG(d.Seed, uint64(len(z))))
	e := newEnergy(z)
	cps := []int{0, len(z)} // segment bounds
	for {
		bestSeg, bestT, bestQ := -1, -1, math.Inf(-1)
		for i := 0; i+1 < len(cps); i++ {
			if t, q := e.best(cps[i], cps[i+1], min); t >= 0 && q > bestQ {
				bestSeg, bestT, bestQ = i, t, q
			}
		}
		if bestSeg < 0 || !d.significant(z, cps, bestQ, min, rng) {
			break
		}
		cps = append(cps, bestT)
		sort.Ints(cps)
	}
	return cps[1 : len(cps)-1]
}

// significant is the paper's permutation test: the observations are
// permuted within each current segment (so the change points already found
// stay), the best split over all segments is found again, and the observed
// score must be beaten by few permutations: p = (1 + #{Q_r ≥ Q}) / (R + 1).
func (d Divisive) significant(z []float64, cps []int, q float64, min int, rng *rand.Rand) bool {
	alpha := d.Significance
	if alpha <= 0 {
		alpha = 0.05
	}
	r := d.Permutations
	if r <= 0 {
		// Enough permutations that p = 1/(R+1) can pass α with room: 199
		// at the paper's 0.05, 999 at 0.002.
		r = max(199, int(math.Ceil(2/alpha))-1)
	}
	// Stop early once the outcome cannot change either way.
	allowed := int(alpha*float64(r+1)) - 1 // beats tolerated for p ≤ α
	perm := make([]float64, len(z))
	e := &energy{}
	beats := 0
	for i := 0; i < r; i++ {
		copy(perm, z)
		for j := 0; j+1 < len(cps); j++ {
			seg := perm[cps[j]:cps[j+1]]
			rng.Shuffle(len(seg), func(a, b int) { seg[a], seg[b] = seg[b], seg[a] })
		}
		e.reset(perm)
		top := math.Inf(-1)
		for j := 0; j+1 < len(cps); j++ {
			if _, pq := e.best(cps[j], cps[j+1], min); pq > top {
				top = pq
			}
		}
		if top >= q {
			if beats++; beats > allowed {
				return false
			}
		}
	}
	return true
}
