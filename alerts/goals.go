package alerts

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// lowerIsWorse are the metrics a fall makes worse; for every other one a
// rise is worse (durations, failure rates, sizes, work in progress).
var lowerIsWorse = map[string]bool{
	"deployment_count": true, "deployment_frequency": true, "dora_score": true, "flow_efficiency": true,
	"mr_throughput": true, "pipeline_success_rate": true, "say_do_ratio": true, "throughput": true, "velocity": true,
}

// HigherIsWorse tells a metric's worse direction.
func HigherIsWorse(metric string) bool { return !lowerIsWorse[metric] }

// Series names one watched series: a metric and its stat ("p50", "p85" or
// "value" for a single-valued metric).
type Series struct{ Metric, Stat string }

func (s Series) String() string {
	if s.Stat == "value" {
		return s.Metric
	}
	return s.Metric + " " + s.Stat
}

// ParseSeries reads "pipeline_duration p85" or "change_failure_rate".
func ParseSeries(s string) (Series, error) {
	f := strings.Fields(s)
	switch {
	case len(f) == 1:
		return Series{Metric: f[0], Stat: "value"}, nil
	case len(f) == 2 && (f[1] == "p50" || f[1] == "p85" || f[1] == "value" || f[1] == "mean"):
		return Series{Metric: f[0], Stat: f[1]}, nil
	}
	return Series{}, fmt.Errorf("%q: want a metric and optionally its stat, e.g. \"pipeline_duration p85\" or \"change_failure_rate\"", s)
}

// Goal is one threshold on a series (METRICS.md "Team goals").
type Goal struct {
	Text   string // as configured: "pickup_time p50 < 4h"
	Series Series
	Below  bool    // the goal is value < Target (else value > Target)
	Equal  bool    // <= / >=
	Target float64 // in the metric's stored unit: seconds for durations, 0.15 for 15%
}

// ParseGoal reads "<metric> [<stat>] <op> <target>": op is <, <=, > or >=;
// the target is a number, a percentage (15%) or a duration (90s, 30m, 4h,
// 2d, 1w), which is stored in seconds as durations are.
func ParseGoal(s string) (Goal, error) {
	g := Goal{Text: strings.TrimSpace(s)}
	f := strings.Fields(s)
	if len(f) < 3 || len(f) > 4 {
		return g, fmt.Errorf("goal %q: want \"<metric> [p50|p85] <op> <target>\", e.g. \"pickup_time p50 < 4h\"", s)
	}
	series, op, target := f[0], f[len(f)-2], f[len(f)-1]
	if len(f) == 4 {
		series += " " + f[1]
	}
	var err error
	if g.Series, err = ParseSeries(series); err != nil {
		return g, fmt.Errorf("goal %w", err)
	}
	if len(f) == 3 && isDuration(target) {
		g.Series.Stat = "p50" // a duration goal without a stat is on the median
	}
	switch op {
	case "<":
		g.Below = true
	case "<=":
		g.Below, g.Equal = true, true
	case ">":
	case ">=":
		g.Equal = true
	default:
		return g, fmt.Errorf("goal %q: operator %q: use <, <=, > or >=", s, op)
	}
	if g.Target, err = parseTarget(target); err != nil {
		return g, fmt.Errorf("goal %q: %w", s, err)
	}
	return g, nil
}

func isDuration(s string) bool {
	return s != "" && strings.ContainsRune("smhdw", rune(s[len(s)-1])) && !strings.HasSuffix(s, "%")
}

func parseTarget(s string) (float64, error) {
	unit := 1.0
	num := s
	switch {
	case strings.HasSuffix(s, "%"):
		num, unit = strings.TrimSuffix(s, "%"), 0.01
	case isDuration(s):
		num = s[:len(s)-1]
		unit = map[byte]float64{'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 7 * 86400}[s[len(s)-1]]
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("target %q: want a number, a percentage (15%%) or a duration (30m, 4h, 2d)", s)
	}
	return v * unit, nil
}

// Meets tells whether a value meets the goal.
func (g Goal) Meets(v float64) bool {
	switch {
	case g.Below && g.Equal:
		return v <= g.Target
	case g.Below:
		return v < g.Target
	case g.Equal:
		return v >= g.Target
	}
	return v > g.Target
}

// Goal states of a week.
const (
	Met     = "met"
	Missed  = "missed"
	AtRisk  = "at_risk"
	NoValue = "no_data"
)

// GoalWeek is one whole week judged against a goal.
type GoalWeek struct {
	Start  time.Time
	Value  float64
	Status string
}

// Judged is a goal over a series: every whole week's state, the state of
// the latest one, and the back-test (how many of the weeks would have
// missed), so a team can tune a threshold before it nags.
type Judged struct {
	Goal   Goal
	Weeks  []GoalWeek
	Latest GoalWeek // Status NoValue when the series is empty
	Missed int      // back-test: weeks missed of len(Weeks)
}

// Judge judges every whole week of a series (ascending, weeks with a value
// only). A week that meets the goal is at risk when the least-squares line
// through it and the two whole weeks before it would miss the goal within
// two weeks.
func Judge(g Goal, series []Week) Judged {
	j := Judged{Goal: g, Latest: GoalWeek{Status: NoValue}}
	for i, w := range series {
		gw := GoalWeek{Start: w.Start, Value: w.Value, Status: Missed}
		if g.Meets(w.Value) {
			gw.Status = Met
			if i >= 2 && trendMisses(g, series[i-2:i+1]) {
				gw.Status = AtRisk
			}
		} else {
			j.Missed++
		}
		j.Weeks = append(j.Weeks, gw)
	}
	if len(j.Weeks) > 0 {
		j.Latest = j.Weeks[len(j.Weeks)-1]
	}
	return j
}

// trendMisses fits y = a + b·x over the weeks (x in weeks from the first)
// and tells whether the line misses the goal one or two weeks after the last.
func trendMisses(g Goal, ws []Week) bool {
	n := float64(len(ws))
	var sx, sy, sxx, sxy float64
	for _, w := range ws {
		x := w.Start.Sub(ws[0].Start).Hours() / (24 * 7)
		sx, sy, sxx, sxy = sx+x, sy+w.Value, sxx+x*x, sxy+x*w.Value
	}
	den := n*sxx - sx*sx
	if den == 0 {
		return false
	}
	b := (n*sxy - sx*sy) / den
	a := (sy - b*sx) / n
	last := ws[len(ws)-1].Start.Sub(ws[0].Start).Hours() / (24 * 7)
	for _, ahead := range []float64{1, 2} {
		if !g.Meets(a + b*(last+ahead)) {
			return true
		}
	}
	return false
}
