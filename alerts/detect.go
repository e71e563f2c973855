package alerts

import (
	"math"
	"slices"
	"sort"
	"time"
)

// Week is one whole week of a series: partial weeks never reach here.
type Week struct {
	Start time.Time
	Value float64
}

// Settings are the alerts: keys of the configuration.
type Settings struct {
	MinWeeks  int     // alerts.min_weeks: the shortest segment (default 4)
	PValue    float64 // alerts.p_value: of the Mann–Whitney confirmation (default 0.01)
	MinChange float64 // alerts.min_change: of the median, relative (default 0.15)
	// Significance is the E-Divisive permutation test's level for a
	// candidate change point (before the Mann–Whitney confirmation).
	Significance float64
	// SkipWeeks are ISO week numbers left out of every series
	// (alerts.skip_weeks, default 52, 53 and 1): the Christmas and New Year
	// weeks, when few people work, look like a shift and are not one.
	SkipWeeks []int
}

// DefaultSettings are METRICS.md's defaults.
func DefaultSettings() Settings {
	return Settings{MinWeeks: 4, PValue: 0.01, MinChange: 0.15, Significance: 0.01, SkipWeeks: []int{52, 53, 1}}
}

// Shift is a confirmed lasting change of a series.
type Shift struct {
	Index         int       // of the first week after the change, in the series
	Start         time.Time // that week
	Before, After float64   // medians of the segments either side
	// Change is (After − Before) / Before; +Inf when Before is 0.
	Change float64
	P      float64 // Mann–Whitney, two-sided
	Worse  bool    // in the metric's worse direction: a regression, else an improvement
	// Open: the series still holds the shift — its latest segment is still
	// MinChange past Before in the shift's direction. A later change that
	// brought the median back resolves it; only an open shift is news.
	Open bool
}

// markOpen sets Open from the latest segment's median.
func markOpen(out []Shift, minChange float64) {
	if len(out) == 0 {
		return
	}
	last := out[len(out)-1].After
	for i := range out {
		out[i].Open = StillShifted(out[i].Before, last, out[i].After > out[i].Before, minChange)
	}
}

// StillShifted tells whether level is still at least minChange above (up)
// or below before.
func StillShifted(before, level float64, up bool, minChange float64) bool {
	if up {
		return level > before && level >= before+math.Abs(before)*minChange
	}
	return level < before && level <= before-math.Abs(before)*minChange
}

// Detect finds the lasting shifts of a weekly series whose worse direction
// is up (higherIsWorse) or down. Candidates are E-Divisive change points
// with segments of at least MinWeeks; one is confirmed when the weeks after
// it differ from the weeks before it (back to the previous confirmed point,
// on to the next) by Mann–Whitney at PValue and the median moved by at least
// MinChange. A candidate that fails is dropped and its neighbours are tested
// again over the merged segment, until every remaining point holds.
func Detect(series []Week, higherIsWorse bool, s Settings) []Shift {
	if len(s.SkipWeeks) > 0 {
		kept := make([]Week, 0, len(series))
		at := make([]int, 0, len(series)) // index in series of each kept week
		for i, w := range series {
			if _, iso := w.Start.ISOWeek(); !slices.Contains(s.SkipWeeks, iso) {
				kept, at = append(kept, w), append(at, i)
			}
		}
		if len(kept) < len(series) {
			s.SkipWeeks = nil
			out := Detect(kept, higherIsWorse, s)
			for i := range out {
				out[i].Index = at[out[i].Index]
			}
			return out
		}
	}
	return detect(series, higherIsWorse, s)
}

func detect(series []Week, higherIsWorse bool, s Settings) []Shift {
	if s.MinWeeks <= 0 {
		s.MinWeeks = 4
	}
	z := make([]float64, len(series))
	for i, w := range series {
		z[i] = w.Value
	}
	cps := Divisive{MinSize: s.MinWeeks, Significance: s.Significance, Seed: 1}.ChangePoints(z)
	for {
		var out []Shift
		drop := -1
		weakest := -1.0
		for i, cp := range cps {
			lo, hi := 0, len(z)
			if i > 0 {
				lo = cps[i-1]
			}
			if i+1 < len(cps) {
				hi = cps[i+1]
			}
			sh, ok := confirm(z[lo:cp], z[cp:hi], higherIsWorse, s)
			if !ok {
				// Drop the least convincing candidate first: its neighbours' segments grow.
				if sh.P > weakest {
					drop, weakest = i, sh.P
				}
				continue
			}
			sh.Index, sh.Start = cp, series[cp].Start
			out = append(out, sh)
		}
		if drop < 0 {
			markOpen(out, s.MinChange)
			return out
		}
		cps = append(cps[:drop:drop], cps[drop+1:]...)
	}
}

func confirm(before, after []float64, higherIsWorse bool, s Settings) (Shift, bool) {
	_, p := MannWhitney(before, after)
	b, a := median(before), median(after)
	sh := Shift{Before: b, After: a, P: p}
	switch {
	case b == a:
		sh.Change = 0
	case b == 0:
		sh.Change = math.Inf(1)
		if a < 0 {
			sh.Change = math.Inf(-1)
		}
	default:
		sh.Change = (a - b) / math.Abs(b)
	}
	sh.Worse = (a > b) == higherIsWorse
	return sh, p <= s.PValue && math.Abs(sh.Change) >= s.MinChange
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return math.NaN()
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
