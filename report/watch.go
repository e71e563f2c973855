package report

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/devpulse/devpulse/alerts"
	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/warehouse"
)

// GoalResult is one configured goal judged over one scope's whole weeks.
type GoalResult struct {
	alerts.Judged
	Unit string // of the metric, to show values
}

// weekly are the stored whole-week series, by scope and series.
type weekly map[string]map[alerts.Series][]alerts.Week

type seriesInfo struct{ unit, env string }

func scopeKey(kind, name string) string { return kind + "\x00" + name }

// readWeekly reads the whole weeks stored in metric_values for these series:
// every week a metrics run stored, not only the window's, so a shift is
// judged against the history before it. Partial weeks are left out.
func readWeekly(ctx context.Context, wh warehouse.Warehouse, want []alerts.Series) (weekly, map[alerts.Series]seriesInfo, error) {
	if len(want) == 0 {
		return weekly{}, nil, nil
	}
	metricsIn := map[string]bool{}
	for _, s := range want {
		metricsIn[s.Metric] = true
	}
	var names []string
	for m := range metricsIn {
		names = append(names, "'"+strings.ReplaceAll(m, "'", "''")+"'")
	}
	sort.Strings(names)
	q := `SELECT scope_kind, scope, metric, stat, period_start, value, unit, environment FROM metric_values
WHERE grain = 'week' AND (partial IS NULL OR NOT partial) AND value IS NOT NULL AND metric IN (` + strings.Join(names, ", ") + `)
ORDER BY scope_kind, scope, metric, stat, period_start`
	wanted := map[alerts.Series]bool{}
	for _, s := range want {
		wanted[s] = true
	}
	out := weekly{}
	info := map[alerts.Series]seriesInfo{}
	err := wh.Each(ctx, q, func(r []any) error {
		kind, _ := r[0].(string)
		scope, _ := r[1].(string)
		metric, _ := r[2].(string)
		stat, _ := r[3].(string)
		s := alerts.Series{Metric: metric, Stat: stat}
		if stat == "mean" {
			s.Stat = "value" // a single-valued metric stored as its mean
		}
		if !wanted[s] {
			return nil
		}
		at, ok := r[4].(time.Time)
		v, vok := asFloat(r[5])
		if !ok || !vok {
			return nil
		}
		unit, _ := r[6].(string)
		env, _ := r[7].(string)
		info[s] = seriesInfo{unit: unit, env: env}
		k := scopeKey(kind, scope)
		if out[k] == nil {
			out[k] = map[alerts.Series][]alerts.Week{}
		}
		out[k][s] = append(out[k][s], alerts.Week{Start: at, Value: v})
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("alerts: read the weekly series: %w", err)
	}
	return out, info, nil
}

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	}
	return 0, false
}

// Detected are the shifts found in the stored weekly series of the scopes
// (the regressions table's rows, before merging with what was stored).
func detected(w weekly, info map[alerts.Series]seriesInfo, scopes []Scope, watched []alerts.Series, set alerts.Settings, now time.Time) []warehouse.Regression {
	var out []warehouse.Regression
	for _, sc := range scopes {
		for _, sr := range watched {
			series := w[scopeKey(sc.Kind, sc.Name)][sr]
			worseUp := alerts.HigherIsWorse(sr.Metric)
			shifts := alerts.Detect(series, worseUp, set)
			for _, sh := range shifts {
				r := warehouse.Regression{ScopeKind: sc.Kind, Scope: sc.Name, Metric: sr.Metric, Stat: sr.Stat, Environment: info[sr].env,
					Kind: "improvement", FirstWeek: sh.Start, Before: sh.Before, After: sh.After, P: sh.P, Unit: info[sr].unit,
					State: "open", DetectedAt: now}
				if sh.Worse {
					r.Kind = "regression"
				}
				if !math.IsInf(sh.Change, 0) {
					c := sh.Change
					r.Change = &c
				}
				if !sh.Open {
					r.State = "resolved"
					at := now
					r.ResolvedAt = &at
				}
				out = append(out, r)
			}
		}
	}
	return out
}

// mergeRegressions carries what was stored over to what was found now: a
// shift found again (same scope, series and kind, first weeks closer than
// minWeeks: another week of data can move the estimate, and two distinct
// change points are at least minWeeks apart) keeps when it was
// first detected; a stored open one no longer found is resolved. Rows of
// scopes not examined stay as they were.
func mergeRegressions(stored, found []warehouse.Regression, examined map[string]bool, minWeeks int, now time.Time) []warehouse.Regression {
	tol := time.Duration(7*max(minWeeks, 1)-1) * 24 * time.Hour
	used := make([]bool, len(stored))
	var out []warehouse.Regression
	for _, f := range found {
		for i, s := range stored {
			if used[i] || s.ScopeKind != f.ScopeKind || s.Scope != f.Scope || s.Metric != f.Metric || s.Stat != f.Stat || s.Kind != f.Kind {
				continue
			}
			if d := f.FirstWeek.Sub(s.FirstWeek); d < -tol || d > tol {
				continue
			}
			used[i] = true
			f.DetectedAt = s.DetectedAt
			if f.State == "resolved" && s.ResolvedAt != nil {
				f.ResolvedAt = s.ResolvedAt
			}
			break
		}
		out = append(out, f)
	}
	for i, s := range stored {
		if used[i] {
			continue
		}
		if examined[scopeKey(s.ScopeKind, s.Scope)] && s.State == "open" {
			s.State = "resolved" // the series no longer shows it
			at := now
			s.ResolvedAt = &at
		}
		out = append(out, s)
	}
	return out
}

// storedRegressions reads the regressions table. A warehouse made before
// the table existed (a read-only open does not migrate) has none.
func storedRegressions(ctx context.Context, wh warehouse.Warehouse) ([]warehouse.Regression, error) {
	var out []warehouse.Regression
	err := wh.Each(ctx, `SELECT scope_kind, scope, metric, stat, environment, kind, first_week, median_before, median_after,
	relative_change, p_value, unit, state, detected_at, resolved_at FROM regressions ORDER BY first_week, scope_kind, scope, metric, stat`, func(r []any) error {
		g := warehouse.Regression{}
		g.ScopeKind, _ = r[0].(string)
		g.Scope, _ = r[1].(string)
		g.Metric, _ = r[2].(string)
		g.Stat, _ = r[3].(string)
		g.Environment, _ = r[4].(string)
		g.Kind, _ = r[5].(string)
		g.FirstWeek, _ = r[6].(time.Time)
		g.Before, _ = asFloat(r[7])
		g.After, _ = asFloat(r[8])
		if c, ok := asFloat(r[9]); ok {
			g.Change = &c
		}
		g.P, _ = asFloat(r[10])
		g.Unit, _ = r[11].(string)
		g.State, _ = r[12].(string)
		g.DetectedAt, _ = r[13].(time.Time)
		if t, ok := r[14].(time.Time); ok {
			g.ResolvedAt = &t
		}
		out = append(out, g)
		return nil
	})
	if err != nil && strings.Contains(strings.ToLower(err.Error()), "regressions") &&
		(strings.Contains(err.Error(), "does not exist") || strings.Contains(err.Error(), "not found")) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("alerts: read regressions: %w", err)
	}
	return out, nil
}

// goalSeries are the series the configured goals judge.
func goalSeries(cfg *config.Config) []alerts.Series {
	var out []alerts.Series
	for _, g := range cfg.Goals {
		out = append(out, g.Parsed().Series)
	}
	return out
}

// Watch finds the regressions of the scopes' stored weekly series and
// judges the configured goals, and hangs both on the results. With store
// (devpulse metrics, the scheduled refresh) the regressions table is
// updated; without (a read-only report) it is read, and the goals are
// judged from the stored weeks all the same.
func Watch(ctx context.Context, cfg *config.Config, wh warehouse.Warehouse, rs []Result, now time.Time, store bool) ([]warehouse.Regression, error) {
	watched := cfg.Alerts.Watched()
	want := append(append([]alerts.Series{}, watched...), goalSeries(cfg)...)
	w, info, err := readWeekly(ctx, wh, want)
	if err != nil {
		return nil, err
	}
	stored, err := storedRegressions(ctx, wh)
	if err != nil {
		return nil, err
	}
	all := stored
	if store {
		scopes := make([]Scope, len(rs))
		examined := map[string]bool{}
		for i, r := range rs {
			scopes[i] = r.Scope
			examined[scopeKey(r.Scope.Kind, r.Scope.Name)] = true
		}
		found := detected(w, info, scopes, watched, cfg.Alerts.Settings(), now)
		all = mergeRegressions(stored, found, examined, cfg.Alerts.MinWeeks, now)
		if err := wh.PutRegressions(ctx, all); err != nil {
			return nil, err
		}
	}
	byScope := map[string][]warehouse.Regression{}
	for _, g := range all {
		k := scopeKey(g.ScopeKind, g.Scope)
		byScope[k] = append(byScope[k], g)
	}
	for i := range rs {
		r := &rs[i]
		k := scopeKey(r.Scope.Kind, r.Scope.Name)
		r.Changes = byScope[k]
		sort.SliceStable(r.Changes, func(a, b int) bool { return r.Changes[a].FirstWeek.After(r.Changes[b].FirstWeek) })
		r.Goals = nil
		for _, g := range cfg.Goals {
			if !g.Applies(r.Scope.Kind, r.Scope.Name) {
				continue
			}
			pg := g.Parsed()
			r.Goals = append(r.Goals, GoalResult{Judged: alerts.Judge(pg, w[k][pg.Series]), Unit: info[pg.Series].unit})
		}
	}
	return all, nil
}
