package pipeline

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/devpulse/devpulse/policy"
	"github.com/devpulse/devpulse/warehouse"
)

// PurgeResult counts what purge removed (or would remove), by rule and table.
type PurgeResult struct {
	ByRule  map[string]int
	ByTable map[string]int
	// Derived data: cursors of excluded scopes and every stored metric value
	// (which counted the removed records) go too; Windows are the stored
	// windows, for the caller to recompute without the removed records.
	Cursors      int
	MetricValues int
	Windows      []Window
}

// Window is a stored metric window (grain "window" in metric_values).
type Window struct{ Since, Until time.Time }

// Purge deletes landed records that the current exclusion rules exclude
// (a rule added after they landed), with their children. The same rule code
// as collection decides, so what purge removes is exactly what collection
// would now drop. With dryRun nothing is deleted.
func Purge(ctx context.Context, wh warehouse.Warehouse, pol *policy.Policy, dryRun bool) (*PurgeResult, error) {
	res := &PurgeResult{ByRule: map[string]int{}, ByTable: map[string]int{}}
	queries := []struct{ table, sql string }{
		{"merge_requests", `SELECT id, project_path, labels, NULL FROM merge_requests`},
		{"pipelines", `SELECT id, project_path, NULL, NULL FROM pipelines`},
		{"deployments", `SELECT id, project_path, NULL, NULL FROM deployments`},
		{"issues", `SELECT id, project_path, labels, "TYPE" FROM issues`},
		{"sprints", `SELECT id, project_path, NULL, NULL FROM sprints`},
	}
	run := &warehouse.Run{ID: newRunID(time.Now()), Command: "purge", StartedAt: time.Now().UTC(), Records: map[string]int{}, Policy: map[string]int{}}
	if !dryRun {
		if err := wh.BeginRun(ctx, run); err != nil {
			return nil, err
		}
	}
	for _, q := range queries {
		rows, err := wh.Query(ctx, q.sql)
		if err != nil {
			return nil, fmt.Errorf("purge: read %s: %w", q.table, err)
		}
		var ids []string
		for _, r := range rows.Rows {
			str := func(v any) string { s, _ := v.(string); return s }
			var labels []string
			if l := str(r[2]); l != "" {
				labels = strings.Split(l, ",")
			}
			if rule, ex := pol.Excluded(str(r[1]), labels, str(r[3])); ex {
				res.ByRule[rule]++
				ids = append(ids, str(r[0]))
			}
		}
		res.ByTable[q.table] = len(ids)
		if dryRun || len(ids) == 0 {
			continue
		}
		sort.Strings(ids)
		if _, err := wh.Delete(ctx, q.table, ids); err != nil {
			return nil, err
		}
	}
	// Links naming an issue of an excluded JIRA project: the key itself is
	// what the contract forbids to analyse.
	links, err := wh.Query(ctx, `SELECT DISTINCT tracker, issue_key FROM issue_links WHERE tracker = 'jira'`)
	if err != nil {
		return nil, fmt.Errorf("purge: read issue links: %w", err)
	}
	var named []string
	for _, r := range links.Rows {
		key, _ := r[1].(string)
		project, _, _ := strings.Cut(key, "-")
		if rule, ex := pol.Excluded(project, nil, ""); ex {
			res.ByRule[rule]++
			named = append(named, "jira:"+key)
		}
	}
	if len(named) > 0 {
		res.ByTable["issue_links"] = len(named)
		if !dryRun {
			sort.Strings(named)
			if _, err := wh.Delete(ctx, "issue_links", named); err != nil {
				return nil, err
			}
		}
	}
	// What was derived from excluded data is excluded data: the cursors of
	// excluded scopes, and every metric value (teams and projects counted the
	// removed records; excluded scopes must not stay analysable).
	var scopes []string
	cursors := 0
	cur, err := wh.Query(ctx, `SELECT scope, count(*) FROM collection_state GROUP BY scope`)
	if err != nil {
		return nil, fmt.Errorf("purge: read cursors: %w", err)
	}
	for _, r := range cur.Rows {
		if sc, _ := r[0].(string); sc != "" {
			if _, ex := pol.ExcludesProject(sc); ex {
				scopes = append(scopes, sc)
				cursors += int(toInt(r[1]))
			}
		}
	}
	removed := len(scopes)
	for _, n := range res.ByTable {
		removed += n
	}
	if removed > 0 {
		win, err := wh.Query(ctx, `SELECT DISTINCT CAST(period_start AS VARCHAR), CAST(period_end AS VARCHAR) FROM metric_values WHERE grain = 'window' ORDER BY 1, 2`)
		if err != nil {
			return nil, fmt.Errorf("purge: read stored windows: %w", err)
		}
		for _, r := range win.Rows {
			a, _ := time.Parse("2006-01-02", fmt.Sprint(r[0])[:min(10, len(fmt.Sprint(r[0])))])
			b, _ := time.Parse("2006-01-02", fmt.Sprint(r[1])[:min(10, len(fmt.Sprint(r[1])))])
			if !a.IsZero() && b.After(a) {
				res.Windows = append(res.Windows, Window{a, b})
			}
		}
		n, err := wh.Query(ctx, `SELECT count(*) FROM metric_values`)
		if err != nil {
			return nil, fmt.Errorf("purge: count metric values: %w", err)
		}
		res.Cursors = cursors
		res.MetricValues = int(toInt(n.Rows[0][0]))
		if !dryRun {
			if res.Cursors, res.MetricValues, err = wh.Forget(ctx, scopes); err != nil {
				return nil, err
			}
		}
	}
	if !dryRun {
		run.Policy = res.ByRule
		run.Records = res.ByTable
		run.Status = "ok"
		run.FinishedAt = time.Now().UTC()
		if err := wh.FinishRun(ctx, run); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case float64:
		return int64(x)
	}
	var n int64
	fmt.Sscan(fmt.Sprint(v), &n)
	return n
}
