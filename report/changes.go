package report

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/devpulse/devpulse/alerts"
	"github.com/devpulse/devpulse/metrics"
	"github.com/devpulse/devpulse/warehouse"
)

// Shown are the changes "What changed" lists: every open one, and the
// resolved ones that began inside the window.
func Shown(r Result, o metrics.Options) []warehouse.Regression {
	var out []warehouse.Regression
	for _, g := range r.Changes {
		if g.State == "open" || (!g.FirstWeek.Before(metrics.PeriodStart(o.Since, "week", time.UTC)) && g.FirstWeek.Before(o.Until)) {
			out = append(out, g)
		}
	}
	return out
}

// SeriesTitle names a watched series for people: "CI pipeline duration (p85)".
func SeriesTitle(metric, stat string) string {
	t := Titles[metric]
	if t == "" {
		t = metric
	}
	if stat == "p50" || stat == "p85" {
		t += " (" + stat + ")"
	}
	return t
}

// ChangeSize is the relative change as people read it: "+55%", "−30%",
// "from 0".
func ChangeSize(g warehouse.Regression) string {
	if g.Change == nil {
		return "from 0"
	}
	c := *g.Change * 100
	if c >= 0 {
		return fmt.Sprintf("+%.0f%%", c)
	}
	return fmt.Sprintf("−%.0f%%", math.Abs(c))
}

// ChangeLine is one change in one line, for the table, the page and the
// notifications: what moved, since when, from what to what, how sure.
func ChangeLine(g warehouse.Regression) string {
	b, a := g.Before, g.After
	what := "worse"
	if g.Kind == "improvement" {
		what = "better"
	}
	line := fmt.Sprintf("%s %s %s since the week of %s: %s → %s (p = %s)", SeriesTitle(g.Metric, g.Stat), what, ChangeSize(g),
		g.FirstWeek.Format("2 Jan 2006"), Human(g.Unit, &b), Human(g.Unit, &a), pValue(g.P))
	if g.State == "resolved" {
		line += ", resolved"
	}
	return line
}

func pValue(p float64) string {
	if p < 0.0001 {
		return "< 0.0001"
	}
	return fmt.Sprintf("%.4f", p)
}

// GoalLine is a goal's state in one line: the latest whole week and the
// back-test.
func GoalLine(gr GoalResult) string {
	l := gr.Latest
	if l.Status == alerts.NoValue {
		return fmt.Sprintf("%s: no whole week with data yet", gr.Goal.Text)
	}
	v := l.Value
	return fmt.Sprintf("%s: %s in the week of %s (%s); back-test: missed %d of the %d past weeks", gr.Goal.Text,
		strings.ReplaceAll(l.Status, "_", " "), l.Start.Format("2 Jan 2006"), Human(gr.Unit, &v), gr.Missed, len(gr.Weeks))
}
