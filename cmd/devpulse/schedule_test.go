package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/devpulse/devpulse/collectors"
	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/sandbox"
)

// syncBuffer collects a subprocess's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// withSchedule appends a schedule section to a config written by writeConfig.
func withSchedule(t *testing.T, cfg, section string) {
	t.Helper()
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(section); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// One scheduled run against the sandbox: /metrics has every documented
// series, the live report and its JSON are served, health and readiness
// answer, other commands read the DuckDB file between runs, a broken config
// on SIGHUP keeps the old one running, and SIGTERM stops it cleanly.
func TestSchedule_ServesMetricsReportAndHealth(t *testing.T) {
	srv := sandbox.Start(sandbox.Generate(5, sandbox.Size{Projects: 2, MRsPerProject: 40, PipelinesPerProject: 40, DeploymentsPerProject: 8, IssuesPerProject: 10}, orgNow),
		sandbox.Options{Token: sandboxToken})
	defer srv.Close()
	dir := t.TempDir()
	cfg := writeConfig(t, srv, filepath.Join(dir, "w.duckdb"))
	addr := freePort(t)
	withSchedule(t, cfg, fmt.Sprintf(`schedule:
  listen: %s
  grace: 5s
  jobs:
    - name: all
      cron: "@every 2s"
      metrics: true
`, addr))
	if code, o, _ := runCLI(t, "doctor", "--config", cfg); code != 0 || !strings.Contains(o, "schedule job all (@every 2s): next run ") {
		t.Errorf("doctor does not show the job's next run (%d):\n%s", code, o)
	}
	cmd := command("schedule", "--config", cfg)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	base := "http://" + addr
	var metrics string
	waitFor(t, "a finished run in /metrics", 60*time.Second, func() bool {
		_, metrics = get(t, base+"/metrics")
		return strings.Contains(metrics, `devpulse_job_run_duration_seconds_count{job="all"}`)
	})
	for _, series := range []string{
		`devpulse_collect_last_success_timestamp_seconds{source="gl",stream="merge_requests"}`,
		`devpulse_collect_records_total{source="gl",stream="merge_requests"} 80`,
		`devpulse_api_requests_total{code="200",source="gl"}`,
		`devpulse_api_retries_total{source="gl"} 0`,
		`devpulse_job_run_duration_seconds_count{job="all"}`,
		`devpulse_collect_data_age_seconds{source="gl",stream="pipelines"}`,
		`devpulse_collect_seconds_since_last_success{source="gl",stream="pipelines"}`,
		`devpulse_job_last_success_timestamp_seconds{job="all"}`,
		`devpulse_metrics_compute_duration_seconds `,
		`devpulse_build_info{commit=`,
		// created at 0 before any failure, so that increase() sees the first one
		`devpulse_job_runs_total{job="all",status="failed"} 0`,
		`devpulse_collect_skipped_total{source="gl",stream="issues"} 0`,
		`devpulse_source_consecutive_failures{source="gl"} 0`,
		`process_resident_memory_bytes`, `go_goroutines`,
	} {
		if !strings.Contains(metrics, series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
	t.Logf("/metrics after the first run (devpulse series):\n%s", devpulseLines(metrics))
	if code, body := get(t, base+"/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Errorf("/healthz: %d %s", code, body)
	}
	if code, o, errs := runCLI(t, "healthcheck", "--url", base+"/healthz"); code != 0 || o != "ok\n" {
		t.Errorf("healthcheck (the image's HEALTHCHECK): exit %d %q %q", code, o, errs)
	}
	if code, _, _ := runCLI(t, "healthcheck", "--url", base+"/nope"); code != 1 {
		t.Errorf("healthcheck of a 404: exit %d", code)
	}
	if code, body := get(t, base+"/readyz"); code != 200 || !strings.Contains(body, "failing sources: none") || strings.Contains(body, "map[") {
		t.Errorf("/readyz: %d %s", code, body)
	}
	if !regexp.MustCompile(`msg="job done" job=all seconds=[0-9.]+ records=\d+ requests=\d+`).MatchString(out.String()) {
		t.Errorf("job done does not say records and requests:\n%s", out.String())
	}
	// The live report takes a window and a scope.
	project := srv.Org.ProjectPaths()[0]
	code, body := get(t, base+"/report.json?since=2020-01-01&until=2020-02-01&project="+url.QueryEscape(project))
	var win map[string]any
	if code != 200 || json.Unmarshal([]byte(body), &win) != nil || !strings.Contains(body, `"since": "2020-01-01`) || !strings.Contains(body, project) {
		t.Errorf("/report.json with a window: %d %.400s", code, body)
	}
	if code, body := get(t, base+"/report.json?since=yesterday"); code != 400 || !strings.Contains(body, "not a date") {
		t.Errorf("bad since: %d %s", code, body)
	}
	if code, _ := get(t, base+"/?team=nope"); code != 404 {
		t.Errorf("unknown team: %d", code)
	}
	page := ""
	code, page = get(t, base+"/")
	if code != 200 || !strings.Contains(page, "<svg") || !strings.Contains(page, "acme/") {
		t.Errorf("/: %d %.300s", code, page)
	}
	code, body = get(t, base+"/report.json")
	var doc map[string]any
	if code != 200 || json.Unmarshal([]byte(body), &doc) != nil || doc["scopes"] == nil {
		t.Errorf("/report.json: %d %.300s", code, body)
	}
	// Another shell reads the warehouse while the service keeps running.
	if code, q, errs := runCLI(t, "query", "--config", cfg, "--format", "csv", "SELECT COUNT(*) AS n FROM merge_requests"); code != 0 || !strings.Contains(q, "80") {
		t.Errorf("query beside the service: %d %s %s", code, q, errs)
	}
	// SIGHUP with a broken config: the old one keeps running.
	good, _ := os.ReadFile(cfg)
	if err := os.WriteFile(cfg, append(good, []byte("  bogus_key: 1\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	runs := strings.Count(out.String(), `msg="job done"`)
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the reload failure in the log", 10*time.Second, func() bool {
		return strings.Contains(out.String(), "configuration reload failed; the running configuration stays in effect")
	})
	waitFor(t, "another run after the bad reload", 20*time.Second, func() bool {
		return strings.Count(out.String(), `msg="job done"`) > runs
	})
	os.WriteFile(cfg, good, 0o600)
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "a good reload", 10*time.Second, func() bool { return strings.Contains(out.String(), "configuration reloaded") })

	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, out.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("still running 15 s after SIGTERM (grace 5 s)")
	}
	if !strings.Contains(out.String(), `msg=stopped`) {
		t.Errorf("no clean stop in the log:\n%s", out.String())
	}
	if strings.Contains(out.String(), sandboxToken) {
		t.Error("the token appeared in the log")
	}
}

func devpulseLines(m string) string {
	var keep []string
	for _, l := range strings.Split(m, "\n") {
		if strings.HasPrefix(l, "devpulse_") && !strings.Contains(l, "_bucket{") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// SIGTERM while a scheduled run is mid-way, with a grace shorter than the
// run: the run is cancelled, its last batch commits or rolls back, the
// process exits; the next start resumes and the warehouse equals a clean run.
func TestSchedule_SignalMidRunResumesWithoutLossOrDuplicates(t *testing.T) {
	size := sandbox.Size{Projects: 2, MRsPerProject: 300, PipelinesPerProject: 300, DeploymentsPerProject: 20, IssuesPerProject: 50}
	srv := sandbox.Start(sandbox.Generate(11, size, orgNow), sandbox.Options{Token: sandboxToken, Latency: 2 * time.Millisecond})
	defer srv.Close()
	dir := t.TempDir()
	cfg := writeConfig(t, srv, filepath.Join(dir, "w.duckdb"))
	withSchedule(t, cfg, `schedule:
  grace: 200ms
  jobs:
    - name: all
      cron: "@every 1s"
`)
	cmd := command("schedule", "--config", cfg)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the run to be well under way", 60*time.Second, func() bool { return srv.Total() >= 600 })
	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, out.String())
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %s to stop with a 200ms grace", took)
	}
	if !strings.Contains(out.String(), "grace period over: cancelling runs in flight") {
		t.Fatalf("the run finished inside the grace period; make the sandbox bigger:\n%s", out.String())
	}
	if code, o, errs := runCLI(t, "collect", "--config", cfg, "--no-metrics"); code != 0 {
		t.Fatalf("resume: %s %s", o, errs)
	}
	clean := writeConfig(t, srv, filepath.Join(dir, "clean.duckdb"))
	if code, o, errs := runCLI(t, "collect", "--config", clean, "--no-metrics"); code != 0 {
		t.Fatalf("clean: %s %s", o, errs)
	}
	if got, want := dump(t, cfg), dump(t, clean); got != want {
		t.Errorf("resumed warehouse differs from a clean run (%d vs %d bytes)", len(got), len(want))
	}
	_, runs, _ := runCLI(t, "query", "--config", cfg, "--format", "csv", "SELECT command, status FROM runs ORDER BY started_at")
	if !regexp.MustCompile(`(?s)^command,status\nschedule all,interrupted\ncollect,ok`).MatchString(runs) {
		t.Errorf("runs:\n%s", runs)
	}
}

// While one process writes the DuckDB file, another command waits up to
// schedule.busy_timeout and then says plainly which process holds it.
func TestDuckDBBusy_SaysWhichProcessHoldsTheFile(t *testing.T) {
	srv := sandbox.Start(sandbox.Generate(5, sandbox.Size{Projects: 1, MRsPerProject: 5}, orgNow), sandbox.Options{Token: sandboxToken})
	defer srv.Close()
	dir := t.TempDir()
	cfg := writeConfig(t, srv, filepath.Join(dir, "w.duckdb"))
	withSchedule(t, cfg, "schedule:\n  busy_timeout: 1s\n")
	if code, o, errs := runCLI(t, "collect", "--config", cfg); code != 0 {
		t.Fatalf("collect: %s %s", o, errs)
	}
	// This test process holds the file for writing, as a run would.
	_, _, errs := runCLI(t, "query", "--config", cfg, "SELECT 1") // free: works
	if errs != "" {
		t.Fatalf("query: %s", errs)
	}
	wh, err := openWarehouse(t.Context(), io.Discard, mustLoad(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	cmd := command("collect", "--config", cfg)
	var o bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &o
	start := time.Now()
	err = cmd.Run()
	if err == nil {
		t.Fatal("collect ran although the file was held")
	}
	want := fmt.Sprintf("is in use by process %d", os.Getpid())
	if !strings.Contains(o.String(), want) || !strings.Contains(o.String(), "waiting up to 1s") || !strings.Contains(o.String(), "waited 1s") {
		t.Errorf("output lacks %q and the wait:\n%s", want, o.String())
	}
	if took := time.Since(start); took < time.Second {
		t.Errorf("gave up after %s, before busy_timeout", took)
	}
}

func mustLoad(t *testing.T, path string) *config.Config {
	t.Helper()
	t.Setenv("SANDBOX_TOKEN", sandboxToken)
	c, err := config.Load(config.Options{Path: path, Kinds: collectors.Kinds()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
