package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devpulse/devpulse/internal/sandbox"
	"github.com/devpulse/devpulse/warehouse/duckdb"
)

// TestMain lets the test binary act as the devpulse command for subprocess
// tests: real signals to a real process, no separate build.
func TestMain(m *testing.M) {
	if os.Getenv("DEVPULSE_TEST_AS_MAIN") == "1" {
		ctx, stop := signalContext()
		code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

const sandboxToken = "glpat-sandbox-DO-NOT-PRINT"

var orgNow = time.Now().UTC().Truncate(time.Minute).Add(-time.Hour)

// writeConfig points devpulse at srv; the token comes from the environment.
func writeConfig(t *testing.T, srv *sandbox.Server, warehouse string) string {
	t.Helper()
	var projects []string
	for _, p := range srv.Org.ProjectPaths() {
		projects = append(projects, fmt.Sprintf("%q", p))
	}
	body := fmt.Sprintf(`sources:
  gl:
    type: gitlab
    url: %s
    token_env: SANDBOX_TOKEN
    projects: [%s]
    concurrency: 4
    rate_limit: 1000
warehouse:
  path: %s
  batch_size: 200
privacy:
  secret: c867412e5afdbb1f82c65a37ea87d9c1deb0a369b049382062458966fd1f2ef0
`, srv.URL, strings.Join(projects, ", "), warehouse)
	p := filepath.Join(t.TempDir(), "devpulse.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func command(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "DEVPULSE_TEST_AS_MAIN=1", "SANDBOX_TOKEN="+sandboxToken)
	return cmd
}

// runCLI runs the command in-process.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	t.Setenv("SANDBOX_TOKEN", sandboxToken)
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func dump(t *testing.T, cfg string) string {
	t.Helper()
	var parts []string
	for _, q := range []string{
		`SELECT id, state, author, merged_at, updated_at FROM merge_requests ORDER BY id`,
		`SELECT mr_id, sha, authored_at FROM mr_commits ORDER BY mr_id, sha`,
		`SELECT id, mr_id, kind, reviewer, created_at FROM mr_reviews ORDER BY id`,
		`SELECT id, status, duration_s FROM pipelines ORDER BY id`,
		`SELECT id, status, finished_at FROM deployments ORDER BY id`,
		`SELECT deployment_id, mr_id FROM deployment_changes ORDER BY 1, 2`,
		`SELECT id, state, "TYPE" FROM issues ORDER BY id`,
	} {
		code, out, errs := runCLI(t, "query", "--config", cfg, "--format", "csv", q)
		if code != 0 {
			t.Fatalf("query failed (%d): %s", code, errs)
		}
		parts = append(parts, out)
	}
	return strings.Join(parts, "\n")
}

func TestCollect_KilledProcessResumesWithoutLossOrDuplicates(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			size := sandbox.Size{Projects: 2, MRsPerProject: 300, PipelinesPerProject: 300, DeploymentsPerProject: 20, IssuesPerProject: 50}
			srv := sandbox.Start(sandbox.Generate(11, size, orgNow), sandbox.Options{Token: sandboxToken, Latency: 2 * time.Millisecond})
			defer srv.Close()
			dir := t.TempDir()
			cfg := writeConfig(t, srv, filepath.Join(dir, "w.duckdb"))

			cmd := command("collect", "--config", cfg)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			cmd.Stdout = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(30 * time.Second)
			for srv.Total() < 600 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			if err == nil {
				t.Fatalf("the run finished before the signal; make the sandbox bigger")
			}
			if sig == syscall.SIGTERM {
				if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), "interrupted") {
					t.Errorf("SIGTERM: exit %v, output:\n%s", err, stderr.String())
				}
			}
			if strings.Contains(stderr.String(), sandboxToken) {
				t.Error("the token appeared in the output")
			}

			code, out, errs := runCLI(t, "collect", "--config", cfg)
			if code != 0 {
				t.Fatalf("resume failed (%d): %s %s", code, out, errs)
			}
			clean := writeConfig(t, srv, filepath.Join(dir, "clean.duckdb"))
			if code, out, errs := runCLI(t, "collect", "--config", clean); code != 0 {
				t.Fatalf("clean run failed (%d): %s %s", code, out, errs)
			}
			got, want := dump(t, cfg), dump(t, clean)
			if got != want {
				t.Errorf("resumed warehouse differs from a clean run (%d vs %d bytes)", len(got), len(want))
			}
			if !strings.Contains(want, "gitlab:") || strings.Count(want, "\n") < 1000 {
				t.Errorf("clean run landed too little:\n%.300s", want)
			}
			// Runs: the killed one is recorded as interrupted, not left running.
			_, out, _ = runCLI(t, "query", "--config", cfg, "--format", "csv", "SELECT status FROM runs ORDER BY started_at")
			if !strings.HasPrefix(out, "status\ninterrupted\nok") {
				t.Errorf("runs:\n%s", out)
			}
		})
	}
}

func TestCLI_ExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("sources:\n  gl:\n    type: gitlab\n    url: not-a-url\n    token: x\n    projects: [a/b]\n"), 0o600)
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("sources:\n  gl:\n    type: gitlab\n    url: http://127.0.0.1:1\n    token: x\n    projects: [a/b]\nwarehouse:\n  path: "+filepath.Join(dir, "w.duckdb")+"\nprivacy:\n  people: drop\n"), 0o600)
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"version"}, 0, ""},
		{[]string{"--version"}, 0, ""},
		{[]string{"collect", "--config", bad}, 2, "sources.gl.url: malformed URL"},
		{[]string{"collect", "--config", filepath.Join(dir, "none.yaml")}, 2, "cannot read"},
		{[]string{"collect", "--nope"}, 2, "unknown flag"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"query"}, 2, "Usage:\n  devpulse query \"SQL\""},
		{[]string{"collect", "--config", bad, "--stream", "commits"}, 2, ""},
		{[]string{"query", "--warehouse", filepath.Join(dir, "missing.duckdb"), "SELECT 1"}, 1, "does not exist yet"},
		{[]string{"purge", "--config", good, "--warehouse", filepath.Join(dir, "missing.duckdb")}, 1, "missing.duckdb does not exist (nothing has landed there"},
		{[]string{"metrics", "--config", good, "--warehouse", filepath.Join(dir, "missing.duckdb")}, 1, "missing.duckdb does not exist"},
		{[]string{"collect", "--config", good, "--source", "nope"}, 2, `--source "nope": no such source`},
		{[]string{"collect", "--config", good, "--stream", "nope"}, 2, `--stream "nope": no selected source has it`},
		{[]string{"collect", "--config", good, "--stream", "sprints"}, 2, `--stream "sprints": no selected source has it (they offer: deployments, issues, jobs, merge_requests, milestones, pipelines)`},
	}
	for _, tc := range tests {
		code, _, errs := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.msg) {
			t.Errorf("devpulse %v: exit %d, stderr %q; want exit %d mentioning %q", tc.args, code, errs, tc.code, tc.msg)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.duckdb")); err == nil {
		t.Error("a command created the missing warehouse")
	}
}

// `version` and `--version` say the version, commit and build date.
func TestVersion_NamesCommitAndDate(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, _ := runCLI(t, args...)
		if code != 0 || !regexp.MustCompile(`^devpulse \S+ \(commit \S+, built \S+, go`).MatchString(out) {
			t.Errorf("devpulse %v: exit %d, %q", args, code, out)
		}
	}
}

// query --format json writes JSON values (numbers, ISO 8601 intervals,
// text UUIDs, nested lists and structs), keeps SELECT order and keeps a
// repeated column name apart.
func TestQuery_JSONValuesAndColumnOrder(t *testing.T) {
	wh := filepath.Join(t.TempDir(), "w.duckdb")
	db, err := duckdb.Open(t.Context(), wh)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	q := `SELECT 1.5 AS z, 2 AS a, INTERVAL 36 HOUR AS i, INTERVAL '1 month 2 days 1.5 seconds' AS m, 'x' AS a,
		'6ba7b810-9dad-11d1-80b4-00c04fd430c8'::UUID AS u, [1.25, 2.5]::DECIMAL(5,2)[] AS l, {'s': 1.5::DECIMAL(3,1)} AS st,
		12345678901234567890::HUGEINT AS h, NULL AS n, TIMESTAMPTZ '2026-01-02 03:04:05+00' AS t`
	code, out, errs := runCLI(t, "query", "--warehouse", wh, "--format", "json", q)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := `[
  {"z": 1.5, "a": 2, "i": "PT36H", "m": "P1M2DT1.5S", "a_1": "x", "u": "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "l": [1.25,2.5], "st": {"s":1.5}, "h": 12345678901234567890, "n": null, "t": "2026-01-02T03:04:05Z"}
]
`
	if out != want {
		t.Errorf("query json:\n%s\nwant:\n%s", out, want)
	}
	if _, out, _ = runCLI(t, "query", "--warehouse", wh, "--format", "json", "SELECT 1 AS x WHERE false"); out != "[]\n" {
		t.Errorf("no rows: %q", out)
	}
}

// plantedSlowdownFound checks the demo warehouse at out holds the planted CI
// slowdown as an open regression from about its week, and only that for its
// series.
func plantedSlowdownFound(t *testing.T, out string, now time.Time) {
	t.Helper()
	var js, errb bytes.Buffer
	code := run(context.Background(), []string{"query", "--warehouse", out, "--format", "json",
		"SELECT CAST(first_week AS VARCHAR) AS w, state FROM regressions WHERE scope = 'acme/payments/api' AND metric = 'pipeline_duration' AND kind = 'regression'"}, &js, &errb)
	var found []map[string]any
	if code != 0 || json.Unmarshal(js.Bytes(), &found) != nil || len(found) == 0 {
		t.Fatalf("no regression found for the planted slowdown: %s%s", js.String(), errb.String())
	}
	began := now.AddDate(0, 0, -demoSlowdownDays)
	for _, f := range found {
		w, _ := time.Parse("2006-01-02", f["w"].(string)[:10])
		if d := w.Sub(began); d < -14*24*time.Hour || d > 7*24*time.Hour || f["state"] != "open" {
			t.Errorf("regression %v: the slowdown began %s", f, began.Format("2006-01-02"))
		}
	}
}

// TestDemo_FindsThePlantedSlowdownOnEveryWeekday: the demo's data is drawn
// relative to the day it runs, and the weeks it is cut into move with that
// day. On 2026-12-04 the slowdown, then planted six weeks back, was found
// on no series: the demo showed "no change" depending on the day. That day
// and each of the next six weekdays are run here on a shifted clock.
func TestDemo_FindsThePlantedSlowdownOnEveryWeekday(t *testing.T) {
	if testing.Short() {
		t.Skip("six demo runs")
	}
	// The day it failed, whatever day the test runs (a six-week plant fails
	// it), then another weekday each, and another hour (+3 h a day), all
	// within the week ahead.
	failed, _ := time.Parse(time.RFC3339, "2026-12-04T01:55:00Z")
	shifts := []time.Duration{time.Until(failed)}
	for d := 1; d <= 6; d++ {
		shifts = append(shifts, time.Duration(d)*27*time.Hour)
	}
	for _, shift := range shifts {
		t.Run(time.Now().Add(shift).UTC().Format("2006-01-02_Monday_15h"), func(t *testing.T) {
			t.Parallel()
			clock := func() time.Time { return time.Now().Add(shift) }
			out := filepath.Join(t.TempDir(), "demo.duckdb")
			var stdout, stderr bytes.Buffer
			if code := runAt(context.Background(), []string{"demo", "--out", out, "--html", filepath.Join(t.TempDir(), "demo.html"), "--log-level", "warn"},
				&stdout, &stderr, clock); code != 0 {
				t.Fatalf("demo exit %d: %s", code, stderr.String())
			}
			plantedSlowdownFound(t, out, clock())
		})
	}
}

func TestDemo_LandsTheSandboxAndQueryReadsIt(t *testing.T) {
	out := filepath.Join(t.TempDir(), "demo.duckdb")
	page := filepath.Join(t.TempDir(), "demo.html")
	code, stdout, stderr := runCLI(t, "demo", "--out", out, "--html", page, "--log-level", "warn")
	if code != 0 {
		t.Fatalf("demo exit %d: %s", code, stderr)
	}
	// The CI slowdown planted nine weeks ago is found, from its week, and shown.
	plantedSlowdownFound(t, out, time.Now())
	if b, _ := os.ReadFile(page); !strings.Contains(string(b), "<h2>What changed</h2>") || !strings.Contains(string(b), `class="cp"`) {
		t.Error("the demo page has no What changed section or no change-point marker")
	}
	var js string
	for _, want := range []string{"merge_requests      480", "issues (incidents)", "run ", ": ok in "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, stdout)
		}
	}
	code, js, stderr = runCLI(t, "query", "--warehouse", out, "--format", "json",
		"SELECT state, count(*) AS n FROM merge_requests GROUP BY state ORDER BY state")
	if code != 0 {
		t.Fatal(stderr)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(js), &rows); err != nil {
		t.Fatalf("query json: %v\n%s", err, js)
	}
	var states []string
	total := 0.0
	for _, r := range rows {
		states = append(states, r["state"].(string))
		total += r["n"].(float64)
	}
	sort.Strings(states)
	if strings.Join(states, ",") != "closed,merged,opened" || total != 480 {
		t.Errorf("states %v total %v", states, total)
	}
}

func TestConfigShow_MasksSecrets(t *testing.T) {
	srv := sandbox.Start(sandbox.Generate(1, sandbox.Size{Projects: 1}, orgNow), sandbox.Options{})
	defer srv.Close()
	cfg := writeConfig(t, srv, filepath.Join(t.TempDir(), "w.duckdb"))
	code, out, errs := runCLI(t, "config", "show", "--config", cfg)
	if code != 0 {
		t.Fatal(errs)
	}
	if strings.Contains(out, sandboxToken) || strings.Contains(out, "c867412e5afdbb1f82c65a37ea87d9c1deb0a369b049382062458966fd1f2ef0") || !strings.Contains(out, `"token": "***"`) {
		t.Errorf("config show:\n%s", out)
	}
}

func TestDoctor_ChecksSourcesPolicyAndWarehouse(t *testing.T) {
	srv := sandbox.Start(sandbox.Generate(2, sandbox.Size{Projects: 2, MRsPerProject: 5}, orgNow), sandbox.Options{Token: sandboxToken})
	defer srv.Close()
	cfg := writeConfig(t, srv, filepath.Join(t.TempDir(), "w.duckdb"))
	code, out, errs := runCLI(t, "doctor", "--config", cfg)
	if code != 0 {
		t.Fatalf("doctor exit %d: %s %s", code, out, errs)
	}
	for _, want := range []string{"config: ok", "privacy policy in effect:", "people: pseudonymize", "titles: drop",
		"source gl (gitlab " + srv.URL + "): ok, 2 projects", "warehouse duckdb", "writable"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
	// A team member naming a project the source does not collect is found.
	body, _ := os.ReadFile(cfg)
	typo := fmt.Sprintf("teams:\n  payments: [gl:%s, gl:acme/paymnets]\n", srv.Org.ProjectPaths()[0])
	os.WriteFile(cfg, append(body, typo...), 0o600)
	code, out, _ = runCLI(t, "doctor", "--config", cfg)
	if code != 1 || !strings.Contains(out, "team payments: FAIL member gl:acme/paymnets is no project of source gl") || strings.Contains(out, "member gl:"+srv.Org.ProjectPaths()[0]+" is no") {
		t.Errorf("doctor with a team member typo: exit %d\n%s", code, out)
	}
	os.WriteFile(cfg, body, 0o600)
	t.Setenv("SANDBOX_TOKEN", "glpat-expired")
	var o, e bytes.Buffer
	code = run(context.Background(), []string{"doctor", "--config", cfg}, &o, &e)
	if code != 1 || !strings.Contains(o.String(), "source gl") || !strings.Contains(o.String(), "FAIL") || !strings.Contains(o.String(), "401") {
		t.Errorf("doctor with a bad token: exit %d\n%s%s", code, o.String(), e.String())
	}
	if strings.Contains(o.String()+e.String(), "glpat-expired") {
		t.Error("doctor printed the token")
	}
}

// Without any configuration, collect (and doctor) say so and exit 2 instead
// of reporting "ok, 0 records" and creating ./devpulse.duckdb; DEVPULSE_CONFIG
// names the file; read-only commands need no API token.
func TestCLI_NoConfigurationAndReadOnlyCommands(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("DEVPULSE_CONFIG", "")
	for _, cmd := range []string{"collect", "doctor"} {
		code, _, errs := runCLI(t, cmd)
		if code != 2 || !strings.Contains(errs, "no source is configured") {
			t.Errorf("%s without a config: exit %d, %q", cmd, code, errs)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "devpulse.duckdb")); err == nil {
		t.Error("a warehouse was created without any configuration")
	}
	cfg := filepath.Join(dir, "elsewhere.yaml")
	os.WriteFile(cfg, []byte("sources:\n  gl:\n    type: gitlab\n    url: http://127.0.0.1:1\n    token_env: NOT_SET_ANYWHERE\n    projects: [a/b]\nwarehouse:\n  path: "+filepath.Join(dir, "w.duckdb")+"\nprivacy:\n  people: drop\n"), 0o600)
	t.Setenv("DEVPULSE_CONFIG", cfg)
	code, _, errs := runCLI(t, "collect")
	if code != 2 || !strings.Contains(errs, "elsewhere.yaml: sources.gl.token") {
		t.Errorf("collect with DEVPULSE_CONFIG and no token: exit %d, %q", code, errs)
	}
	db, err := duckdb.Open(t.Context(), filepath.Join(dir, "w.duckdb")) // an earlier collect's
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if code, out, errs := runCLI(t, "metrics"); code != 0 {
		t.Errorf("metrics (no API request) refused without a token: exit %d %s %s", code, out, errs)
	}
	if code, out, errs := runCLI(t, "query", "SELECT 1 AS one"); code != 0 || !strings.Contains(out, "one") {
		t.Errorf("query refused without a token: exit %d %s %s", code, out, errs)
	}
}

// With JSON logs, the error that ends the command is a JSON line too.
func TestCLI_FatalErrorInJSONLogs(t *testing.T) {
	code, _, errs := runCLI(t, "collect", "--log-format", "json", "--config", filepath.Join(t.TempDir(), "none.yaml"))
	var m map[string]any
	if err := json.Unmarshal([]byte(errs), &m); err != nil {
		t.Fatalf("stderr is not one JSON line: %q", errs)
	}
	if code != 2 || m["level"] != "ERROR" || m["exit_code"] != 2.0 || !strings.Contains(m["msg"].(string), "cannot read") {
		t.Errorf("exit %d, %v", code, m)
	}
}

// demo replaces only an earlier demo: a real warehouse, or any other file,
// is refused unless --force; --warehouse names the file as --out does.
func TestDemo_RefusesToReplaceARealWarehouse(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "devpulse.duckdb")
	db, err := duckdb.Open(t.Context(), real)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(t.Context(), "INSERT INTO runs (run_id, command, started_at, status) VALUES ('r1', 'collect', now(), 'ok')"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, args := range [][]string{{"demo", "--out", real}, {"demo", "--warehouse", real}} {
		code, _, errs := runCLI(t, args...)
		if code != 2 || !strings.Contains(errs, "holds 1 runs that are not demos; it is not replaced") {
			t.Errorf("%v: exit %d, %q", args, code, errs)
		}
	}
	db, err = duckdb.OpenReadOnly(t.Context(), real)
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.Query(t.Context(), "SELECT count(*) FROM runs WHERE run_id = 'r1'")
	db.Close()
	if err != nil || res.Rows[0][0] != int64(1) {
		t.Errorf("the real warehouse was touched: %v %v", res, err)
	}
	if code, _, errs := runCLI(t, "demo", "--out", filepath.Join(dir, "a.duckdb"), "--warehouse", filepath.Join(dir, "b.duckdb")); code != 2 || !strings.Contains(errs, "name two files") {
		t.Errorf("--out and --warehouse disagreeing: exit %d %q", code, errs)
	}
}

// The demo's teams are stored with its metrics: its own "explore it" hint
// works without the demo's config, and a window without data says where
// the data is.
func TestDemo_TeamsReportableWithoutConfig(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "demo.duckdb")
	if code, _, errs := runCLI(t, "demo", "--out", out, "--html", filepath.Join(dir, "demo.html"), "--log-level", "warn"); code != 0 {
		t.Fatalf("demo: %s", errs)
	}
	t.Chdir(t.TempDir())
	t.Setenv("DEVPULSE_CONFIG", "")
	code, js, errs := runCLI(t, "report", "--warehouse", out, "--team", "payments", "--format", "json")
	if code != 0 || !strings.Contains(js, `"name": "payments"`) {
		t.Fatalf("report --team payments without config: exit %d %s %.300s", code, errs, js)
	}
	code, _, errs = runCLI(t, "report", "--warehouse", out, "--since", "2020-01-01", "--until", "2020-03-01")
	if code != 0 || !regexp.MustCompile(`no data in 2020-01-01\.\.2020-02-29 UTC, 60 days: the newest record is of \d+ \w+ \d{4}; try --since \d{4}-\d\d-\d\d`).MatchString(errs) {
		t.Errorf("empty window: exit %d, %q", code, errs)
	}
}

// A collect run from cron is observable: --metrics-file writes its series
// in the text format node_exporter's textfile collector reads, without Go
// or process series that would clash with node_exporter's own.
func TestCollect_MetricsFileForTheTextfileCollector(t *testing.T) {
	srv := sandbox.Start(sandbox.Generate(3, sandbox.Size{Projects: 1, MRsPerProject: 10, PipelinesPerProject: 10, DeploymentsPerProject: 2, IssuesPerProject: 3}, orgNow),
		sandbox.Options{Token: sandboxToken})
	defer srv.Close()
	dir := t.TempDir()
	cfg := writeConfig(t, srv, filepath.Join(dir, "w.duckdb"))
	prom := filepath.Join(dir, "devpulse.prom")
	if code, _, errs := runCLI(t, "collect", "--config", cfg, "--no-metrics", "--metrics-file", prom); code != 0 {
		t.Fatal(errs)
	}
	b, err := os.ReadFile(prom)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{`devpulse_collect_records_total{source="gl",stream="merge_requests"} 10`, `devpulse_job_runs_total{job="collect",status="ok"} 1`,
		`devpulse_job_runs_total{job="collect",status="failed"} 0`, `devpulse_job_last_success_timestamp_seconds{job="collect"}`,
		`devpulse_collect_last_success_timestamp_seconds{source="gl",stream="pipelines"}`, `devpulse_build_info{`} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics file lacks %s:\n%s", want, text)
		}
	}
	if strings.Contains(text, "go_goroutines") || strings.Contains(text, "process_") {
		t.Error("the metrics file holds Go or process series")
	}
}

// Shell completion offers flag values: fixed sets, and names from the config.
func TestCompletion_FlagValues(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte("sources:\n  gl:\n    type: gitlab\n    url: http://127.0.0.1:1\n    projects: [a/b]\n  jr:\n    type: jira\n    url: http://127.0.0.1:2\n    projects: [APP]\nteams:\n  payments: [gl:a/b]\nwarehouse:\n  path: "+filepath.Join(dir, "w.duckdb")+"\nprivacy:\n  people: drop\n"), 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "--format", ""}, "table\njson\nhtml\n"},
		{[]string{"query", "--format", ""}, "table\ncsv\njson\n"},
		{[]string{"collect", "--config", cfg, "--source", ""}, "gl\njr\n"},
		{[]string{"collect", "--config", cfg, "--stream", ""}, "deployments\nissues\njobs\nmerge_requests\nmilestones\npipelines\nsprints\n"},
		{[]string{"report", "--config", cfg, "--team", ""}, "payments\n"},
		{[]string{"report", "--config", cfg, "--project", ""}, "APP\na/b\n"},
	} {
		_, out, _ := runCLI(t, append([]string{"__complete"}, tc.args...)...)
		if got, _, _ := strings.Cut(out, ":"); got != tc.want {
			t.Errorf("complete %v: %q, want %q", tc.args, got, tc.want)
		}
	}
}

// doctor reads what the GitLab token says of itself: its scopes (one
// without read_api fails) and its expiry (soon: say so before cron runs fail).
func TestDoctor_GitLabTokenScopesAndExpiry(t *testing.T) {
	soon := time.Now().AddDate(0, 0, 5).Format("2006-01-02")
	for _, tc := range []struct {
		scopes  []string
		expires string
		code    int
		want    string
	}{
		{[]string{"read_api"}, "", 0, "  token scopes: read_api\n"},
		{[]string{"read_api", "read_user"}, soon, 0, "token scopes: read_api, read_user; expires " + soon + " (in 4 days): renew it before unattended runs start failing"},
		{[]string{"read_user"}, "", 1, "FAIL the token has the scopes [read_user], not read_api"},
	} {
		srv := sandbox.Start(sandbox.Generate(2, sandbox.Size{Projects: 1, MRsPerProject: 2}, orgNow), sandbox.Options{Token: sandboxToken, TokenScopes: tc.scopes, TokenExpires: tc.expires})
		cfg := writeConfig(t, srv, filepath.Join(t.TempDir(), "w.duckdb"))
		code, out, _ := runCLI(t, "doctor", "--config", cfg)
		srv.Close()
		if code != tc.code || !strings.Contains(out, tc.want) {
			t.Errorf("scopes %v expires %q: exit %d\n%s\nwant exit %d with %q", tc.scopes, tc.expires, code, out, tc.code, tc.want)
		}
	}
}
