package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/devpulse/devpulse/metrics"
)

// Doc is the JSON report (schema in README.md, "Report JSON"). Durations are
// seconds, ratios 0..1, dates in the report's time zone. A metric with no
// samples has null values, never 0.
type Doc struct {
	Window      DocWindow  `json:"window"`
	GeneratedAt string     `json:"generated_at"`
	Scopes      []DocScope `json:"scopes"`
}

// DocWindow is the half-open window [since, until).
type DocWindow struct {
	Since    string `json:"since"`
	Until    string `json:"until"`
	Timezone string `json:"timezone"`
	Grain    string `json:"grain"`
}

// DocScope is one project or team.
type DocScope struct {
	Kind      string                    `json:"kind"`
	Name      string                    `json:"name"`
	Metrics   map[string]map[string]any `json:"metrics"`
	Slowest   []DocChange               `json:"slowest_merge_requests"`
	Waiting   []DocWaiting              `json:"waiting_for_review"`
	Aging     []DocAging                `json:"aging_work_in_progress"`
	Incidents []DocIncident             `json:"incidents"`
	// Deployments are the window's production deployments, newest first.
	Deployments []DocDeployment `json:"deployments"`
	Flow        []DocFlowDay    `json:"cumulative_flow"`
	Cycle       []DocCycle      `json:"cycle_times"`
	// Notes say which families have no data in the window and why, so an
	// absent figure is not read as a bad one.
	Notes []string `json:"notes"`
	// Changes are the regressions and improvements "What changed" shows.
	Changes []DocRegression `json:"changes"`
	Goals   []DocGoal       `json:"goals"`
}

// DocRegression is one lasting shift of a weekly series.
type DocRegression struct {
	Metric       string   `json:"metric"`
	Stat         string   `json:"stat"`
	Kind         string   `json:"kind"` // regression | improvement
	FirstWeek    string   `json:"first_week"`
	MedianBefore float64  `json:"median_before"`
	MedianAfter  float64  `json:"median_after"`
	Change       *float64 `json:"relative_change"` // null: from 0
	PValue       float64  `json:"p_value"`
	Unit         string   `json:"unit"`
	State        string   `json:"state"` // open | resolved
	DetectedAt   string   `json:"detected_at"`
	Summary      string   `json:"summary"`
}

// DocGoal is one goal judged over the scope's whole weeks.
type DocGoal struct {
	Goal   string        `json:"goal"`
	Metric string        `json:"metric"`
	Stat   string        `json:"stat"`
	Target float64       `json:"target"`
	Unit   string        `json:"unit"`
	Status string        `json:"status"` // of the latest whole week: met | missed | at_risk | no_data
	Missed int           `json:"backtest_missed_weeks"`
	Weeks  []DocGoalWeek `json:"weeks"`
}

// DocGoalWeek is one whole week's state.
type DocGoalWeek struct {
	Week   string  `json:"week"`
	Value  float64 `json:"value"`
	Status string  `json:"status"`
}

// doraMetrics need production deployments: without any they are not shown.
var doraMetrics = map[string]bool{"deployment_count": true, "deployment_frequency": true, "lead_time_for_changes": true, "lead_time_breakdown": true,
	"change_failure_rate": true, "failed_deployment_recovery_time": true, "rework_rate": true, "deploy_attempt_failure_rate": true,
	"dora_score": true, "ticket_lead_time": true}

// NoDeployments tells whether the scope had no production deployment in the
// window: then a deployment frequency of 0 and a "low" tier would describe
// the collection, not the team.
func NoDeployments(r Result) bool {
	m := r.Set["deployment_count"]
	return m == nil || m.N == 0
}

// reviewMetrics and ciMetrics are families that share one source of data.
var (
	reviewMetrics = map[string]bool{"mr_throughput": true, "mr_size": true, "pickup_time": true, "review_time": true,
		"unreviewed_merge_rate": true, "reviewers_per_mr": true, "ai_assisted_rate": true}
	ciMetrics = map[string]bool{"pipeline_success_rate": true, "pipeline_duration": true, "pipeline_queue_time": true}
)

// Hidden tells whether a metric is left out of a scope's rows and charts:
// its family has no data in the window (a note says which and why), so a
// row of dashes would only be noise. The JSON keeps every metric, null.
func Hidden(r Result, name string) bool {
	m := r.Set[name]
	switch {
	case m == nil:
		return true
	case doraMetrics[name]:
		return NoDeployments(r) || (name == "ticket_lead_time" && m.N == 0) // no linked ticket shipped
	case reviewMetrics[name]:
		t := r.Set["mr_throughput"]
		return t == nil || t.N == 0
	case ciMetrics[name]:
		p := r.Set["pipeline_success_rate"]
		return p == nil || p.N == 0
	case flowMetrics[name], name == "time_to_restore", name == "unlinked_change_rate":
		return m.N == 0
	}
	return false
}

// Notes say what a scope has no data for in the window, and why.
func Notes(r Result) []string {
	var out []string
	if NoDeployments(r) {
		out = append(out, "no production deployments in the window, so no DORA figures: does this project deploy through GitLab environments? "+
			"A deployment counts when its environment's tier is production or its name matches deployments.production; "+
			"a project that deploys from a CI job without an environment needs deployments.jobs (the job's name)")
	}
	if m := r.Set["mr_throughput"]; m == nil || m.N == 0 {
		out = append(out, "no merge request was merged in the window, so no review figures")
	}
	if m := r.Set["pipeline_success_rate"]; m == nil || m.N == 0 {
		out = append(out, "no finished default-branch pipeline in the window, so no CI figures")
	}
	flow := false
	for name := range flowMetrics {
		if m := r.Set[name]; m != nil && m.N > 0 {
			flow = true
		}
	}
	if !flow {
		out = append(out, "no tracker issue moved in the window, so no flow or sprint figures (JIRA, Redmine or GitLab issues)")
	}
	return out
}

// DocChange is one of the window's slowest deployed MRs.
type DocChange struct {
	ID         string   `json:"id"`
	Ref        string   `json:"ref"`   // group/project!iid
	Title      *string  `json:"title"` // only when privacy.titles is keep
	WebURL     string   `json:"web_url"`
	DeployedAt string   `json:"deployed_at"`
	Coding     *float64 `json:"coding"`
	Pickup     *float64 `json:"pickup"`
	Review     *float64 `json:"review"`
	Deploy     *float64 `json:"deploy"`
}

// DocWaiting is an open MR waiting for its first review.
type DocWaiting struct {
	ID      string  `json:"id"`
	Ref     string  `json:"ref"`
	WebURL  string  `json:"web_url"`
	ReadyAt string  `json:"ready_at"`
	Waiting float64 `json:"waiting_seconds"`
}

// DocAging is an issue in progress.
type DocAging struct {
	ID           string  `json:"id"`
	Key          string  `json:"key"`
	Type         string  `json:"type"`
	Status       string  `json:"status"`
	InProgress   string  `json:"in_progress_since"`
	Age          float64 `json:"age_seconds"`
	OverCycleP85 bool    `json:"over_cycle_time_p85"`
}

// DocIncident is an incident of the window.
type DocIncident struct {
	ID                string   `json:"id"`
	Key               string   `json:"key"`
	OpenedAt          string   `json:"opened_at"`
	ClosedAt          *string  `json:"closed_at"`
	TimeToRestore     *float64 `json:"time_to_restore_seconds"`
	FailedDeployments []string `json:"failed_deployments"`
}

// DocDeployment is one production deployment of the window.
type DocDeployment struct {
	IDs         []string `json:"ids"`
	Project     string   `json:"project"`
	Environment string   `json:"environment"`
	Ref         string   `json:"ref"`
	SHA         string   `json:"sha"`
	FinishedAt  string   `json:"finished_at"`
	Changes     int      `json:"merge_requests"`
	Commits     int      `json:"commits"`
	Rework      bool     `json:"rework"`
	Failed      bool     `json:"failed"`
	Causes      []string `json:"causes"`
	RecoveredAt *string  `json:"recovered_at"`
	Recovery    *float64 `json:"recovery_seconds"`
}

// DocFlowDay is one day of the cumulative flow diagram (counted at its end).
type DocFlowDay struct {
	Day        string `json:"day"`
	Todo       int    `json:"todo"`
	InProgress int    `json:"in_progress"`
	Done       int    `json:"done"`
}

// DocCycle is one done issue of the cycle-time scatter.
type DocCycle struct {
	Key     string  `json:"key"`
	Type    string  `json:"type"`
	DoneAt  string  `json:"done_at"`
	Seconds float64 `json:"cycle_time_seconds"`
}

func burnDoc(ps []metrics.BurnPoint) []map[string]any {
	out := []map[string]any{}
	for _, p := range ps {
		out = append(out, map[string]any{"at": p.At.Format(time.RFC3339), "scope": p.Scope, "done": p.Done})
	}
	return out
}

// DocPoint is one period.
type DocPoint struct {
	PeriodStart string   `json:"period_start"`
	Value       *float64 `json:"value"`
	N           int      `json:"n"`
}

// Order is how metrics are listed in the table and page.
var Order = []string{"deployment_frequency", "lead_time_for_changes", "change_failure_rate", "failed_deployment_recovery_time",
	"time_to_restore", "rework_rate", "deploy_attempt_failure_rate", "dora_score", "ticket_lead_time", "lead_time_breakdown", "mr_throughput", "unlinked_change_rate", "mr_size", "pickup_time",
	"review_time", "unreviewed_merge_rate", "reviewers_per_mr", "ai_assisted_rate", "pipeline_success_rate", "pipeline_duration", "pipeline_queue_time",
	"cycle_time", "issue_lead_time", "throughput", "wip", "issue_age", "flow_efficiency", "velocity", "say_do_ratio",
	"deployment_count"}

// flowMetrics are shown only where a scope has tracker data.
var flowMetrics = map[string]bool{"cycle_time": true, "issue_lead_time": true, "throughput": true, "wip": true,
	"issue_age": true, "flow_efficiency": true, "velocity": true, "say_do_ratio": true}

// Titles of metrics for people.
var Titles = map[string]string{
	"deployment_frequency": "Deployment frequency", "lead_time_for_changes": "Lead time for changes",
	"change_failure_rate": "Change failure rate", "failed_deployment_recovery_time": "Failed deployment recovery",
	"time_to_restore": "Time to restore", "rework_rate": "Rework rate", "deploy_attempt_failure_rate": "Deploy attempt failures",
	"lead_time_breakdown": "Lead time breakdown", "mr_throughput": "MRs merged", "mr_size": "MR size (lines changed)", "pickup_time": "Review pickup time",
	"review_time": "Review time", "unreviewed_merge_rate": "Merged without review", "reviewers_per_mr": "Reviewers per MR",
	"pipeline_success_rate": "Pipeline success rate", "pipeline_duration": "Pipeline duration",
	"pipeline_queue_time": "Pipeline queue time", "deployment_count": "Deployments",
	"cycle_time": "Cycle time", "issue_lead_time": "Issue lead time", "throughput": "Issues done", "wip": "WIP (daily mean)",
	"issue_age": "Age of work in progress", "flow_efficiency": "Flow efficiency", "velocity": "Velocity (last 3 sprints)",
	"say_do_ratio": "Say/do ratio", "dora_score": "DORA score (2025)",
	"ticket_lead_time": "Ticket lead time", "unlinked_change_rate": "MRs naming no ticket",
	"ai_assisted_rate": "AI-assisted MRs",
	"throughput_score": "Throughput", "stability_score": "Stability",
}

// lowerIsBetter tells which way a trend is good.
var lowerIsBetter = map[string]bool{
	"lead_time_for_changes": true, "change_failure_rate": true, "failed_deployment_recovery_time": true, "time_to_restore": true,
	"rework_rate": true, "deploy_attempt_failure_rate": true, "pickup_time": true, "review_time": true, "mr_size": true,
	"unreviewed_merge_rate": true, "pipeline_duration": true, "pipeline_queue_time": true,
	"cycle_time": true, "issue_lead_time": true, "issue_age": true, "wip": true,
	"ticket_lead_time": true, "unlinked_change_rate": true,
}

func headline(m *metrics.Metric) *float64 {
	if m == nil {
		return nil
	}
	if m.IsDistribution() {
		return m.P50
	}
	if m.Mean != nil {
		return m.Mean
	}
	return m.Value
}

// Trend compares a metric's headline value with the previous window.
func Trend(name string, cur, prev *metrics.Metric) string {
	a, b := headline(cur), headline(prev)
	if a == nil || b == nil {
		return "·"
	}
	if math.Abs(*a-*b) <= 0.02*math.Max(math.Abs(*a), math.Abs(*b)) {
		return "→"
	}
	if *a > *b {
		return "↑"
	}
	return "↓"
}

// Better tells whether a trend arrow is good news for this metric.
func Better(name, arrow string) bool {
	if arrow == "↑" {
		return !lowerIsBetter[name]
	}
	if arrow == "↓" {
		return lowerIsBetter[name]
	}
	return false
}

func series(m *metrics.Metric) []DocPoint {
	out := make([]DocPoint, 0, len(m.Series))
	for _, p := range m.Series {
		out = append(out, DocPoint{PeriodStart: p.PeriodStart.Format("2006-01-02"), Value: p.Value, N: p.N})
	}
	return out
}

func docMetric(name string, m, prev *metrics.Metric) map[string]any {
	out := map[string]any{"unit": m.Unit, "n": m.N}
	if name == "lead_time_breakdown" {
		for _, part := range []string{"coding", "pickup", "review", "deploy"} {
			p := m.Parts[part]
			out[part] = map[string]any{"p50": p.P50, "p85": p.P85, "n": p.N}
		}
		return out
	}
	if name == "ai_comparison" {
		for _, g := range []string{"assisted", "other"} {
			part := func(k string) *metrics.Metric { return m.Parts[g+"."+k] }
			out[g] = map[string]any{"merge_requests": part("reverted_or_hotfixed").N, "mr_size_p50": part("mr_size").P50,
				"pickup_time_p50": part("pickup_time").P50, "review_time_p50": part("review_time").P50,
				"lead_time_p50": part("lead_time").P50, "reverted_or_hotfixed": part("reverted_or_hotfixed").Value}
		}
		return out
	}
	if p := m.Parts["in_progress"]; name == "ticket_lead_time" && p != nil {
		out["in_progress"] = map[string]any{"p50": p.P50, "p85": p.P85, "n": p.N}
	}
	if len(m.Parts) > 0 && name == "throughput" { // by issue type
		by := map[string]any{}
		for k, p := range m.Parts {
			by[k] = p.Value
		}
		out["by_type"] = by
	}
	if m.Sprints != nil {
		var sp []map[string]any
		for _, s := range m.Sprints {
			sp = append(sp, map[string]any{"id": s.ID, "name": s.Name, "start": s.Start.Format(time.RFC3339), "end": s.End.Format(time.RFC3339),
				"committed": s.Committed, "done_of_committed": s.DoneOfCommitted, "velocity": s.Velocity, "added": s.Added,
				"removed": s.Removed, "re_estimated": s.ReEst, "say_do": s.SayDo, "burn_up": burnDoc(s.Burn), "carried_over": append([]string{}, s.CarriedOver...)})
		}
		out["sprints"] = sp
	}
	if m.IsDistribution() {
		out["p50"], out["p85"] = m.P50, m.P85
		if prev != nil {
			out["previous_p50"] = prev.P50
		}
	} else {
		out["value"] = m.Value
		if prev != nil {
			out["previous"] = prev.Value
		}
	}
	if m.Tier != "" {
		// The 2024 clusters are the last DORA published: legacy, with their year.
		out["tier"], out["benchmark_year"], out["tier_legacy"] = m.Tier, m.Year, true
	}
	if m.Band != "" {
		out["band"] = m.Band
	}
	out["trend"] = Trend(name, m, prev)
	out["series"] = series(m)
	return out
}

// Document builds the JSON report.
func Document(rs []Result, o metrics.Options, now time.Time) *Doc {
	d := &Doc{Window: DocWindow{Since: o.Since.In(o.Location).Format(time.RFC3339), Until: o.Until.In(o.Location).Format(time.RFC3339),
		Timezone: o.Location.String(), Grain: o.Grain}, GeneratedAt: now.UTC().Format(time.RFC3339)}
	for _, r := range rs {
		s := DocScope{Kind: r.Scope.Kind, Name: r.Scope.Name, Metrics: map[string]map[string]any{}, Slowest: []DocChange{}, Waiting: []DocWaiting{},
			Notes: append([]string{}, Notes(r)...)}
		s.Changes, s.Goals = []DocRegression{}, []DocGoal{}
		for _, g := range Shown(r, o) {
			s.Changes = append(s.Changes, DocRegression{Metric: g.Metric, Stat: g.Stat, Kind: g.Kind, FirstWeek: g.FirstWeek.Format("2006-01-02"),
				MedianBefore: g.Before, MedianAfter: g.After, Change: g.Change, PValue: g.P, Unit: g.Unit, State: g.State,
				DetectedAt: g.DetectedAt.UTC().Format(time.RFC3339), Summary: ChangeLine(g)})
		}
		for _, gr := range r.Goals {
			dg := DocGoal{Goal: gr.Goal.Text, Metric: gr.Goal.Series.Metric, Stat: gr.Goal.Series.Stat, Target: gr.Goal.Target, Unit: gr.Unit,
				Status: gr.Latest.Status, Missed: gr.Missed, Weeks: []DocGoalWeek{}}
			for _, w := range gr.Weeks {
				dg.Weeks = append(dg.Weeks, DocGoalWeek{Week: w.Start.Format("2006-01-02"), Value: w.Value, Status: w.Status})
			}
			s.Goals = append(s.Goals, dg)
		}
		s.Incidents = []DocIncident{}
		for _, x := range r.Incidents {
			d := DocIncident{ID: x.Issue.ID, Key: x.Issue.Key, OpenedAt: x.Issue.CreatedAt.In(o.Location).Format(time.RFC3339),
				TimeToRestore: x.Restore, FailedDeployments: append([]string{}, x.Failed...)}
			if x.Issue.ClosedAt != nil {
				c := x.Issue.ClosedAt.In(o.Location).Format(time.RFC3339)
				d.ClosedAt = &c
			}
			s.Incidents = append(s.Incidents, d)
		}
		s.Aging = []DocAging{}
		for _, a := range r.Aging {
			s.Aging = append(s.Aging, DocAging{ID: a.Issue.ID, Key: a.Issue.Key, Type: a.Issue.Type, Status: a.Issue.Status,
				InProgress: a.Since.In(o.Location).Format(time.RFC3339), Age: a.Age, OverCycleP85: r.OverCycleP85(a)})
		}
		for _, w := range r.Waiting {
			s.Waiting = append(s.Waiting, DocWaiting{ID: w.MR.ID, Ref: fmt.Sprintf("%s!%d", w.MR.ProjectPath, w.MR.IID), WebURL: w.MR.WebURL,
				ReadyAt: w.Since.In(o.Location).Format(time.RFC3339), Waiting: w.For})
		}
		for _, name := range Order {
			if m := r.Set[name]; m != nil {
				s.Metrics[name] = docMetric(name, m, r.Prev[name])
			}
		}
		if m := r.Set["ai_comparison"]; m != nil {
			s.Metrics["ai_comparison"] = docMetric("ai_comparison", m, nil)
		}
		if s.Metrics["dora_score"] != nil {
			scoreDoc(r, s.Metrics["dora_score"])
		}
		s.Deployments = []DocDeployment{}
		for _, x := range r.Deployments {
			dd := DocDeployment{IDs: x.IDs, Project: x.Project, Environment: x.Environment, Ref: x.Ref, SHA: x.SHA,
				FinishedAt: x.FinishedAt.In(o.Location).Format(time.RFC3339), Changes: x.Changes, Commits: x.Commits, Rework: x.Rework,
				Failed: x.Failed, Causes: append([]string{}, x.Causes...), Recovery: x.Recovery}
			if x.RecoveredAt != nil {
				at := x.RecoveredAt.In(o.Location).Format(time.RFC3339)
				dd.RecoveredAt = &at
			}
			s.Deployments = append(s.Deployments, dd)
		}
		s.Flow = []DocFlowDay{}
		for _, f := range r.Flow {
			s.Flow = append(s.Flow, DocFlowDay{Day: f.Day.Format("2006-01-02"), Todo: f.Todo, InProgress: f.InProgress, Done: f.Done})
		}
		s.Cycle = []DocCycle{}
		for _, c := range r.Cycle {
			s.Cycle = append(s.Cycle, DocCycle{Key: c.Key, Type: c.Type, DoneAt: c.DoneAt.In(o.Location).Format(time.RFC3339), Seconds: c.Seconds})
		}
		for _, t := range r.Slowest {
			c := DocChange{ID: t.MR.ID, Ref: fmt.Sprintf("%s!%d", t.MR.ProjectPath, t.MR.IID), WebURL: t.MR.WebURL,
				DeployedAt: t.DeployedAt.In(o.Location).Format(time.RFC3339), Coding: t.Coding, Pickup: t.Pickup, Review: t.Review, Deploy: t.Deploy}
			if t.MR.Title != "" && !strings.HasPrefix(t.MR.Title, "h:") {
				title := t.MR.Title
				c.Title = &title
			}
			s.Slowest = append(s.Slowest, c)
		}
		d.Scopes = append(d.Scopes, s)
	}
	return d
}

// WriteJSON renders the document.
func WriteJSON(w io.Writer, d *Doc) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}

// Human renders a value in its unit: 45s, 12m, 3.2h, 2.1d; 12%; 0.43/day.
func Human(unit string, v *float64) string {
	if v == nil {
		return "–"
	}
	x := *v
	switch unit {
	case "seconds":
		switch {
		case x < 90:
			return fmt.Sprintf("%.0fs", x)
		case x < 90*60:
			return fmt.Sprintf("%.0fm", x/60)
		case x < 36*3600:
			return fmt.Sprintf("%.1fh", x/3600)
		}
		return fmt.Sprintf("%.1fd", x/86400)
	case "ratio":
		return fmt.Sprintf("%.0f%%", x*100)
	case "lines":
		return fmt.Sprintf("%.0f", x)
	case "points":
		return fmt.Sprintf("%.1f pts", x)
	case "score":
		return fmt.Sprintf("%.1f", x)
	case "count":
		if x != math.Trunc(x) {
			return fmt.Sprintf("%.1f", x)
		}
	case "per_day":
		if x >= 1 {
			return fmt.Sprintf("%.1f/day", x)
		}
		if x*7 >= 1 {
			return fmt.Sprintf("%.1f/week", x*7)
		}
		return fmt.Sprintf("%.1f/month", x*30)
	}
	if x == math.Trunc(x) {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

// short names the breakdown stages in the table.
func short(part string) string {
	if part == "coding" {
		return "code"
	}
	return part
}

// comparison are the headline metrics teams are set side by side on.
var comparison = []string{"dora_score", "deployment_frequency", "lead_time_for_changes", "change_failure_rate", "failed_deployment_recovery_time",
	"mr_throughput", "review_time", "cycle_time"}

// Comparison is every team's headline value and trend, one row per team
// (nil with fewer than two teams: nothing to compare).
func Comparison(rs []Result) (header []string, rows [][]string) {
	var teams []Result
	for _, r := range rs {
		if r.Scope.Kind == "team" {
			teams = append(teams, r)
		}
	}
	if len(teams) < 2 {
		return nil, nil
	}
	header = []string{"team"}
	for _, name := range comparison {
		header = append(header, Titles[name])
	}
	for _, r := range teams {
		row := []string{r.Scope.Name}
		for _, name := range comparison {
			m := r.Set[name]
			if m == nil || m.N == 0 || (doraMetrics[name] && NoDeployments(r)) {
				row = append(row, "–")
				continue
			}
			row = append(row, Human(m.Unit, headline(m))+" "+Trend(name, m, r.Prev[name]))
		}
		rows = append(rows, row)
	}
	return header, rows
}

// Window is how every command writes a window: its first and last day, both
// included, in the metrics zone ("2026-01-01..2026-01-31 UTC, 31 days").
func Window(o metrics.Options) string {
	return fmt.Sprintf("%s..%s %s, %.0f days", o.Since.In(o.Location).Format("2006-01-02"),
		o.Until.Add(-time.Nanosecond).In(o.Location).Format("2006-01-02"), o.Location, o.Until.Sub(o.Since).Hours()/24)
}

// WriteTable renders results for an 80-column terminal.
func WriteTable(w io.Writer, rs []Result, o metrics.Options) {
	days := o.Until.Sub(o.Since).Hours() / 24
	fmt.Fprintf(w, "devpulse report %s (arrows: vs previous %.0f)\n", Window(o), days)
	if _, rows := Comparison(rs); rows != nil {
		// Four columns fit 80: the delivery headline of each team.
		fmt.Fprintf(w, "\nteams side by side\n  %-14s %-8s %-12s %-12s %-12s %-12s\n", "team", "DORA", "deploys", "lead time", "failures", "recovery")
		for _, row := range rows {
			name := row[0]
			if len([]rune(name)) > 14 {
				name = string([]rune(name)[:13]) + "…"
			}
			fmt.Fprintf(w, "  %-14s %-8s %-12s %-12s %-12s %-12s\n", name, row[1], row[2], row[3], row[4], row[5])
		}
	}
	var changed []string
	for _, r := range rs {
		for _, g := range Shown(r, o) {
			changed = append(changed, fmt.Sprintf("  %s %s: %s", r.Scope.Kind, r.Scope.Name, ChangeLine(g)))
		}
		for _, gr := range r.Goals {
			changed = append(changed, fmt.Sprintf("  %s %s goal %s", r.Scope.Kind, r.Scope.Name, GoalLine(gr)))
		}
	}
	if len(changed) > 0 {
		fmt.Fprintf(w, "\nwhat changed\n%s\n", strings.Join(changed, "\n"))
	}
	for _, r := range rs {
		fmt.Fprintf(w, "\n%s %s\n", r.Scope.Kind, r.Scope.Name)
		fmt.Fprintf(w, "  %-28s %-20s %-13s %-3s %6s\n", "metric", "value", "2024 tier", "", "n")
		for _, name := range Order {
			m := r.Set[name]
			if m == nil || name == "deployment_count" || name == "dora_score" || Hidden(r, name) {
				continue
			}
			if name == "lead_time_breakdown" {
				var parts []string
				for _, p := range []string{"coding", "pickup", "review", "deploy"} {
					parts = append(parts, short(p)+" "+Human("seconds", m.Parts[p].P50))
				}
				fmt.Fprintf(w, "  %-28s %s\n", "Lead time breakdown (p50)", strings.Join(parts, " "))
				continue
			}
			val := Human(m.Unit, headline(m))
			if m.IsDistribution() {
				val = "p50 " + val + " p85 " + Human(m.Unit, m.P85)
			}
			if m.Band != "" {
				val += " " + m.Band
			}
			tier := ""
			if m.Tier != "" {
				tier = fmt.Sprintf("%s (%d)", m.Tier, m.Year)
			}
			fmt.Fprintf(w, "  %-28s %-20s %-13s %-3s %6d\n", Titles[name], val, tier, Trend(name, m, r.Prev[name]), m.N)
		}
		writeViews(w, r, o)
		if len(r.Waiting) > 0 {
			fmt.Fprintln(w, "  waiting longest for a first review:")
			for i, x := range r.Waiting {
				if i == 3 {
					break
				}
				fmt.Fprintf(w, "    %-50s %s\n", fmt.Sprintf("%s!%d", x.MR.ProjectPath, x.MR.IID), Human("seconds", &x.For))
			}
		}
		if len(r.Incidents) > 0 {
			fmt.Fprintf(w, "  incidents (%d, newest first):\n", len(r.Incidents))
			for i, x := range r.Incidents {
				if i == 3 {
					break
				}
				restore, fails := "still open", "no deployment attributed"
				if x.Restore != nil {
					restore = "restored in " + Human("seconds", x.Restore)
				}
				if len(x.Failed) > 0 {
					fails = "fails a deployment"
				}
				fmt.Fprintf(w, "    %-12s %s  %-22s %s\n", x.Issue.Key, x.Issue.CreatedAt.In(o.Location).Format("2006-01-02"), restore, fails)
			}
		}
		if len(r.Aging) > 0 {
			fmt.Fprintln(w, "  oldest work in progress:")
			for i, a := range r.Aging {
				if i == 3 {
					break
				}
				over := ""
				if r.OverCycleP85(a) {
					over = " (over the cycle-time p85)"
				}
				fmt.Fprintf(w, "    %-24s %-14s %s%s\n", a.Issue.Key, a.Issue.Status, Human("seconds", &a.Age), over)
			}
		}
		for _, n := range Notes(r) {
			for i, line := range wrap(n, 80-8) {
				prefix := "  note: "
				if i > 0 {
					prefix = "        "
				}
				fmt.Fprintln(w, prefix+line)
			}
		}
	}
}

// wrap breaks text at spaces into lines of at most width runes.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		switch {
		case line == "":
			line = word
		case len([]rune(line))+1+len([]rune(word)) <= width:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// writeViews writes the table's DORA score, deployments, sprints and flow.
func writeViews(w io.Writer, r Result, o metrics.Options) {
	if rows := Scores(r); rows != nil {
		by := map[string]ScoreRow{}
		for _, x := range rows {
			by[x.Name] = x
		}
		ov := by["overall"]
		fmt.Fprintf(w, "  DORA 2025 score %s/10 · throughput %s · stability %s\n", Human("score", ov.Score),
			Human("score", by["throughput"].Score), Human("score", by["stability"].Score))
		fmt.Fprintf(w, "    reference %s: %.1f ± %.1f\n", r.Reference.Name, ov.Ref.Mean, ov.Ref.Std)
		fmt.Fprintf(w, "    lead time %s · frequency %s · recovery %s · failures %s · rework %s\n",
			Human("score", by["lead_time_for_changes"].Score), Human("score", by["deployment_frequency"].Score),
			Human("score", by["failed_deployment_recovery_time"].Score), Human("score", by["change_failure_rate"].Score),
			Human("score", by["rework_rate"].Score))
	}
	if n := len(r.Deployments); n > 0 {
		var failed []metrics.DeploymentRow
		for _, d := range r.Deployments {
			if d.Failed {
				failed = append(failed, d)
			}
		}
		fmt.Fprintf(w, "  production deployments: %d, %d failed\n", n, len(failed))
		for i, d := range failed {
			if i == 5 {
				fmt.Fprintf(w, "    ... %d more (JSON or HTML for all)\n", len(failed)-5)
				break
			}
			rec := "not recovered yet"
			if d.Recovery != nil {
				rec = "recovered in " + Human("seconds", d.Recovery)
			}
			line := fmt.Sprintf("%s %s %s: %s, %s", d.FinishedAt.In(o.Location).Format("2006-01-02"), d.Project, shortSHA(d.SHA), strings.Join(d.Causes, ", "), rec)
			for j, l := range wrap(line, 80-6) {
				if j > 0 {
					l = "  " + l
				}
				fmt.Fprintln(w, "    "+l)
			}
		}
	}
	if sd := r.Set["say_do_ratio"]; sd != nil && len(sd.Sprints) > 0 {
		fmt.Fprintf(w, "  %-18s %6s %6s %6s %6s %6s %6s %6s %s\n", "sprint", "commit", "done", "added", "remov", "re-est", "say/do", "veloc", "carried")
		for _, sp := range sd.Sprints {
			carried := strings.Join(sp.CarriedOver, ",")
			if carried == "" {
				carried = "none"
			}
			if len(carried) > 12 {
				carried = fmt.Sprintf("%d issues", len(sp.CarriedOver))
			}
			name := sp.Name
			if len([]rune(name)) > 18 {
				name = string([]rune(name)[:17]) + "…"
			}
			fmt.Fprintf(w, "  %-18s %6.1f %6.1f %6.1f %6.1f %+6.1f %6s %6.1f %s\n", name, sp.Committed, sp.DoneOfCommitted, sp.Added, sp.Removed,
				sp.ReEst, Human("ratio", sp.SayDo), sp.Velocity, carried)
		}
	}
	if line := AIComparisonLine(r); line != "" {
		fmt.Fprintln(w, "  "+line)
	}
	if len(r.Flow) > 0 {
		last := r.Flow[len(r.Flow)-1]
		fmt.Fprintf(w, "  flow at the window's end: %d to do, %d in progress, %d done since it began\n", last.Todo, last.InProgress, last.Done)
		if thr := r.Set["throughput"]; thr != nil && len(thr.Parts) > 0 {
			var parts []string
			for _, typ := range sortedKeys(thr.Parts) {
				parts = append(parts, typ+" "+Human("count", thr.Parts[typ].Value))
			}
			fmt.Fprintf(w, "  done by type: %s\n", strings.Join(parts, ", "))
		}
	}
}

// AIComparisonLine sets AI-assisted MRs beside the others in one line
// ("" without an assisted MR in the window).
func AIComparisonLine(r Result) string {
	m := r.Set["ai_comparison"]
	if m == nil || m.Parts["assisted.reverted_or_hotfixed"] == nil || m.Parts["assisted.reverted_or_hotfixed"].N == 0 {
		return ""
	}
	p := func(g, k string) *metrics.Metric { return m.Parts[g+"."+k] }
	return fmt.Sprintf("AI-assisted vs other MRs: %d/%d, size %s/%s, review %s/%s, reworked %s/%s",
		p("assisted", "reverted_or_hotfixed").N, p("other", "reverted_or_hotfixed").N,
		Human("lines", p("assisted", "mr_size").P50), Human("lines", p("other", "mr_size").P50),
		Human("seconds", p("assisted", "review_time").P50), Human("seconds", p("other", "review_time").P50),
		Human("ratio", p("assisted", "reverted_or_hotfixed").Value), Human("ratio", p("other", "reverted_or_hotfixed").Value))
}
