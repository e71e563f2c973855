package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// sortedPercentile is the textbook definition the selection must match:
// sort, then interpolate between the closest ranks.
func sortedPercentile(xs []float64, p float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	h := p * float64(len(s)-1)
	lo := math.Floor(h)
	i := int(lo)
	if i+1 >= len(s) {
		return ptr(s[len(s)-1])
	}
	return ptr(s[i] + (h-lo)*(s[i+1]-s[i]))
}

// TestPercentiles_SameAsSorting: selection gives exactly (bit for bit) the
// values of sorting and interpolating, for sizes from 1 up, with many ties,
// already sorted and reversed input, and the extreme percentiles.
func TestPercentiles_SameAsSorting(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	ps := [][]float64{{0.5, 0.85}, {0, 1}, {0.5}, {0.85}, {0.05, 0.5, 0.95, 0.99}, {0.5, 0.5}}
	shapes := map[string]func(n int) []float64{
		"random": func(n int) []float64 {
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = r.Float64() * 1e6
			}
			return xs
		},
		"ties": func(n int) []float64 {
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = float64(r.IntN(4))
			}
			return xs
		},
		"sorted": func(n int) []float64 {
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = float64(i) * 1.5
			}
			return xs
		},
		"reversed": func(n int) []float64 {
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = float64(n - i)
			}
			return xs
		},
	}
	for name, shape := range shapes {
		for _, n := range []int{1, 2, 3, 4, 5, 7, 10, 33, 100, 1000, 4097} {
			for _, p := range ps {
				xs := shape(n)
				var want []string
				for _, q := range p {
					want = append(want, fmt.Sprint(*sortedPercentile(xs, q)))
				}
				var got []string
				for _, v := range percentiles(slices.Clone(xs), p...) {
					got = append(got, fmt.Sprint(*v))
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s n=%d %v: selection %v, sorting %v", name, n, p, got, want)
				}
			}
		}
	}
	if got := percentiles(nil, 0.5, 0.85); got[0] != nil || got[1] != nil {
		t.Errorf("no samples: %v, want none", got)
	}
}
