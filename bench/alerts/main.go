// Command alerts measures regression detection (METRICS.md "Regressions")
// on a labelled evaluation set: weekly series with the noise real series
// show — skewed and heavy-tailed week to week, outlier weeks, holiday and
// summer seasons — some with one or two real level shifts of 10–50% and
// many with none. It replays each series week by week, as a weekly
// `devpulse metrics` would see it, and scores the alerts:
//
//   - an alert group is one shift reported for one series (the same
//     direction, its first week within ±2 weeks of the group's first week:
//     later runs that move the start by a week are the same alert);
//
//   - a group is true when a real shift of the same direction began within
//     3 weeks of its first week; precision = true groups / groups;
//
//   - recall = real shifts with a true group, by size class;
//
//   - delay = weeks of data after a shift began when its group first fired.
//
//     go run ./bench/alerts -series 2000
package main

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"sort"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/devpulse/devpulse/alerts"
)

// family is one kind of series with its noise, measured from the demo
// warehouse's weekly series (BENCHMARKS.md) and widened to what real
// pipelines and review queues show.
type family struct {
	name          string
	base          func(r *rand.Rand) float64
	sigma         [2]float64 // week-to-week log spread, drawn per series
	holiday       float64    // factor in the Christmas/New Year weeks
	summer        float64    // factor in the summer weeks
	higherIsWorse bool
	count         bool // Poisson counts (deployments per week) instead of a continuous value
}

var families = []family{
	{name: "pipeline_duration p50", base: func(r *rand.Rand) float64 { return 300 + 900*r.Float64() }, sigma: [2]float64{0.04, 0.15}, holiday: 0.85, summer: 0.95, higherIsWorse: true},
	{name: "lead_time_for_changes p50", base: func(r *rand.Rand) float64 { return 86400 * (0.5 + 4*r.Float64()) }, sigma: [2]float64{0.15, 0.35}, holiday: 1.6, summer: 1.2, higherIsWorse: true},
	{name: "deployment_frequency", base: func(r *rand.Rand) float64 { return 5 + 25*r.Float64() }, holiday: 0.3, summer: 0.8, count: true},
}

type truth struct {
	at   int
	rel  float64 // relative change of the level
	seen bool
}

type series struct {
	sigma  float64 // week-to-week log spread (0 for counts)
	fam    family
	weeks  []alerts.Week
	shifts []truth
}

// studentT draws a t variate with 3 degrees of freedom scaled to unit
// variance: heavier tails than the normal, as weekly medians have.
func studentT(r *rand.Rand) float64 {
	z := r.NormFloat64()
	chi := 0.0
	for i := 0; i < 3; i++ {
		x := r.NormFloat64()
		chi += x * x
	}
	return z / math.Sqrt(chi/3) / math.Sqrt(3)
}

func poisson(r *rand.Rand, lambda float64) float64 {
	if lambda > 50 {
		return math.Max(0, math.Round(lambda+math.Sqrt(lambda)*r.NormFloat64()))
	}
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return float64(k)
		}
		k++
	}
}

func generate(r *rand.Rand, n int, fam family, shifted bool) series {
	s := series{fam: fam}
	start := time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC) // a Monday; the year holds one Christmas
	level := fam.base(r)
	sigma := fam.sigma[0] + (fam.sigma[1]-fam.sigma[0])*r.Float64()
	s.sigma = sigma
	if shifted {
		k := 1
		if r.Float64() < 0.3 {
			k = 2
		}
		at := 8 + r.IntN(n-16)
		for i := 0; i < k; i++ {
			if i > 0 {
				at += 8 + r.IntN(8)
				if at > n-8 {
					break
				}
			}
			rel := 0.10 + 0.40*r.Float64()
			if r.Float64() < 0.5 {
				rel = -rel
			}
			s.shifts = append(s.shifts, truth{at: at, rel: rel})
		}
	}
	phase := r.Float64() * 2 * math.Pi
	for w := 0; w < n; w++ {
		day := start.AddDate(0, 0, 7*w)
		l := level
		for _, sh := range s.shifts {
			if w >= sh.at {
				l *= 1 + sh.rel
			}
		}
		l *= 1 + seasonAmp*math.Sin(2*math.Pi*float64(w)/52+phase)
		_, iso := day.ISOWeek()
		switch {
		case iso >= 52 || iso == 1:
			l *= 1 + (fam.holiday-1)*seasonOn
		case iso >= 30 && iso <= 33:
			l *= 1 + (fam.summer-1)*seasonOn
		}
		var v float64
		if fam.count {
			v = poisson(r, l)
		} else {
			v = l * math.Exp(sigma*studentT(r))
			if r.Float64() < outlierRate { // an outlier week: a broken runner, one stuck MR
				v *= math.Exp((0.5 + 0.7*r.Float64()) * float64(1-2*r.IntN(2)))
			}
		}
		s.weeks = append(s.weeks, alerts.Week{Start: day, Value: v})
	}
	return s
}

var maxAge int

var seasonAmp, seasonOn, outlierRate = 0.05, 1.0, 0.04

type group struct {
	start, firedAt int
	worse          bool
	truthIdx       int // -1: false
}

// replay runs detection as weekly runs would: after each new whole week.
func replay(s *series, set alerts.Settings) []group {
	var groups []group
	for t := 2 * set.MinWeeks; t <= len(s.weeks); t++ {
		for _, sh := range alerts.Detect(s.weeks[:t], s.fam.higherIsWorse, set) {
			if !sh.Open || (maxAge > 0 && t-sh.Index > maxAge) {
				continue // a shift the series no longer holds is never posted
			}
			found := false
			for gi := range groups {
				g := &groups[gi]
				// The same shift as a later run sees it: distinct change
				// points are at least min_weeks apart. The group takes the
				// refined first week, as the regressions table does.
				if g.worse == sh.Worse && abs(g.start-sh.Index) < set.MinWeeks {
					g.start = sh.Index
					found = true
					break
				}
			}
			if !found {
				groups = append(groups, group{start: sh.Index, firedAt: t, worse: sh.Worse, truthIdx: -1})
			}
		}
	}
	for gi := range groups {
		g := &groups[gi]
		for ti, tr := range s.shifts {
			up := tr.rel > 0
			if abs(g.start-tr.at) <= 3 && (up == s.fam.higherIsWorse) == g.worse {
				g.truthIdx = ti
				break
			}
		}
	}
	return groups
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func main() {
	n := flag.Int("series", 1500, "series (a third of each family)")
	length := flag.Int("weeks", 52, "weeks per series")
	shiftedShare := flag.Float64("shifted", 0.4, "share of series with one or two real shifts")
	seed := flag.Uint64("seed", 1, "")
	minWeeks := flag.Int("min-weeks", 4, "alerts.min_weeks")
	p := flag.Float64("p", 0.01, "alerts.p_value")
	minChange := flag.Float64("min-change", 0.15, "alerts.min_change")
	sig := flag.Float64("significance", alerts.DefaultSettings().Significance, "E-Divisive permutation test level")
	skip := flag.Bool("skip-holidays", true, "alerts.skip_weeks at its default (52, 53, 1); false: none")
	flag.Float64Var(&seasonAmp, "season-amp", 0.05, "amplitude of the yearly wave")
	flag.Float64Var(&seasonOn, "seasons", 1, "1: holiday and summer weeks differ; 0: they do not")
	flag.Float64Var(&outlierRate, "outliers", 0.04, "share of outlier weeks")
	flag.IntVar(&maxAge, "max-age", 0, "only alert on shifts that began at most this many weeks before the run")
	flag.Parse()
	set := alerts.Settings{MinWeeks: *minWeeks, PValue: *p, MinChange: *minChange, Significance: *sig}
	if *skip {
		set.SkipWeeks = alerts.DefaultSettings().SkipWeeks
	}

	r := rand.New(rand.NewPCG(*seed, 99))
	all := make([]series, *n)
	for i := range all {
		all[i] = generate(r, *length, families[i%len(families)], r.Float64() < *shiftedShare)
	}
	began := time.Now()
	results := make([][]group, len(all))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i] = replay(&all[i], set)
			}
		}()
	}
	for i := range all {
		next <- i
	}
	close(next)
	wg.Wait()
	took := time.Since(began)

	type tally struct {
		groups, falseGroups, falseInFlat int
		real                             [3]int // by class: <20%, 20–35%, ≥35%
		found                            [3]int
		delays                           []float64
	}
	by := map[string]*tally{}
	byBand := map[string]*tally{}
	total := &tally{}
	flatSeries := 0
	for i, s := range all {
		t := by[s.fam.name]
		if t == nil {
			t = &tally{}
			by[s.fam.name] = t
		}
		band := "counts (Poisson, λ 5–30 a week)"
		switch {
		case s.fam.count:
		case s.sigma < 0.10:
			band = "σ < 0.10 (busy CI)"
		case s.sigma < 0.20:
			band = "σ 0.10–0.20"
		default:
			band = "σ 0.20–0.35 (demo-like lead times)"
		}
		bt := byBand[band]
		if bt == nil {
			bt = &tally{}
			byBand[band] = bt
		}
		if len(s.shifts) == 0 {
			flatSeries++
		}
		for _, g := range results[i] {
			for _, x := range []*tally{t, bt, total} {
				x.groups++
				if g.truthIdx < 0 {
					x.falseGroups++
					if len(s.shifts) == 0 {
						x.falseInFlat++
					}
				}
			}
			if g.truthIdx >= 0 && !all[i].shifts[g.truthIdx].seen {
				all[i].shifts[g.truthIdx].seen = true
				d := float64(g.firedAt - s.shifts[g.truthIdx].at)
				if math.Abs(s.shifts[g.truthIdx].rel) >= 0.2 {
					t.delays = append(t.delays, d)
					bt.delays = append(bt.delays, d)
					total.delays = append(total.delays, d)
				}
			}
		}
		for _, tr := range all[i].shifts {
			size := math.Abs(tr.rel)
			c := 0
			switch {
			case size >= 0.35:
				c = 2
			case size >= 0.2:
				c = 1
			}
			for _, x := range []*tally{t, bt, total} {
				x.real[c]++
				if tr.seen {
					x.found[c]++
				}
			}
		}
	}
	fmt.Printf("%d series of %d weeks (%d without a shift), min_weeks %d, p_value %g, min_change %g; replayed week by week in %s on %d cores\n\n",
		len(all), *length, flatSeries, set.MinWeeks, set.PValue, set.MinChange, took.Round(time.Millisecond), runtime.GOMAXPROCS(0))
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "series\talert groups\tfalse groups\tprecision\trecall 10–20%\trecall ≥ 20%\tmissed ≥ 20%\tmedian delay (weeks)\tp90 delay")
	names := make([]string, 0, len(by))
	for k := range by {
		names = append(names, k)
	}
	sort.Strings(names)
	row := func(name string, t *tally) {
		prec, fp := math.NaN(), math.NaN()
		if t.groups > 0 {
			prec = float64(t.groups-t.falseGroups) / float64(t.groups)
			fp = 1 - prec
		}
		big, bigFound := t.real[1]+t.real[2], t.found[1]+t.found[2]
		sort.Float64s(t.delays)
		q := func(p float64) string {
			if len(t.delays) == 0 {
				return "–"
			}
			return fmt.Sprintf("%.0f", t.delays[int(p*float64(len(t.delays)-1))])
		}
		fmt.Fprintf(tw, "%s\t%d\t%d (%.1f%%)\t%.1f%%\t%d/%d (%.1f%%)\t%d/%d (%.1f%%)\t%.1f%%\t%s\t%s\n", name, t.groups, t.falseGroups, 100*fp, 100*prec,
			t.found[0], t.real[0], pct(t.found[0], t.real[0]), bigFound, big, pct(bigFound, big), 100-pct(bigFound, big), q(0.5), q(0.9))
	}
	for _, k := range names {
		row(k, by[k])
	}
	row("all", total)
	fmt.Fprintln(tw, "\t\t\t\t\t\t\t\t")
	fmt.Fprintln(tw, "by noise (week-to-week log spread)\t\t\t\t\t\t\t\t")
	bands := make([]string, 0, len(byBand))
	for k := range byBand {
		bands = append(bands, k)
	}
	sort.Strings(bands)
	for _, k := range bands {
		row(k, byBand[k])
	}
	tw.Flush()
	fmt.Printf("\nfalse groups in series without any shift: %d\n", total.falseInFlat)

}

func pct(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return 100 * float64(a) / float64(b)
}
