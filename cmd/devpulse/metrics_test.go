package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/sandbox"
	"github.com/devpulse/devpulse/metrics"
	"github.com/devpulse/devpulse/report"
	"github.com/devpulse/devpulse/warehouse"
	"github.com/devpulse/devpulse/warehouse/duckdb"
)

func collectSandbox(t *testing.T) (string, *sandbox.Server) {
	t.Helper()
	size := sandbox.Size{Projects: 3, MRsPerProject: 150, PipelinesPerProject: 250, DeploymentsPerProject: 25, IssuesPerProject: 40}
	srv := sandbox.Start(sandbox.Generate(5, size, orgNow), sandbox.Options{Token: sandboxToken})
	t.Cleanup(srv.Close)
	cfg := writeConfig(t, srv, filepath.Join(t.TempDir(), "w.duckdb"))
	if code, out, errs := runCLI(t, "collect", "--config", cfg, "--no-metrics"); code != 0 {
		t.Fatalf("collect: %s %s", out, errs)
	}
	return cfg, srv
}

func queryJSON(t *testing.T, cfg, q string) []map[string]any {
	t.Helper()
	code, out, errs := runCLI(t, "query", "--config", cfg, "--format", "json", q)
	if code != 0 {
		t.Fatalf("query %q: %s", q, errs)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestMetrics_RerunIsIdempotent(t *testing.T) {
	cfg, _ := collectSandbox(t)
	args := []string{"metrics", "--config", cfg, "--since", "2020-01-01", "--until", orgNow.Add(24 * time.Hour).Format("2006-01-02")}
	var counts []float64
	for i := 0; i < 2; i++ {
		if code, out, errs := runCLI(t, args...); code != 0 || !strings.Contains(out, "values for") {
			t.Fatalf("metrics: %s %s", out, errs)
		}
		rows := queryJSON(t, cfg, `SELECT count(*) AS n, count(DISTINCT (scope_kind, scope, metric, grain, period_start, environment, stat)) AS k FROM metric_values`)
		if rows[0]["n"] != rows[0]["k"] {
			t.Fatalf("duplicate metric rows: %v", rows[0])
		}
		counts = append(counts, rows[0]["n"].(float64))
	}
	if counts[0] == 0 || counts[0] != counts[1] {
		t.Errorf("metric_values rows after two runs: %v", counts)
	}
}

// The dashboard views compute in SQL what metrics compute in Go; METRICS.md
// promises they agree to the second.
func TestDashboardViews_AgreeWithGoMetrics(t *testing.T) {
	cfg, srv := collectSandbox(t)
	project := srv.Org.ProjectPaths()[0]
	since, until := orgNow.AddDate(0, 0, -150), orgNow.Add(24*time.Hour)

	c, err := config.Load(config.Options{Path: cfg})
	if err != nil {
		t.Fatal(err)
	}
	wh, err := duckdb.OpenReadOnly(context.Background(), c.Warehouse.Path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := warehouse.Load(context.Background(), wh)
	wh.Close()
	if err != nil {
		t.Fatal(err)
	}
	o := metrics.DefaultOptions(since, until)
	o.Production = regexp.MustCompile(c.Deployments.Production)
	in := report.Input(b, report.Scope{Kind: "project", Name: project})
	set := metrics.Compute(in, o)

	// Pipeline duration per ISO week (UTC): the view's PERCENTILE_CONT vs Go's.
	rows := queryJSON(t, cfg, fmt.Sprintf(`SELECT strftime(week_start, '%%Y-%%m-%%d') AS w, duration_p50_s, n FROM ci_pipeline_duration_weekly WHERE project_path = '%s'`, project))
	byWeek := map[string]float64{}
	for _, r := range rows {
		byWeek[r["w"].(string)] = r["duration_p50_s"].(float64)
	}
	compared := 0
	for _, p := range set["pipeline_duration"].Series {
		if p.Value == nil {
			continue
		}
		sqlV, ok := byWeek[p.PeriodStart.Format("2006-01-02")]
		if !ok || math.Abs(sqlV-*p.Value) > 1e-6 {
			t.Errorf("week %s: SQL p50 %v, Go p50 %v", p.PeriodStart.Format("2006-01-02"), sqlV, *p.Value)
		}
		compared++
	}
	if compared < 5 {
		t.Errorf("compared only %d weeks", compared)
	}

	// Review time over the window: merge_request_flow + PERCENTILE_CONT vs Go.
	rows = queryJSON(t, cfg, fmt.Sprintf(`SELECT PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY review_s) AS p50, count(*) AS n
		FROM merge_request_flow WHERE project_path = '%s' AND NOT author_is_bot AND review_s >= 0
		AND merged_at >= '%s' AND merged_at < '%s'`, project, since.Format(time.RFC3339), until.Format(time.RFC3339)))
	rt := set["review_time"]
	if rows[0]["n"].(float64) != float64(rt.N) || math.Abs(rows[0]["p50"].(float64)-*rt.P50) > 1 {
		t.Errorf("review time: SQL p50 %v (n %v), Go p50 %v (n %d)", rows[0]["p50"], rows[0]["n"], *rt.P50, rt.N)
	}
}
