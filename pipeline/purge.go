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
}

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
