package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"time"

	"github.com/devpulse/devpulse/alerts"
	"github.com/devpulse/devpulse/metrics"
)

// WriteHTML renders one self-contained page (inline CSS and SVG, no scripts,
// no network) for a sprint retrospective.
func WriteHTML(w io.Writer, rs []Result, o metrics.Options, now time.Time) error {
	type tile struct {
		Title, Value, Sub, Trend, Score, Class string
		Good                                   bool
		Neutral                                bool // no comparison (·) or no change (→): neither good nor bad news
	}
	type chart struct {
		Title string
		SVG   template.HTML
	}
	type change struct {
		Ref, URL, Title                      string
		Coding, Pickup, Review, Deploy, Lead string
	}
	type waiting struct{ Ref, URL, Since, For string }
	type incident struct{ Key, Opened, Closed, Restore, Fails string }
	type aging struct {
		Key, Type, Status, Since, Age string
		Over                          bool
	}
	type scoreRow struct {
		Title, Measured, Answer, Score, Ref, Tier, Class string
		Summary                                          bool
	}
	type deployRow struct {
		Finished, Project, Env, SHA, Shipped, Outcome, Recovered string
		Failed                                                   bool
	}
	type sprintRow struct {
		Name, Dates, Committed, Done, Added, Removed, ReEst, SayDo, Velocity, Carried string
		Burn                                                                          template.HTML
	}
	type link struct{ ID, Title string }
	type scope struct {
		Kind, Name string
		Anchor     string
		Links      []link
		Scores     []scoreRow
		RefName    string
		Deploys    []deployRow
		DeployNote string
		Sprints    []sprintRow
		CFD        template.HTML
		Scatter    template.HTML
		ByType     [][2]string
		AI         [][]string // AI-assisted and other merged MRs side by side
		HasTitles  bool       // some slowest change has a title the policy kept
		Notes      []string
		Waiting    []waiting
		Aging      []aging
		Incidents  []incident
		Tiles      []tile
		Breakdown  template.HTML
		Charts     []chart
		Slowest    []change
		Rows       [][]string
	}
	type changeRow struct {
		Scope, Anchor, Series, Kind, Since, Before, After, Change, P, State, Detected string
		Worse, Open                                                                   bool
	}
	type goalRow struct {
		Scope, Anchor, Goal, Week, Value, Status, BackTest string
		Class                                              string
	}
	data := struct {
		Since, Until, TZ, Grain, Generated string
		Scopes                             []scope
		CompareHeader                      []string
		Compare                            [][]string
		Changes                            []changeRow
		Goals                              []goalRow
	}{Since: o.Since.In(o.Location).Format("2 Jan 2006"), Until: o.Until.Add(-time.Nanosecond).In(o.Location).Format("2 Jan 2006"),
		TZ: o.Location.String(), Grain: o.Grain, Generated: now.UTC().Format("2006-01-02 15:04 UTC")}
	data.CompareHeader, data.Compare = Comparison(rs)
	for _, r := range rs {
		for _, g := range Shown(r, o) {
			b, a := g.Before, g.After
			data.Changes = append(data.Changes, changeRow{Scope: r.Scope.Kind + " · " + r.Scope.Name, Anchor: anchor(r.Scope.Kind, r.Scope.Name),
				Series: SeriesTitle(g.Metric, g.Stat), Kind: g.Kind, Since: "week of " + g.FirstWeek.Format("2 Jan 2006"),
				Before: Human(g.Unit, &b), After: Human(g.Unit, &a), Change: ChangeSize(g), P: pValue(g.P), State: g.State,
				Detected: g.DetectedAt.UTC().Format("2 Jan 2006"), Worse: g.Kind == "regression", Open: g.State == "open"})
		}
		for _, gr := range r.Goals {
			row := goalRow{Scope: r.Scope.Kind + " · " + r.Scope.Name, Anchor: anchor(r.Scope.Kind, r.Scope.Name), Goal: gr.Goal.Text,
				Status: strings.ReplaceAll(gr.Latest.Status, "_", " "), Week: "–", Value: "–",
				BackTest: fmt.Sprintf("missed %d of %d weeks", gr.Missed, len(gr.Weeks)), Class: map[string]string{alerts.Met: "good", alerts.Missed: "bad", alerts.AtRisk: "warn"}[gr.Latest.Status]}
			if gr.Latest.Status != alerts.NoValue {
				v := gr.Latest.Value
				row.Week, row.Value = "week of "+gr.Latest.Start.Format("2 Jan 2006"), Human(gr.Unit, &v)
			}
			data.Goals = append(data.Goals, row)
		}
	}

	for _, r := range rs {
		s := scope{Kind: r.Scope.Kind, Name: r.Scope.Name, Anchor: anchor(r.Scope.Kind, r.Scope.Name), Notes: Notes(r)}
		scores := Scores(r)
		for _, name := range []string{"deployment_frequency", "lead_time_for_changes", "change_failure_rate", "failed_deployment_recovery_time"} {
			if NoDeployments(r) {
				break // no tiles of dashes and a red "low": the note says why
			}
			m := r.Set[name]
			t := tile{Title: Titles[name], Value: Human(m.Unit, headline(m)), Trend: Trend(name, m, r.Prev[name])}
			for _, row := range scores {
				if row.Name == name && row.Score != nil {
					t.Score, t.Class = Human("score", row.Score), scoreClass(row)
				}
			}
			t.Good = Better(name, t.Trend)
			t.Neutral = t.Trend == "·" || t.Trend == "→"
			var sub []string
			switch {
			case m.Band != "":
				sub = append(sub, m.Band+" band")
			case m.Unit == "seconds":
				sub = append(sub, "p85 "+Human(m.Unit, m.P85))
			}
			if m.Tier != "" {
				sub = append(sub, fmt.Sprintf("%s in %d (legacy tier)", m.Tier, m.Year))
			}
			t.Sub = strings.Join(append(sub, fmt.Sprintf("n=%d", m.N)), " · ")
			s.Tiles = append(s.Tiles, t)
		}
		if bd := r.Set["lead_time_breakdown"]; bd != nil && !NoDeployments(r) {
			s.Breakdown = stackedBar(bd)
		}
		for _, name := range []string{"dora_score", "deployment_frequency", "lead_time_for_changes", "change_failure_rate", "failed_deployment_recovery_time",
			"mr_throughput", "mr_size", "pickup_time", "review_time", "pipeline_success_rate", "pipeline_duration", "pipeline_queue_time",
			"wip", "cycle_time", "throughput", "say_do_ratio", "velocity"} {
			if m := r.Set[name]; m != nil && !Hidden(r, name) {
				s.Charts = append(s.Charts, chart{Title: Titles[name] + chartSuffix(m), SVG: lineChart(m, r.Prev[name], r.marks(name, o)...)})
			}
		}
		for _, name := range Order {
			m := r.Set[name]
			if m == nil || name == "lead_time_breakdown" || Hidden(r, name) {
				continue
			}
			val := Human(m.Unit, headline(m))
			if m.IsDistribution() {
				val = "p50 " + val + " · p85 " + Human(m.Unit, m.P85)
			}
			tier := m.Tier
			if m.Band != "" {
				tier = m.Band + " / " + m.Tier
			}
			s.Rows = append(s.Rows, []string{Titles[name], val, tier, Trend(name, m, r.Prev[name]), fmt.Sprint(m.N)})
		}
		for _, t := range r.Slowest {
			c := change{Ref: fmt.Sprintf("%s!%d", t.MR.ProjectPath, t.MR.IID), URL: t.MR.WebURL, Coding: Human("seconds", t.Coding),
				Pickup: Human("seconds", t.Pickup), Review: Human("seconds", t.Review), Deploy: Human("seconds", t.Deploy), Lead: Human("seconds", ptrf(total(t)))}
			// A title the policy dropped or hashed shows as nothing: the
			// reference alone, not "withheld" on every row.
			if t.MR.Title != "" && !strings.HasPrefix(t.MR.Title, "h:") {
				c.Title = t.MR.Title
				s.HasTitles = true
			}
			s.Slowest = append(s.Slowest, c)
		}
		for _, x := range r.Waiting {
			f := x.For
			s.Waiting = append(s.Waiting, waiting{Ref: fmt.Sprintf("%s!%d", x.MR.ProjectPath, x.MR.IID), URL: x.MR.WebURL,
				Since: x.Since.In(o.Location).Format("2 Jan 15:04"), For: Human("seconds", &f)})
		}
		for _, x := range r.Incidents {
			row := incident{Key: x.Issue.Key, Opened: x.Issue.CreatedAt.In(o.Location).Format("2 Jan 15:04"), Closed: "open", Restore: "–", Fails: "none attributed"}
			if x.Issue.ClosedAt != nil {
				row.Closed = x.Issue.ClosedAt.In(o.Location).Format("2 Jan 15:04")
			}
			if x.Restore != nil {
				row.Restore = Human("seconds", x.Restore)
			}
			if len(x.Failed) > 0 {
				row.Fails = fmt.Sprintf("yes (%d deployment record(s))", len(x.Failed))
			}
			s.Incidents = append(s.Incidents, row)
		}
		for _, a := range r.Aging {
			age := a.Age
			s.Aging = append(s.Aging, aging{Key: a.Issue.Key, Type: a.Issue.Type, Status: a.Issue.Status,
				Since: a.Since.In(o.Location).Format("2 Jan 2006"), Age: Human("seconds", &age), Over: r.OverCycleP85(a)})
		}
		s.RefName = r.Reference.Name
		for _, row := range scores {
			sr := scoreRow{Title: row.Title, Measured: row.Measured, Answer: row.Answer, Score: Human("score", row.Score),
				Ref: fmt.Sprintf("%.1f ± %.1f", row.Ref.Mean, row.Ref.Std), Tier: row.Tier, Class: scoreClass(row),
				Summary: row.Name == "throughput" || row.Name == "stability" || row.Name == "overall"}
			s.Scores = append(s.Scores, sr)
		}
		for _, d := range ShownDeployments(r) {
			row := deployRow{Finished: d.FinishedAt.In(o.Location).Format("2 Jan 15:04"), Project: d.Project, Env: d.Environment, SHA: shortSHA(d.SHA),
				Shipped: plural(d.Changes, "MR") + ", " + plural(d.Commits, "commit"), Outcome: Outcome(d), Recovered: "–", Failed: d.Failed}
			if d.Recovery != nil {
				row.Recovered = Human("seconds", d.Recovery)
			} else if d.Failed {
				row.Recovered = "not yet"
			}
			s.Deploys = append(s.Deploys, row)
		}
		if n := len(r.Deployments); n > len(s.Deploys) {
			s.DeployNote = fmt.Sprintf("the newest %d of %d, and every failed one", MaxDeploymentRows, n)
		}
		if sd := r.Set["say_do_ratio"]; sd != nil {
			projects := map[string]bool{}
			for _, sp := range sd.Sprints {
				projects[sp.Project] = true
			}
			for _, sp := range sd.Sprints {
				name := sp.Name
				if len(projects) > 1 { // a team's sprints of several boards: say whose
					name += " · " + sp.Project
				}
				row := sprintRow{Name: name, Dates: sp.Start.In(o.Location).Format("2 Jan") + " – " + sp.End.Add(-time.Nanosecond).In(o.Location).Format("2 Jan"),
					Committed: Human("points", &sp.Committed), Done: Human("points", &sp.DoneOfCommitted), Added: Human("points", &sp.Added),
					Removed: Human("points", &sp.Removed), ReEst: fmt.Sprintf("%+.1f pts", sp.ReEst), SayDo: Human("ratio", sp.SayDo),
					Velocity: Human("points", &sp.Velocity), Carried: strings.Join(sp.CarriedOver, ", "), Burn: burnUpChart(sp, o.Location)}
				if row.Carried == "" {
					row.Carried = "none"
				}
				s.Sprints = append(s.Sprints, row)
			}
		}
		if len(r.Flow) > 0 {
			s.CFD = cfdChart(r.Flow)
			s.Scatter = scatterChart(r.Cycle, r.Set["cycle_time"], o)
			if thr := r.Set["throughput"]; thr != nil {
				for _, typ := range sortedKeys(thr.Parts) {
					s.ByType = append(s.ByType, [2]string{typ, Human("count", thr.Parts[typ].Value)})
				}
			}
		}
		if AIComparisonLine(r) != "" {
			m := r.Set["ai_comparison"]
			for _, g := range []string{"assisted", "other"} {
				p := func(k string) *metrics.Metric { return m.Parts[g+"."+k] }
				title := map[string]string{"assisted": "AI-assisted", "other": "other"}[g]
				s.AI = append(s.AI, []string{title, fmt.Sprint(p("reverted_or_hotfixed").N), Human("lines", p("mr_size").P50),
					Human("seconds", p("pickup_time").P50), Human("seconds", p("review_time").P50), Human("seconds", p("lead_time").P50),
					Human("ratio", p("reverted_or_hotfixed").Value)})
			}
		}
		add := func(ok bool, id, title string) {
			if ok {
				s.Links = append(s.Links, link{s.Anchor + "-" + id, title})
			}
		}
		add(len(s.Tiles) > 0, "delivery", "delivery")
		add(len(s.Scores) > 0, "score", "DORA score")
		add(len(s.Deploys) > 0, "deployments", "deployments")
		add(len(s.Sprints) > 0, "sprints", "sprints")
		add(s.CFD != "", "flow", "flow")
		add(true, "trends", "trends")
		add(true, "metrics", "all metrics")
		add(true, "changes", "slowest changes")
		add(len(s.AI) > 0, "ai", "AI-assisted")
		add(len(s.Incidents) > 0, "incidents", "incidents")
		add(len(s.Aging) > 0, "wip", "work in progress")
		add(len(s.Waiting) > 0, "waiting", "waiting for review")
		data.Scopes = append(data.Scopes, s)
	}
	return page.Execute(w, data)
}

func ptrf(f float64) *float64 { return &f }

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// scoreClass colours a score against the reference group: at or above its
// mean good, more than one std below it bad, between them neither.
func scoreClass(r ScoreRow) string {
	switch {
	case r.Score == nil:
		return ""
	case r.Above:
		return "above"
	case r.Below:
		return "below"
	}
	return "near"
}

func chartSuffix(m *metrics.Metric) string {
	if m.IsDistribution() {
		return " (p50)"
	}
	return ""
}

var partColors = map[string]string{"coding": "#6c8ebf", "pickup": "#e6a23c", "review": "#9b59b6", "deploy": "#2e9e6a"}

// stackedBar draws the p50 of each breakdown part as one horizontal bar.
func stackedBar(bd *metrics.Metric) template.HTML {
	parts := []string{"coding", "pickup", "review", "deploy"}
	sum := 0.0
	for _, p := range parts {
		if v := bd.Parts[p].P50; v != nil {
			sum += *v
		}
	}
	var sb strings.Builder
	if sum == 0 {
		return template.HTML(`<p class="muted">No change reached production in the window.</p>`)
	}
	sb.WriteString(`<svg viewBox="0 0 1000 28" width="100%" height="28" preserveAspectRatio="none" role="img" aria-label="lead time breakdown">`)
	x := 0.0
	for _, p := range parts {
		v := bd.Parts[p].P50
		if v == nil {
			continue
		}
		wd := *v / sum * 1000
		fmt.Fprintf(&sb, `<rect x="%.1f" y="0" width="%.1f" height="28" fill="%s"><title>%s p50 %s (n=%d)</title></rect>`,
			x, wd, partColors[p], p, Human("seconds", v), bd.Parts[p].N)
		x += wd
	}
	sb.WriteString(`</svg><div class="legend">`)
	for _, p := range parts {
		fmt.Fprintf(&sb, `<span><i style="background:%s"></i>%s <b>%s</b> <span class="muted">n=%d</span></span>`,
			partColors[p], p, Human("seconds", bd.Parts[p].P50), bd.Parts[p].N)
	}
	sb.WriteString(`</div>`)
	return template.HTML(sb.String())
}

// lineChart draws a series with its axis labels.
// mark is a change point drawn on a trend chart: a regression (red) or an
// improvement (green) beginning in the period holding At.
type mark struct {
	At    time.Time
	Worse bool
	Label string // the change in full, as a tooltip
	Text  string // on the chart: "regression", "p85 regression"
}

// marks are the chart's change points: the shown changes of its metric
// (a p85 shift is marked on the p50 line it belongs to, labelled so).
func (r Result) marks(metric string, o metrics.Options) []mark {
	var out []mark
	for _, g := range Shown(r, o) {
		if g.Metric == metric {
			text := g.Kind
			if g.Stat == "p85" { // the chart draws the p50
				text = "p85 " + text
			}
			out = append(out, mark{At: g.FirstWeek, Worse: g.Kind == "regression", Label: ChangeLine(g), Text: text})
		}
	}
	return out
}

func lineChart(m, previous *metrics.Metric, marks ...mark) template.HTML {
	// Series points are whole periods, also where a period reaches past the
	// window's edge (metrics.Compute); only a period that had not ended when
	// the data was read is partial.
	cut := func(p metrics.Point) bool { return p.Partial }
	const W, H, L, B, T = 300.0, 146.0, 58.0, 22.0, 16.0
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg viewBox="0 0 %.0f %.0f" width="100%%" role="img">`, W, H)
	maxV := 0.0
	n := 0
	for _, p := range m.Series {
		if p.Value != nil {
			maxV = math.Max(maxV, *p.Value)
			n++
		}
	}
	// The previous window, period for period, is drawn faintly behind.
	// Only periods with samples: a previous window older than the collected
	// history would otherwise draw a line of zeros the team never had.
	var before []*float64
	if previous != nil && len(previous.Series) > 0 {
		for _, p := range previous.Series {
			v := p.Value
			if p.N == 0 {
				v = nil
			}
			before = append(before, v)
			if v != nil {
				maxV = math.Max(maxV, *v)
			}
		}
	}
	if n == 0 {
		sb.WriteString(`<text x="10" y="70" class="muted">no data in the window</text></svg>`)
		return template.HTML(sb.String())
	}
	if m.Unit == "ratio" {
		maxV = math.Max(maxV, 1)
	}
	if maxV == 0 {
		maxV = 1
	}
	pw, ph := W-L-6, H-B-T
	x := func(i int) float64 {
		if len(m.Series) == 1 {
			return L + pw/2
		}
		return L + float64(i)*pw/float64(len(m.Series)-1)
	}
	y := func(v float64) float64 { return T + ph - v/maxV*ph }
	half := maxV / 2
	axes(&sb, L, T, W-6, T+ph, Human(m.Unit, &maxV), Human(m.Unit, &half))
	var ghost []string
	for i, v := range before {
		if v != nil && i < len(m.Series) {
			ghost = append(ghost, fmt.Sprintf("%.0f,%.0f", x(i), y(*v)))
		}
	}
	if len(ghost) > 1 {
		fmt.Fprintf(&sb, `<polyline points="%s" fill="none" stroke="#c3c9d4" stroke-width="1.4"><title>previous window</title></polyline>`, strings.Join(ghost, " "))
	}
	// A period not ended yet holds only part of its days: its point is
	// hollow and its segments dashed, so a 1-day week cannot pass for a
	// spike or a slump.
	// Whole periods are joined by one polyline per unbroken run; a segment
	// touching a partial period is a dashed line of its own.
	prev := -1
	partials := 0
	var run []string
	flush := func() {
		if len(run) > 1 {
			fmt.Fprintf(&sb, `<polyline class="ln" points="%s"/>`, strings.Join(run, " "))
		}
		run = run[:0]
	}
	for i, p := range m.Series {
		if p.Value == nil {
			continue
		}
		pt := fmt.Sprintf("%.0f,%.0f", x(i), y(*p.Value))
		if prev >= 0 && (cut(p) || cut(m.Series[prev])) {
			flush()
			fmt.Fprintf(&sb, `<line class="ln" x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke-dasharray="3 3"/>`,
				x(prev), y(*m.Series[prev].Value), x(i), y(*p.Value))
		}
		if len(run) == 0 && prev >= 0 && !cut(p) && !cut(m.Series[prev]) {
			run = append(run, fmt.Sprintf("%.0f,%.0f", x(prev), y(*m.Series[prev].Value)))
		}
		if !cut(p) {
			run = append(run, pt)
		}
		prev = i
	}
	flush()
	for _, mk := range marks {
		for i, p := range m.Series {
			// A week's start is midnight UTC in the warehouse; the chart's
			// periods are local midnights: compare by calendar day.
			day := time.Date(mk.At.Year(), mk.At.Month(), mk.At.Day(), 12, 0, 0, 0, p.PeriodStart.Location())
			if day.Before(p.PeriodStart) || !day.Before(p.PeriodEnd) {
				continue
			}
			color := "#1a7f37"
			if mk.Worse {
				color = "#c62828"
			}
			fmt.Fprintf(&sb, `<line class="cp" x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="%s" stroke-width="1.5" stroke-dasharray="4 2"><title>%s</title></line>`,
				x(i), T, x(i), T+ph, color, template.HTMLEscapeString(mk.Label))
			fmt.Fprintf(&sb, `<text x="%.0f" y="%.0f" font-size="10" fill="%s">%s</text>`, x(i)+3, T+9, color, template.HTMLEscapeString(mk.Text))
		}
	}
	for i, p := range m.Series {
		if p.Value == nil {
			continue
		}
		class, note := "pt", ""
		if cut(p) {
			class, note = "ph", ", partial period"
			partials++
		}
		fmt.Fprintf(&sb, `<circle class="%s" cx="%.0f" cy="%.0f" r="2.5"><title>%s: %s (n=%d%s)</title></circle>`,
			class, x(i), y(*p.Value), p.PeriodStart.Format("2 Jan"), Human(m.Unit, p.Value), p.N, note)
	}
	var keys []string
	if len(ghost) > 1 {
		keys = append(keys, "grey: previous window")
	}
	if partials > 0 {
		keys = append(keys, "○ partial period")
	}
	if len(keys) > 0 {
		fmt.Fprintf(&sb, `<text x="%.0f" y="9" font-size="9" text-anchor="end" class="muted">%s</text>`, W-6, strings.Join(keys, " · "))
	}
	if len(m.Series) > 2 {
		mid := len(m.Series) / 2
		fmt.Fprintf(&sb, `<text x="%.0f" y="%.0f" class="ax m">%s</text>`, x(mid), H-6, m.Series[mid].PeriodStart.Format("2 Jan"))
	}
	first, last := m.Series[0].PeriodStart, m.Series[len(m.Series)-1].PeriodStart
	fmt.Fprintf(&sb, `<text x="%.0f" y="%.0f" class="ax">%s</text>`, L, H-6, first.Format("2 Jan"))
	fmt.Fprintf(&sb, `<text x="%.0f" y="%.0f" class="ax e">%s</text>`, W-6, H-6, last.Format("2 Jan"))
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}

var page = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>devpulse report {{.Since}} – {{.Until}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{background:#1d2330;color:#fff;padding:18px 28px}header h1{margin:0;font-size:20px}header p{margin:4px 0 0;color:#b8c0d0}
main{padding:8px 28px 40px}section{background:#fff;border-radius:10px;padding:18px 22px;margin:18px 0;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h2{margin:0 0 12px;font-size:18px}h3{font-size:14px;margin:18px 0 8px;color:#485063}
.tiles{display:grid;grid-template-columns:repeat(4,1fr);gap:12px}
.tile{border-radius:8px;padding:12px 14px;border-left:6px solid #999;background:#fafbfc}
.tile .t{color:#485063;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.tile .v{font-size:26px;font-weight:600;margin:4px 0}.tile .s{font-size:12px;color:#6b7384}
.score{display:inline-block;border-radius:10px;padding:1px 8px;font-size:12px;font-weight:600;color:#fff;background:#8a92a3}
.score.above{background:#1f9d55}.score.near{background:#d98e04}.score.below{background:#c7402d}
.tile.b-above{border-color:#1f9d55}.tile.b-near{border-color:#d98e04}.tile.b-below{border-color:#c7402d}
tr.sum td{font-weight:600;background:#fafbfc}svg .ax{font-size:10px;fill:#8a92a3}svg .e{text-anchor:end}svg .m{text-anchor:middle}svg .ln{fill:none;stroke:#3b6fb6;stroke-width:1.8}svg .pt{fill:#3b6fb6;stroke:#3b6fb6}svg .ph{fill:#fff;stroke:#3b6fb6}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:22px}table.nw td{white-space:nowrap}table.nw td:last-child{white-space:normal}p.links a{margin-right:12px;font-size:13px;color:#2f80c9;text-decoration:none}
.legend span{display:inline-block;margin-right:18px;font-size:13px}.legend i{display:inline-block;width:11px;height:11px;margin-right:5px;vertical-align:-1px}
.good{color:#1f9d55}.bad{color:#c7402d}.warn{color:#b26a00}.muted{color:#8a92a3;fill:#8a92a3}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:14px}
.chart{border:1px solid #eceef2;border-radius:8px;padding:8px 10px}.chart .t{font-size:12px;color:#485063}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eceef2}
th{color:#485063;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
footer{color:#8a92a3;font-size:12px;padding:0 28px 24px}
p.note{background:#f2f4f8;border-left:4px solid #8a92a3;padding:6px 10px;margin:6px 0;color:#485063;font-size:13px}
nav.toc{background:#fff;border-radius:10px;padding:10px 22px;margin:18px 0 0;box-shadow:0 1px 3px rgba(0,0,0,.08);font-size:13px}
nav.toc a{display:inline-block;margin:2px 12px 2px 0;color:#2f80c9;text-decoration:none}
</style></head><body>
<header><h1>devpulse · development condition</h1>
<p>{{.Since}} – {{.Until}} · periods by {{.Grain}} in {{.TZ}} · people are pseudonymized; no free text is collected</p></header>
<main>
{{if gt (len .Scopes) 1}}<nav class="toc"><b>Contents</b> <a href="#what-changed">what changed</a>{{if .Compare}} <a href="#teams">teams side by side</a>{{end}}{{range .Scopes}} <a href="#{{.Anchor}}">{{.Kind}} · {{.Name}}</a>{{end}}</nav>{{end}}
<section id="what-changed"><h2>What changed</h2>
{{if .Changes}}<table><tr><th>scope</th><th>series</th><th></th><th>since</th><th>median before</th><th>median after</th><th>change</th><th>p</th><th>state</th><th>detected</th></tr>
{{range .Changes}}<tr><td><a href="#{{.Anchor}}">{{.Scope}}</a></td><td>{{.Series}}</td><td class="{{if .Worse}}bad{{else}}good{{end}}">{{.Kind}}</td><td>{{.Since}}</td><td class="num">{{.Before}}</td><td class="num">{{.After}}</td><td class="num {{if .Worse}}bad{{else}}good{{end}}">{{.Change}}</td><td class="num">{{.P}}</td><td>{{.State}}</td><td>{{.Detected}}</td></tr>{{end}}</table>
<p class="muted">A lasting shift of a weekly series (E-Divisive change point, Mann–Whitney U at the configured p, and a median move of at least alerts.min_change); noisy single weeks are not listed. Dashed lines on the trend charts mark where each began.</p>
{{else}}<p class="muted">No lasting shift in the watched weekly series (alerts.series): nothing got lastingly worse or better. Weeks with data stored: what <code>devpulse metrics</code> has computed; backfill with <code>devpulse metrics --since</code>.</p>{{end}}
{{if .Goals}}<h3>Goals</h3><table><tr><th>scope</th><th>goal</th><th>latest whole week</th><th>value</th><th>state</th><th>back-test</th></tr>
{{range .Goals}}<tr><td><a href="#{{.Anchor}}">{{.Scope}}</a></td><td>{{.Goal}}</td><td>{{.Week}}</td><td class="num">{{.Value}}</td><td class="{{.Class}}">{{.Status}}</td><td>{{.BackTest}}</td></tr>{{end}}</table>{{end}}
</section>
{{if .Compare}}<section id="teams"><h2>Teams side by side</h2><table><tr>{{range .CompareHeader}}<th>{{.}}</th>{{end}}</tr>
{{range .Compare}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</table></section>{{end}}
{{range .Scopes}}<section id="{{.Anchor}}">
<h2>{{.Kind}} · {{.Name}}</h2>
{{if .Links}}<p class="links">{{range .Links}}<a href="#{{.ID}}">{{.Title}}</a>{{end}}</p>{{end}}
{{range .Notes}}<p class="note">{{.}}</p>{{end}}
{{$a := .Anchor}}{{$ref := .RefName}}
{{if .Tiles}}<div class="tiles" id="{{$a}}-delivery">{{range .Tiles}}<div class="tile b-{{.Class}}"><div class="t">{{.Title}}</div>
<div class="v">{{.Value}} <span class="{{if .Neutral}}muted{{else if .Good}}good{{else}}bad{{end}}" title="vs the previous window">{{.Trend}}</span></div>
<div>{{if .Score}}<span class="score {{.Class}}" title="DORA 2025 Quick Check score, 0–10">{{.Score}}/10</span>{{else}}<span class="muted">no score: no data</span>{{end}}</div>
<div class="s">{{.Sub}}</div></div>{{end}}</div>
<h3>Lead time breakdown (p50 of each stage, deployed changes)</h3>{{.Breakdown}}{{end}}
{{if .Scores}}<h3 id="{{$a}}-score">DORA 2025 score (Quick Check, 0–10) against {{$ref}}</h3>
<table><tr><th>metric</th><th>measured</th><th>DORA answer</th><th>score</th><th>{{$ref}} mean ± std</th><th>tier in 2024 (legacy)</th></tr>
{{range .Scores}}<tr{{if .Summary}} class="sum"{{end}}><td>{{.Title}}</td><td>{{.Measured}}</td><td>{{.Answer}}</td><td class="num"><span class="score {{.Class}}">{{.Score}}</span></td><td class="num">{{.Ref}}</td><td>{{.Tier}}</td></tr>{{end}}</table>
<p class="muted">DORA stopped publishing elite/high/medium/low clusters after 2024; its current benchmark is this score. Green: at or above the reference mean; red: more than one standard deviation below it.</p>{{end}}
{{if .Deploys}}<h3 id="{{$a}}-deployments">Production deployments{{if .DeployNote}} <span class="muted">({{.DeployNote}})</span>{{end}}</h3>
<table><tr><th>finished</th><th>project</th><th>environment</th><th>commit</th><th>shipped</th><th>outcome</th><th>recovered in</th></tr>
{{range .Deploys}}<tr><td>{{.Finished}}</td><td>{{.Project}}</td><td>{{.Env}}</td><td><code>{{.SHA}}</code></td><td>{{.Shipped}}</td><td{{if .Failed}} class="bad"{{end}}>{{.Outcome}}</td><td class="num">{{.Recovered}}</td></tr>{{end}}</table>{{end}}
{{if .Sprints}}<h3 id="{{$a}}-sprints">Sprints</h3>
<table class="nw"><tr><th>sprint</th><th>dates</th><th>committed</th><th>done of committed</th><th>added</th><th>removed</th><th>re-estimated</th><th>say/do</th><th>velocity</th><th>carried over</th></tr>
{{range .Sprints}}<tr><td>{{.Name}}</td><td>{{.Dates}}</td><td class="num">{{.Committed}}</td><td class="num">{{.Done}}</td><td class="num">{{.Added}}</td><td class="num">{{.Removed}}</td><td class="num">{{.ReEst}}</td><td class="num">{{.SayDo}}</td><td class="num">{{.Velocity}}</td><td>{{.Carried}}</td></tr>{{end}}</table>
<div class="charts">{{range .Sprints}}<div class="chart"><div class="t">Burn-up · {{.Name}} <span class="muted">(grey scope, green done)</span></div>{{.Burn}}</div>{{end}}</div>{{end}}
{{if .CFD}}<div class="pair" id="{{$a}}-flow"><div><h3>Cumulative flow (issues by category, end of each day)</h3>{{.CFD}}</div>
<div><h3>Cycle time of each issue done (dashed: p50 and p85)</h3>{{.Scatter}}
{{if .ByType}}<p class="legend"><b>Done by type:</b> {{range .ByType}}<span>{{index . 0}} <b>{{index . 1}}</b></span>{{end}}</p>{{end}}</div></div>{{end}}
<h3 id="{{$a}}-trends">Trends</h3><div class="charts">{{range .Charts}}<div class="chart"><div class="t">{{.Title}}</div>{{.SVG}}</div>{{end}}</div>
<h3 id="{{$a}}-metrics">All metrics</h3><table><tr><th>metric</th><th>value</th><th>band / tier in 2024 (legacy)</th><th>trend</th><th>n</th></tr>
{{range .Rows}}<tr><td>{{index . 0}}</td><td>{{index . 1}}</td><td>{{index . 2}}</td><td>{{index . 3}}</td><td class="num">{{index . 4}}</td></tr>{{end}}</table>
<h3 id="{{$a}}-changes">Slowest merge requests to production</h3>
{{$titles := .HasTitles}}{{if .Slowest}}<table><tr><th>merge request</th>{{if $titles}}<th>title</th>{{end}}<th>coding</th><th>pickup</th><th>review</th><th>deploy</th><th>total</th></tr>
{{range .Slowest}}<tr><td>{{if .URL}}<a href="{{.URL}}">{{.Ref}}</a>{{else}}{{.Ref}}{{end}}</td>{{if $titles}}<td>{{.Title}}</td>{{end}}<td class="num">{{.Coding}}</td><td class="num">{{.Pickup}}</td><td class="num">{{.Review}}</td><td class="num">{{.Deploy}}</td><td class="num">{{.Lead}}</td></tr>{{end}}</table>
{{else}}<p class="muted">No change reached production in the window.</p>{{end}}
{{if .AI}}<h3 id="{{$a}}-ai">AI-assisted merge requests beside the others (p50)</h3>
<table><tr><th>merged MRs</th><th>n</th><th>size (lines)</th><th>pickup</th><th>review</th><th>lead time</th><th>reverted or hotfixed within 14 days</th></tr>
{{range .AI}}<tr>{{range $i, $c := .}}<td{{if $i}} class="num"{{end}}>{{$c}}</td>{{end}}</tr>{{end}}</table>{{end}}
{{if .Incidents}}<h3 id="{{$a}}-incidents">Incidents</h3>
<table><tr><th>incident</th><th>opened</th><th>closed</th><th>time to restore</th><th>fails a production deployment</th></tr>
{{range .Incidents}}<tr><td>{{.Key}}</td><td>{{.Opened}}</td><td>{{.Closed}}</td><td class="num">{{.Restore}}</td><td>{{.Fails}}</td></tr>{{end}}</table>{{end}}
{{if .Aging}}<h3 id="{{$a}}-wip">Oldest work in progress</h3>
<table><tr><th>issue</th><th>type</th><th>status</th><th>in progress since</th><th>age</th></tr>
{{range .Aging}}<tr><td>{{.Key}}</td><td>{{.Type}}</td><td>{{.Status}}</td><td>{{.Since}}</td><td class="num{{if .Over}} bad{{end}}"{{if .Over}} title="older than the cycle-time p85"{{end}}>{{.Age}}</td></tr>{{end}}</table>{{end}}
{{if .Waiting}}<h3 id="{{$a}}-waiting">Open merge requests waiting longest for a first review</h3>
<table><tr><th>merge request</th><th>ready since</th><th>waiting</th></tr>
{{range .Waiting}}<tr><td>{{if .URL}}<a href="{{.URL}}">{{.Ref}}</a>{{else}}{{.Ref}}{{end}}</td><td>{{.Since}}</td><td class="num">{{.For}}</td></tr>{{end}}</table>{{end}}
</section>{{end}}
</main>
<footer>Generated {{.Generated}} by devpulse. Definitions: docs/metrics.md in the devpulse repository (the metrics contract). Scores: DORA's 2025 Quick Check (dora.dev, Apache-2.0); tiers: DORA's 2024 clusters, the last it published (legacy).</footer>
</body></html>
`))

// anchor is a scope's id in the page, for the table of contents.
func anchor(kind, name string) string {
	var b strings.Builder
	b.WriteString(kind + "-")
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}
