package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devpulse/devpulse/internal/sandbox"
)

// TestPurge_LeavesNothingDerivedAndNoCopyInTheFile: after a project rule
// and a label rule, purge removes the records, their sprints and cursors,
// every metric value derived from them (the excluded project's values are
// gone, the team's are recomputed without them), and the DuckDB file holds
// no copy of the purged strings.
func TestPurge_LeavesNothingDerivedAndNoCopyInTheFile(t *testing.T) {
	srv := sandbox.Start(sandbox.Generate(8, sandbox.Size{Projects: 3, MRsPerProject: 80, PipelinesPerProject: 60, DeploymentsPerProject: 10, IssuesPerProject: 20}, orgNow), sandbox.Options{Token: sandboxToken})
	defer srv.Close()
	dbPath := filepath.Join(t.TempDir(), "w.duckdb")
	cfg := writeConfig(t, srv, dbPath)
	paths := srv.Org.ProjectPaths()
	excluded := paths[1]
	base, _ := os.ReadFile(cfg)
	teams := fmt.Sprintf("teams:\n  all: [gl:%s, gl:%s, gl:%s]\n", paths[0], paths[1], paths[2])
	os.WriteFile(cfg, append(append([]byte{}, base...), teams...), 0o600)
	if code, out, errs := runCLI(t, "collect", "--config", cfg); code != 0 {
		t.Fatalf("collect: %s %s", out, errs)
	}
	q := func(sql string) string {
		rows := queryJSON(t, cfg, sql)
		return fmt.Sprint(rows[0]["n"])
	}
	// What the purge must take away: the project's MR URLs and the labelled MRs' branches.
	var needles []string
	for _, r := range queryJSON(t, cfg, fmt.Sprintf(`SELECT web_url AS s FROM merge_requests WHERE project_path = '%s' LIMIT 5`, excluded)) {
		needles = append(needles, fmt.Sprint(r["s"]))
	}
	for _, r := range queryJSON(t, cfg, `SELECT sha AS s FROM merge_requests WHERE labels LIKE '%confidential-client%' LIMIT 5`) {
		needles = append(needles, fmt.Sprint(r["s"]))
	}
	teamBefore := q(`SELECT value AS n FROM metric_values WHERE scope_kind = 'team' AND scope = 'all' AND metric = 'mr_throughput' AND grain = 'window'`)
	if n := q(fmt.Sprintf(`SELECT count(*) AS n FROM metric_values WHERE scope = '%s'`, excluded)); n == "0" {
		t.Fatal("no metric values of the project before the purge")
	}
	raw, _ := os.ReadFile(dbPath)
	var inFile []string
	for _, n := range needles {
		if bytes.Contains(raw, []byte(n)) {
			inFile = append(inFile, n)
		}
	}
	if len(inFile) == 0 {
		t.Fatalf("control: none of %d purged strings is readable in the file before the purge: the file check tests nothing", len(needles))
	}

	rules := fmt.Sprintf("  exclude:\n    projects: [%s]\n    labels: [confidential-client]\n", excluded)
	body := strings.Replace(string(base), "privacy:\n", "privacy:\n"+rules, 1) + teams
	os.WriteFile(cfg, []byte(body), 0o600)
	code, out, errs := runCLI(t, "purge", "--config", cfg)
	if code != 0 {
		t.Fatalf("purge: %s %s", out, errs)
	}
	t.Log(out)
	for sql, want := range map[string]string{
		fmt.Sprintf(`SELECT count(*) AS n FROM metric_values WHERE scope = '%s'`, excluded):    "0",
		fmt.Sprintf(`SELECT count(*) AS n FROM dora_overview WHERE scope = '%s'`, excluded):    "0",
		fmt.Sprintf(`SELECT count(*) AS n FROM metric_series WHERE scope = '%s'`, excluded):    "0",
		fmt.Sprintf(`SELECT count(*) AS n FROM collection_state WHERE scope = '%s'`, excluded): "0",
		fmt.Sprintf(`SELECT count(*) AS n FROM sprints WHERE project_path = '%s'`, excluded):   "0",
		`SELECT count(*) AS n FROM merge_requests WHERE labels LIKE '%confidential-client%'`:   "0",
	} {
		if got := q(sql); got != want {
			t.Errorf("%s = %s, want %s", sql, got, want)
		}
	}
	teamAfter := q(`SELECT value AS n FROM metric_values WHERE scope_kind = 'team' AND scope = 'all' AND metric = 'mr_throughput' AND grain = 'window'`)
	if teamAfter == teamBefore || teamAfter == "<nil>" {
		t.Errorf("team mr_throughput %s before, %s after: not recomputed without the purged MRs", teamBefore, teamAfter)
	}
	raw, _ = os.ReadFile(dbPath)
	for _, n := range inFile {
		if bytes.Contains(raw, []byte(n)) {
			t.Errorf("the file still holds the purged %q", n)
		}
	}
	if _, err := os.Stat(dbPath + ".compact"); err == nil {
		t.Error("the compaction's temporary file was left behind")
	}
	t.Logf("team mr_throughput %s → %s; %d purged strings readable in the file before, 0 after", teamBefore, teamAfter, len(inFile))
}
