package report

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"

	"github.com/devpulse/devpulse/metrics"
)

// The drill-down views of the HTML page: sprints with burn-ups, the
// cumulative flow diagram, the cycle-time scatter and the deployments.
// Hand-built SVG: each chart is a few dozen elements, no script, no library.

// MaxDeploymentRows bounds the deployments table: the newest, and every
// failed one of the window whatever its age.
const MaxDeploymentRows = 15

// ShownDeployments is the rows the page and the table list.
func ShownDeployments(r Result) []metrics.DeploymentRow {
	var out []metrics.DeploymentRow
	for i, d := range r.Deployments {
		if i < MaxDeploymentRows || d.Failed {
			out = append(out, d)
		}
	}
	return out
}

// Outcome says in words how a deployment went.
func Outcome(d metrics.DeploymentRow) string {
	if !d.Failed {
		if d.Rework {
			return "ok (rework)"
		}
		return "ok"
	}
	return "failed: " + strings.Join(d.Causes, ", ")
}

func shortSHA(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}

// burnUpChart draws a sprint's scope (grey) and done (green) lines.
func burnUpChart(sp metrics.SprintStat, loc *time.Location) template.HTML {
	const W, H, L, B, T = 300.0, 120.0, 44.0, 20.0, 10.0
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg viewBox="0 0 %.0f %.0f" width="100%%" role="img" aria-label="burn-up of %s">`, W, H, template.HTMLEscapeString(sp.Name))
	maxV := 0.0
	for _, p := range sp.Burn {
		maxV = math.Max(maxV, math.Max(p.Scope, p.Done))
	}
	if len(sp.Burn) == 0 || maxV == 0 {
		sb.WriteString(`<text x="10" y="60" class="muted">no estimated issues in the sprint</text></svg>`)
		return template.HTML(sb.String())
	}
	pw, ph := W-L-6, H-B-T
	x := func(i int) float64 {
		if len(sp.Burn) == 1 {
			return L + pw/2
		}
		return L + float64(i)*pw/float64(len(sp.Burn)-1)
	}
	y := func(v float64) float64 { return T + ph - v/maxV*ph }
	axes(&sb, L, T, W-6, T+ph, fmt.Sprintf("%g pts", maxV), fmt.Sprintf("%g", maxV/2))
	for _, line := range []struct {
		color string
		v     func(metrics.BurnPoint) float64
		name  string
	}{{"#8a92a3", func(p metrics.BurnPoint) float64 { return p.Scope }, "scope"}, {"#1f9d55", func(p metrics.BurnPoint) float64 { return p.Done }, "done"}} {
		var pts []string
		for i, p := range sp.Burn {
			pts = append(pts, fmt.Sprintf("%.0f,%.0f", x(i), y(line.v(p))))
		}
		fmt.Fprintf(&sb, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.8"><title>%s</title></polyline>`, strings.Join(pts, " "), line.color, line.name)
	}
	last := sp.Burn[len(sp.Burn)-1]
	fmt.Fprintf(&sb, `<text x="%.0f" y="%.0f" class="ax">%s</text>`, L, H-5, sp.Start.In(loc).Format("2 Jan"))
	fmt.Fprintf(&sb, `<text x="%.0f" y="%.0f" class="ax e">%s · scope %s · done %s</text>`, W-6, H-5,
		last.At.Add(-time.Nanosecond).In(loc).Format("2 Jan"), Human("points", &last.Scope), Human("points", &last.Done))
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}

// axes draws the frame of a chart with three ticks: its top, middle and zero.
func axes(sb *strings.Builder, x0, y0, x1, y1 float64, top, mid string) {
	ym := (y0 + y1) / 2
	fmt.Fprintf(sb, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#ccc"/>`, x0, y1, x1, y1)
	fmt.Fprintf(sb, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#eee"/>`, x0, y0, x1, y0)
	fmt.Fprintf(sb, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#f3f4f6"/>`, x0, ym, x1, ym)
	fmt.Fprintf(sb, `<text x="%.0f" y="%.0f" class="ax e">%s</text>`, x0-4, y0+8, top)
	fmt.Fprintf(sb, `<text x="%.0f" y="%.0f" class="ax e">%s</text>`, x0-4, ym+4, mid)
	fmt.Fprintf(sb, `<text x="%.0f" y="%.0f" class="ax e">0</text>`, x0-4, y1)
}

var flowColors = [3]string{"#1f9d55", "#3b6fb6", "#c3c9d4"} // done, in progress, to do

// cfdChart stacks done, in progress and to do, day by day.
func cfdChart(days []metrics.FlowDay) template.HTML {
	const W, H, L, B, T = 480.0, 210.0, 34.0, 20.0, 10.0
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg viewBox="0 0 %.0f %.0f" width="100%%" role="img" aria-label="cumulative flow">`, W, H)
	maxV := 0
	for _, d := range days {
		maxV = max(maxV, d.Todo+d.InProgress+d.Done)
	}
	if len(days) == 0 || maxV == 0 {
		sb.WriteString(`<text x="10" y="90" class="muted">no issues in the window</text></svg>`)
		return template.HTML(sb.String())
	}
	pw, ph := W-L-6, H-B-T
	x := func(i int) float64 {
		if len(days) == 1 {
			return L + pw/2
		}
		return L + float64(i)*pw/float64(len(days)-1)
	}
	y := func(v int) float64 { return T + ph - float64(v)/float64(maxV)*ph }
	axes(&sb, L, T, W-6, T+ph, fmt.Sprint(maxV), fmt.Sprintf("%.0f", float64(maxV)/2))
	// Band k lies between the sum of the bands below it and that sum plus its own.
	level := func(d metrics.FlowDay, k int) int {
		v := []int{d.Done, d.InProgress, d.Todo}
		s := 0
		for i := 0; i <= k; i++ {
			s += v[i]
		}
		return s
	}
	names := [3]string{"done", "in progress", "to do"}
	for k := 0; k < 3; k++ {
		var pts []string
		for i, d := range days {
			pts = append(pts, fmt.Sprintf("%.0f,%.0f", x(i), y(level(d, k))))
		}
		for i := len(days) - 1; i >= 0; i-- {
			lo := 0
			if k > 0 {
				lo = level(days[i], k-1)
			}
			pts = append(pts, fmt.Sprintf("%.0f,%.0f", x(i), y(lo)))
		}
		last := days[len(days)-1]
		n := []int{last.Done, last.InProgress, last.Todo}[k]
		fmt.Fprintf(&sb, `<polygon points="%s" fill="%s" stroke="none"><title>%s (%d at the end)</title></polygon>`, strings.Join(pts, " "), flowColors[k], names[k], n)
	}
	dateLabels(&sb, len(days), x, H-5, func(i int) string { return days[i].Day.Format("2 Jan") })
	sb.WriteString(`</svg><div class="legend">`)
	last := days[len(days)-1]
	for k, n := range []int{last.Done, last.InProgress, last.Todo} {
		fmt.Fprintf(&sb, `<span><i style="background:%s"></i>%s <b>%d</b></span>`, flowColors[k], names[k], n)
	}
	sb.WriteString(`<span class="muted">at the end of the window; done counts issues done since it began</span></div>`)
	return template.HTML(sb.String())
}

// dateLabels writes the first, middle and last date under a chart.
func dateLabels(sb *strings.Builder, n int, x func(int) float64, y float64, label func(int) string) {
	fmt.Fprintf(sb, `<text x="%.0f" y="%.0f" class="ax">%s</text>`, x(0), y, label(0))
	if n > 2 {
		fmt.Fprintf(sb, `<text x="%.0f" y="%.0f" class="ax m">%s</text>`, x(n/2), y, label(n/2))
	}
	if n > 1 {
		fmt.Fprintf(sb, `<text x="%.0f" y="%.0f" class="ax e">%s</text>`, x(n-1), y, label(n-1))
	}
}

// scatterChart places each done issue at its done date and cycle time, with
// the p50 and p85 of cycle_time as dashed lines.
func scatterChart(pts []metrics.CyclePoint, ct *metrics.Metric, o metrics.Options) template.HTML {
	const W, H, L, B, T = 480.0, 210.0, 44.0, 20.0, 10.0
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg viewBox="0 0 %.0f %.0f" width="100%%" role="img" aria-label="cycle time scatter">`, W, H)
	if len(pts) == 0 {
		sb.WriteString(`<text x="10" y="90" class="muted">no issue was done in the window after being in progress</text></svg>`)
		return template.HTML(sb.String())
	}
	maxV := 0.0
	for _, p := range pts {
		maxV = math.Max(maxV, p.Seconds)
	}
	if ct != nil && ct.P85 != nil {
		maxV = math.Max(maxV, *ct.P85)
	}
	if maxV == 0 {
		maxV = 1
	}
	pw, ph := W-L-6, H-B-T
	span := o.Until.Sub(o.Since).Seconds()
	x := func(t time.Time) float64 { return L + t.Sub(o.Since).Seconds()/span*pw }
	y := func(v float64) float64 { return T + ph - v/maxV*ph }
	half := maxV / 2
	axes(&sb, L, T, W-6, T+ph, Human("seconds", &maxV), Human("seconds", &half))
	if ct != nil {
		for _, q := range []struct {
			name string
			v    *float64
		}{{"p50", ct.P50}, {"p85", ct.P85}} {
			if q.v == nil {
				continue
			}
			fmt.Fprintf(&sb, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#d98e04" stroke-dasharray="4 3"/>`, L, y(*q.v), W-6, y(*q.v))
			fmt.Fprintf(&sb, `<text x="%.0f" y="%.0f" font-size="10" text-anchor="end" fill="#b07200">%s %s</text>`, W-8, y(*q.v)-3, q.name, Human("seconds", q.v))
		}
	}
	for _, p := range pts {
		v := p.Seconds
		fmt.Fprintf(&sb, `<circle cx="%.0f" cy="%.0f" r="3" fill="#3b6fb6" fill-opacity=".6"><title>%s (%s): %s, done %s</title></circle>`,
			x(p.DoneAt), y(v), template.HTMLEscapeString(p.Key), template.HTMLEscapeString(p.Type), Human("seconds", &v), p.DoneAt.In(o.Location).Format("2 Jan"))
	}
	first, last := o.Since.In(o.Location), o.Until.Add(-time.Nanosecond).In(o.Location)
	fmt.Fprintf(&sb, `<text x="%.0f" y="%.0f" class="ax">%s</text>`, L, H-5, first.Format("2 Jan"))
	fmt.Fprintf(&sb, `<text x="%.0f" y="%.0f" class="ax e">%s</text>`, W-6, H-5, last.Format("2 Jan"))
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}
