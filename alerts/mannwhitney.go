package alerts

import (
	"math"
	"sort"
)

// MannWhitney is the two-sided Mann–Whitney U test of a against b: the p
// value of seeing ranks this far apart if both came from one distribution.
// Without ties and with few observations (m·n ≤ 400) it is exact, from the
// distribution of U counted by recursion; otherwise it is the normal
// approximation with the tie correction and a continuity correction, as
// scipy.stats.mannwhitneyu(method="asymptotic") computes it.
func MannWhitney(a, b []float64) (u, p float64) {
	m, n := len(a), len(b)
	if m == 0 || n == 0 {
		return 0, 1
	}
	type obs struct {
		v   float64
		inA bool
	}
	all := make([]obs, 0, m+n)
	for _, v := range a {
		all = append(all, obs{v, true})
	}
	for _, v := range b {
		all = append(all, obs{v, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	rankA, ties := 0.0, 0.0
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		r := float64(i+j+1) / 2 // mean of ranks i+1..j
		for k := i; k < j; k++ {
			if all[k].inA {
				rankA += r
			}
		}
		if t := float64(j - i); t > 1 {
			ties += t*t*t - t
		}
		i = j
	}
	fm, fn := float64(m), float64(n)
	u = rankA - fm*(fm+1)/2
	if ties == 0 && m*n <= 400 {
		return u, exactP(m, n, u)
	}
	mu := fm * fn / 2
	N := fm + fn
	sigma := math.Sqrt(fm * fn / 12 * ((N + 1) - ties/(N*(N-1))))
	if sigma == 0 {
		return u, 1
	}
	z := (math.Abs(u-mu) - 0.5) / sigma
	if z < 0 {
		z = 0
	}
	return u, math.Min(1, math.Erfc(z/math.Sqrt2))
}

// exactP is the two-sided exact p value of U for samples of m and n without
// ties: 2·P(U ≤ min(u, mn−u)), from the number of arrangements with each U
// (f(m, n, u) = f(m−1, n, u−n) + f(m, n−1, u)).
func exactP(m, n int, u float64) float64 {
	maxU := m * n
	// counts[j][k] for the current i: arrangements of i from A and j from B with U = k.
	prev := make([][]float64, n+1)
	for j := range prev {
		prev[j] = make([]float64, maxU+1)
		prev[j][0] = 1 // i = 0: U is 0
	}
	for i := 1; i <= m; i++ {
		cur := make([][]float64, n+1)
		for j := 0; j <= n; j++ {
			cur[j] = make([]float64, maxU+1)
			for k := 0; k <= i*j; k++ {
				// The largest observation is from A (it beats all j of B) or from B.
				if k >= j {
					cur[j][k] += prev[j][k-j]
				}
				if j > 0 {
					cur[j][k] += cur[j-1][k]
				}
			}
		}
		prev = cur
	}
	counts := prev[n]
	total := 0.0
	for _, c := range counts {
		total += c
	}
	lo := math.Min(u, float64(maxU)-u)
	tail := 0.0
	for k := 0; float64(k) <= lo+1e-9; k++ {
		tail += counts[k]
	}
	return math.Min(1, 2*tail/total)
}
