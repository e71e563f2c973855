package schedule

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/devpulse/devpulse/alerts"
	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/metrics"
	"github.com/devpulse/devpulse/notify"
	"github.com/devpulse/devpulse/report"
	"github.com/devpulse/devpulse/warehouse"
)

// DigestJob is the name the weekly digest runs under (notify.digest).
const DigestJob = "notify.digest"

// watchSeries are the open regressions and goal states /metrics exports.
type watchSeries struct {
	open  *prometheus.GaugeVec
	goals *prometheus.GaugeVec
	sent  *prometheus.CounterVec
}

func newWatchSeries(reg *prometheus.Registry) watchSeries {
	w := watchSeries{
		open: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "devpulse_regressions_open",
			Help: "Open regressions (lasting shifts for the worse, METRICS.md) per scope and series."}, []string{"scope_kind", "scope", "metric", "stat"}),
		goals: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "devpulse_goal_missed",
			Help: "1 when the goal was missed in the latest whole week, 0 when met (at_risk: 0.5)."}, []string{"scope_kind", "scope", "goal"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "devpulse_notifications_total",
			Help: "Webhook posts by outcome (sent, failed)."}, []string{"webhook", "outcome"}),
	}
	reg.MustRegister(w.open, w.goals, w.sent)
	return w
}

// observe replaces the open-regression and goal gauges with the results'.
func (w watchSeries) observe(rs []report.Result) {
	w.open.Reset()
	w.goals.Reset()
	for _, r := range rs {
		for _, g := range r.Changes {
			if g.Kind == "regression" && g.State == "open" {
				w.open.WithLabelValues(r.Scope.Kind, r.Scope.Name, g.Metric, g.Stat).Inc()
			}
		}
		for _, gr := range r.Goals {
			v := map[string]float64{alerts.Met: 0, alerts.AtRisk: 0.5, alerts.Missed: 1}
			if x, ok := v[gr.Latest.Status]; ok {
				w.goals.WithLabelValues(r.Scope.Kind, r.Scope.Name, gr.Goal.Text).Set(x)
			}
		}
	}
}

// teamsOf are the teams a scope is, or whose member project it is.
func teamsOf(r report.Result, members []warehouse.TeamMember) []string {
	if r.Scope.Kind == "team" {
		return []string{r.Scope.Name}
	}
	seen := map[string]bool{}
	var out []string
	for _, m := range members {
		if m.ProjectPath == r.Scope.Name && !seen[m.Team] {
			seen[m.Team] = true
			out = append(out, m.Team)
		}
	}
	sort.Strings(out)
	return out
}

// Events are what the results have to tell: each open regression (and
// improvement, with notify.improvements), and each goal missed in the
// latest whole week.
func Events(cfg *config.Config, rs []report.Result, members []warehouse.TeamMember) []notify.Event {
	var out []notify.Event
	for _, r := range rs {
		teams := teamsOf(r, members)
		for _, g := range r.Changes {
			if g.State != "open" || (g.Kind == "improvement" && !cfg.Notify.Improvements) {
				continue
			}
			title := fmt.Sprintf("Regression in %s %s: %s %s", r.Scope.Kind, r.Scope.Name, report.SeriesTitle(g.Metric, g.Stat), report.ChangeSize(g))
			if g.Kind == "improvement" {
				title = fmt.Sprintf("Improvement in %s %s: %s %s", r.Scope.Kind, r.Scope.Name, report.SeriesTitle(g.Metric, g.Stat), report.ChangeSize(g))
			}
			data := map[string]any{"metric": g.Metric, "stat": g.Stat, "first_week": g.FirstWeek.Format("2006-01-02"),
				"median_before": g.Before, "median_after": g.After, "relative_change": g.Change, "p_value": g.P, "unit": g.Unit}
			out = append(out, notify.Event{Key: g.Key(), Kind: g.Kind, ScopeKind: r.Scope.Kind, Scope: r.Scope.Name, Teams: teams,
				Title: title, Lines: []string{report.ChangeLine(g)}, URL: cfg.Notify.ReportURL, Data: data})
		}
		for _, gr := range r.Goals {
			if gr.Latest.Status != alerts.Missed {
				continue
			}
			key := strings.Join([]string{"goal", r.Scope.Kind, r.Scope.Name, gr.Goal.Text, gr.Latest.Start.Format("2006-01-02")}, "|")
			out = append(out, notify.Event{Key: key, Kind: "goal_missed", ScopeKind: r.Scope.Kind, Scope: r.Scope.Name, Teams: teams,
				Title: fmt.Sprintf("Goal missed in %s %s: %s", r.Scope.Kind, r.Scope.Name, gr.Goal.Text), Lines: []string{report.GoalLine(gr)},
				URL: cfg.Notify.ReportURL, Data: map[string]any{"goal": gr.Goal.Text, "metric": gr.Goal.Series.Metric, "stat": gr.Goal.Series.Stat,
					"target": gr.Goal.Target, "week": gr.Latest.Start.Format("2006-01-02"), "value": gr.Latest.Value, "unit": gr.Unit,
					"backtest_missed_weeks": gr.Missed, "backtest_weeks": len(gr.Weeks)}})
		}
	}
	return out
}

// Digests are one message per team: its headline metrics over the window,
// its goals and its open regressions (its projects' too).
func Digests(cfg *config.Config, rs []report.Result, members []warehouse.TeamMember, o metrics.Options) []notify.Event {
	var out []notify.Event
	week := metrics.PeriodStart(o.Now, "week", o.Location).Format("2006-01-02")
	for _, r := range rs {
		if r.Scope.Kind != "team" {
			continue
		}
		var lines []string
		for _, name := range []string{"deployment_frequency", "lead_time_for_changes", "change_failure_rate", "failed_deployment_recovery_time", "pickup_time", "pipeline_duration", "cycle_time"} {
			m := r.Set[name]
			if m == nil || m.N == 0 {
				continue
			}
			v := m.Value
			if m.IsDistribution() {
				v = m.P50
			}
			line := fmt.Sprintf("%s: %s", report.Titles[name], report.Human(m.Unit, v))
			if m.IsDistribution() {
				line = fmt.Sprintf("%s: p50 %s, p85 %s", report.Titles[name], report.Human(m.Unit, m.P50), report.Human(m.Unit, m.P85))
			}
			if t := report.Trend(name, m, r.Prev[name]); t != "" && t != "·" {
				line += " " + t
			}
			lines = append(lines, line)
		}
		for _, gr := range r.Goals {
			lines = append(lines, "Goal "+report.GoalLine(gr))
		}
		open := 0
		for _, other := range rs {
			if other.Scope.Kind == "project" && !contains(teamsOf(other, members), r.Scope.Name) {
				continue
			}
			if other.Scope.Kind == "team" && other.Scope.Name != r.Scope.Name {
				continue
			}
			for _, g := range other.Changes {
				if g.State == "open" && g.Kind == "regression" {
					lines = append(lines, fmt.Sprintf("Open regression in %s %s: %s", other.Scope.Kind, other.Scope.Name, report.ChangeLine(g)))
					open++
				}
			}
		}
		if open == 0 {
			lines = append(lines, "No open regression.")
		}
		out = append(out, notify.Event{Key: "digest|" + r.Scope.Name + "|" + week, Kind: "digest", ScopeKind: "team", Scope: r.Scope.Name,
			Teams: []string{r.Scope.Name}, Title: fmt.Sprintf("devpulse weekly digest: team %s (%s)", r.Scope.Name, report.Window(o)),
			Lines: lines, URL: cfg.Notify.ReportURL})
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// post sends each event to each webhook that takes it, once: what was sent
// is recorded per webhook in the notifications table, so a restart, a
// re-run or another replica does not post it again, and a webhook that
// failed gets it at the next run. A failure is logged and counted; it
// never fails the run.
func (jr *JobRunner) post(ctx context.Context, cfg *config.Config, wh warehouse.Warehouse, evs []notify.Event) {
	if len(evs) == 0 || len(cfg.Notify.Webhooks) == 0 {
		return
	}
	sent := map[string]bool{}
	err := wh.Each(ctx, `SELECT key FROM notifications`, func(r []any) error {
		if k, ok := r[0].(string); ok {
			sent[k] = true
		}
		return nil
	})
	if err != nil {
		jr.Log.Warn("notifications: read what was already sent; nothing posted this time", "err", err)
		return
	}
	s := jr.Sender
	if s == nil {
		s = notify.New(cfg.Notify)
	}
	var done []string
	for _, h := range cfg.Notify.Webhooks {
		for _, e := range evs {
			key := e.Key + "|" + h.Name
			if sent[key] || !notify.For(h, e) {
				continue
			}
			if err := s.Post(ctx, h, e); err != nil {
				jr.Log.Warn("notification not delivered; it is tried again at the next run", "webhook", h.Name, "event", e.Kind, "scope", e.Scope, "err", err)
				jr.Metrics.watch.sent.WithLabelValues(h.Name, "failed").Inc()
				continue
			}
			jr.Log.Info("notification sent", "webhook", h.Name, "event", e.Kind, "scope", e.Scope)
			jr.Metrics.watch.sent.WithLabelValues(h.Name, "sent").Inc()
			done = append(done, key)
		}
	}
	if len(done) > 0 {
		if err := wh.PutNotified(context.WithoutCancel(ctx), done); err != nil {
			jr.Log.Warn("notifications: record what was sent (it may be sent again)", "err", err)
		}
	}
}

// Digest computes the default window and posts every team's digest.
func (jr *JobRunner) Digest(ctx context.Context, cfg *config.Config, wh warehouse.Warehouse) error {
	now := jr.Now()
	o, err := report.MetricOptions(cfg, now.AddDate(0, 0, -90), now, "week")
	if err != nil {
		return err
	}
	o.Now = now
	members, err := report.Teams(ctx, cfg, wh)
	if err != nil {
		return err
	}
	scopes, err := report.StoredScopes(ctx, members, wh)
	if err != nil {
		return err
	}
	rs, err := report.ComputeStored(ctx, wh, scopes, o)
	if err != nil {
		return err
	}
	if _, err := report.Watch(ctx, cfg, wh, rs, now, false); err != nil {
		return err
	}
	jr.post(ctx, cfg, wh, Digests(cfg, rs, members, o))
	return nil
}
