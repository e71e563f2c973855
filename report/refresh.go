package report

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/metrics"
	"github.com/devpulse/devpulse/warehouse"
)

// MetricOptions are the metric options the configuration gives for a window
// (dates are midnights in metrics.timezone) and a series grain.
func MetricOptions(cfg *config.Config, since, until time.Time, grain string) (metrics.Options, error) {
	loc, err := time.LoadLocation(cfg.Metrics.Timezone)
	if err != nil {
		return metrics.Options{}, err
	}
	switch grain {
	case "day", "week", "month", "quarter":
	default:
		return metrics.Options{}, fmt.Errorf("grain %q: use day, week, month or quarter", grain)
	}
	o := metrics.DefaultOptions(since, until)
	o.Location, o.Grain = loc, grain
	o.Production = regexp.MustCompile("(?i)" + cfg.Deployments.Production)
	o.AttributionWindow = time.Duration(cfg.Incidents.AttributionWindow)
	o.IncidentLabels = cfg.Incidents.Labels
	o.NotChangeLabels = cfg.Incidents.NotChangeLabels
	o.IncidentPriorities = map[string][]string{"jira": cfg.Incidents.JiraPriorities, "redmine": cfg.Incidents.RedminePriorities}
	o.IncidentTypes = append(append([]string{"incident"}, cfg.Incidents.RedmineTrackers...), cfg.Incidents.JiraTypes...)
	o.IncludeBots = cfg.Metrics.IncludeBots
	o.BenchmarkYear = cfg.Metrics.BenchmarkYear
	o.BenchmarkIndustry = cfg.Metrics.BenchmarkIndustry
	o.Flow.ActiveStatuses = cfg.Flow.ActiveStatuses
	return o, nil
}

// WindowOptions is the window every way of asking for a report shares (the
// CLI's --since/--until/--grain, the live report's ?since=&until=&grain=):
// dates YYYY-MM-DD in metrics.timezone or RFC 3339 times, until defaults to
// now and is exclusive, since to 90 days before until. One rule, so the same
// question gives the same numbers whichever way it is asked.
func WindowOptions(cfg *config.Config, since, until, grain string, now time.Time) (metrics.Options, error) {
	loc, err := time.LoadLocation(cfg.Metrics.Timezone)
	if err != nil {
		return metrics.Options{}, err
	}
	date := func(key, s string) (time.Time, error) {
		if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
			return t, nil
		}
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t, nil
		}
		return time.Time{}, fmt.Errorf("%s %q is not a date (want YYYY-MM-DD or an RFC 3339 time)", key, s)
	}
	u := now
	if until != "" {
		if u, err = date("until", until); err != nil {
			return metrics.Options{}, err
		}
	}
	s := u.AddDate(0, 0, -90)
	if since != "" {
		if s, err = date("since", since); err != nil {
			return metrics.Options{}, err
		}
	}
	if !s.Before(u) {
		return metrics.Options{}, fmt.Errorf("since must be before until")
	}
	if grain == "" {
		grain = "week"
	}
	o, err := MetricOptions(cfg, s, u, grain)
	if err != nil {
		return metrics.Options{}, err
	}
	o.Now = now // periods not ended by now are partial
	return o, nil
}

// Refresh derives every scope's metrics from the warehouse and stores them
// (an upsert: recomputing a window replaces its rows). It returns the results
// and how many values were stored.
func Refresh(ctx context.Context, cfg *config.Config, wh warehouse.Warehouse, o metrics.Options) ([]Result, int, error) {
	teams, err := Teams(ctx, cfg, wh)
	if err != nil {
		return nil, 0, err
	}
	scopes, err := StoredScopes(ctx, teams, wh)
	if err != nil {
		return nil, 0, err
	}
	rs, err := ComputeStored(ctx, wh, scopes, o)
	if err != nil {
		return nil, 0, err
	}
	vals, err := keepWhole(ctx, wh, Values(rs, o))
	if err != nil {
		return nil, 0, err
	}
	if err := wh.PutMetrics(ctx, vals); err != nil {
		return nil, 0, err
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	if _, err := Watch(ctx, cfg, wh, rs, now, true); err != nil {
		return nil, 0, err
	}
	if configured(cfg) {
		// The teams these metrics were computed for, for reports without the config.
		if err := wh.PutTeams(ctx, teams); err != nil {
			return nil, 0, err
		}
	}
	return rs, len(vals), nil
}

// keepWhole drops the partial values whose period already has a whole value
// stored: a computation over part of a period never replaces one over all of
// it (METRICS.md, "stored periods are whole periods").
func keepWhole(ctx context.Context, wh warehouse.Warehouse, vals []warehouse.MetricValue) ([]warehouse.MetricValue, error) {
	starts := map[string]bool{}
	for _, v := range vals {
		if v.Partial {
			starts[v.Grain+"|"+v.PeriodStart.Format("2006-01-02")] = true
		}
	}
	if len(starts) == 0 {
		return vals, nil
	}
	var conds []string
	for k := range starts {
		g, d, _ := strings.Cut(k, "|")
		conds = append(conds, fmt.Sprintf("(grain = '%s' AND period_start = CAST('%s' AS DATE))", g, d))
	}
	sort.Strings(conds)
	res, err := wh.Query(ctx, `SELECT scope_kind, scope, metric, grain, environment, stat, CAST(period_start AS VARCHAR) FROM metric_values
		WHERE (partial IS NULL OR NOT partial) AND (`+strings.Join(conds, " OR ")+`)`)
	if err != nil {
		return nil, fmt.Errorf("metrics: look up whole periods already stored: %w", err)
	}
	whole := map[string]bool{}
	for _, r := range res.Rows {
		parts := make([]string, len(r))
		for i, c := range r {
			parts[i] = fmt.Sprint(c)
		}
		parts[6] = parts[6][:min(10, len(parts[6]))]
		whole[strings.Join(parts, "|")] = true
	}
	out := vals[:0:0]
	for _, v := range vals {
		if v.Partial && whole[strings.Join([]string{v.ScopeKind, v.Scope, v.Metric, v.Grain, v.Environment, v.Stat, v.PeriodStart.Format("2006-01-02")}, "|")] {
			continue
		}
		out = append(out, v)
	}
	return out, nil
}
