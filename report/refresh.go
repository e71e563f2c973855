package report

import (
	"context"
	"fmt"
	"regexp"
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
		return metrics.Options{}, fmt.Errorf("--grain %q: use day, week, month or quarter", grain)
	}
	o := metrics.DefaultOptions(since, until)
	o.Location, o.Grain = loc, grain
	o.Production = regexp.MustCompile("(?i)" + cfg.Deployments.Production)
	o.AttributionWindow = time.Duration(cfg.Incidents.AttributionWindow)
	o.IncidentLabels = cfg.Incidents.Labels
	o.IncidentTypes = append(append([]string{"incident"}, cfg.Incidents.RedmineTrackers...), cfg.Incidents.JiraTypes...)
	o.IncludeBots = cfg.Metrics.IncludeBots
	o.BenchmarkYear = cfg.Metrics.BenchmarkYear
	return o, nil
}

// Refresh derives every scope's metrics from the warehouse and stores them
// (an upsert: recomputing a window replaces its rows). It returns the results
// and how many values were stored.
func Refresh(ctx context.Context, cfg *config.Config, wh warehouse.Warehouse, o metrics.Options) ([]Result, int, error) {
	b, err := warehouse.Load(ctx, wh)
	if err != nil {
		return nil, 0, err
	}
	rs := Compute(b, Scopes(cfg, b), o)
	vals := Values(rs, o)
	if err := wh.PutMetrics(ctx, vals); err != nil {
		return nil, 0, err
	}
	return rs, len(vals), nil
}
