package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devpulse/devpulse/internal/sandbox"
)

// devpulse ingest FILE: a CI step reporting its deployments and an incident
// tool's incidents for a collected project; run twice (a retried step), it
// lands each once; a file naming an unknown project lands nothing and says
// which field.
func TestIngest_FileLandsOnceAndCountsInDORA(t *testing.T) {
	cfg, srv := collectSandbox(t)
	project := srv.Org.ProjectPaths()[0]
	finished := orgNow.Add(-48 * 3600 * 1e9).UTC().Format("2006-01-02T15:04:05Z")
	started := orgNow.Add(-47 * 3600 * 1e9).UTC().Format("2006-01-02T15:04:05Z")
	doc := fmt.Sprintf(`{"deployments": [{"idempotency_key": "jenkins-prod-981", "project": %q, "environment": "production",
	  "sha": "0123abcd", "ref": "main", "finished_at": %q, "tool": "jenkins"}],
	 "incidents": [{"idempotency_key": "opsgenie-7f3a", "project": %q, "title": "Payments degraded", "started_at": %q}]}`,
		project, finished, project, started)
	file := filepath.Join(t.TempDir(), "events.json")
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	before := queryJSON(t, cfg, `SELECT count(*) AS n FROM deployments`)[0]["n"].(float64)
	for i := 0; i < 2; i++ {
		code, out, errs := runCLI(t, "ingest", "--config", cfg, file)
		if code != 0 || !strings.Contains(out, "landed 2 records") {
			t.Fatalf("ingest %d: exit %d %s %s", i, code, out, errs)
		}
	}
	after := queryJSON(t, cfg, `SELECT count(*) AS n FROM deployments`)[0]["n"].(float64)
	if after != before+1 {
		t.Errorf("deployments %v → %v, want one more", before, after)
	}
	rows := queryJSON(t, cfg, `SELECT count(*) AS n FROM issues WHERE source = 'ingest' AND "type" = 'incident' AND closed_at IS NULL AND title IS NULL`)
	if rows[0]["n"].(float64) != 1 {
		t.Errorf("ingested incidents: %v", rows)
	}
	// The open incident fails the ingested deployment an hour before it.
	code, out, errs := runCLI(t, "report", "--config", cfg, "--project", project, "--format", "json", "--until", orgNow.AddDate(0, 0, 1).Format("2006-01-02"))
	if code != 0 || !strings.Contains(out, `"incident ingest-`) || !strings.Contains(out, `"0123abcd"`) {
		t.Errorf("report: exit %d %s %.300s", code, errs, out)
	}

	bad := strings.Replace(doc, project, "acme/unknown", 1)
	if err := os.WriteFile(file, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCLI(t, "ingest", "--config", cfg, file); code != 2 || !strings.Contains(errs, `deployments[0].project: "acme/unknown" is not a project devpulse collects`) {
		t.Errorf("unknown project: exit %d %s", code, errs)
	}
	if n := queryJSON(t, cfg, `SELECT count(*) AS n FROM deployments`)[0]["n"].(float64); n != after {
		t.Errorf("a refused file landed %v deployments", n-after)
	}
}

// devpulse schedule with ingest tokens serves the ingest API next to its
// health endpoints; a posted deployment lands in the configured warehouse.
// On a public address without TLS it refuses to start.
func TestSchedule_ServesTheIngestAPI(t *testing.T) {
	srv := sandbox.Start(sandbox.Generate(5, sandbox.Size{Projects: 1, MRsPerProject: 5, PipelinesPerProject: 2, DeploymentsPerProject: 1, IssuesPerProject: 1}, orgNow),
		sandbox.Options{Token: sandboxToken})
	defer srv.Close()
	dir := t.TempDir()
	cfg := writeConfig(t, srv, filepath.Join(dir, "w.duckdb"))
	addr := freePort(t)
	// Pushed records join a project that has landed (its first collection).
	if code, out, errs := runCLI(t, "collect", "--config", cfg, "--no-metrics"); code != 0 {
		t.Fatalf("collect: %s %s", out, errs)
	}
	withSchedule(t, cfg, fmt.Sprintf("schedule:\n  listen: %s\n  jobs:\n    - name: hourly\n      cron: \"@every 1h\"\ningest:\n  tokens_env: DEVPULSE_INGEST_TOKENS\n", addr))
	cmd := command("schedule", "--config", cfg)
	cmd.Env = append(cmd.Env, "DEVPULSE_INGEST_TOKENS=tok-a,tok-b")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	base := "http://" + addr
	waitFor(t, "the service", 30*time.Second, func() bool { code, _ := get(t, base+"/healthz"); return code == 200 })
	project := srv.Org.ProjectPaths()[0]
	body := fmt.Sprintf(`{"idempotency_key": "argo-1", "project": %q, "finished_at": "2026-11-20T10:00:00Z", "tool": "argocd"}`, project)
	for _, c := range []struct {
		token string
		code  int
	}{{"tok-b", 200}, {"tok-c", 401}, {"tok-a", 200}} {
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/deployments", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.code {
			t.Fatalf("token %s: %d %s\n%s", c.token, resp.StatusCode, b, out.String())
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	if rows := queryJSON(t, cfg, `SELECT count(*) AS n FROM deployments WHERE source = 'ingest'`); rows[0]["n"].(float64) != 1 {
		t.Errorf("ingested deployments: %v (two posts of one key)", rows)
	}
	if strings.Contains(out.String(), "tok-a") || strings.Contains(out.String(), "tok-b") {
		t.Error("a token appears in the service's output")
	}

	// A public address in clear: refused before anything starts.
	cfg2 := writeConfig(t, srv, filepath.Join(dir, "w2.duckdb"))
	withSchedule(t, cfg2, "schedule:\n  listen: 0.0.0.0:0\ningest:\n  tokens_env: DEVPULSE_INGEST_TOKENS\n")
	t.Setenv("DEVPULSE_INGEST_TOKENS", "tok-a")
	if code, _, errs := runCLI(t, "schedule", "--config", cfg2); code == 0 || !strings.Contains(errs, "not a loopback address and ingest is on") {
		t.Errorf("public plain-HTTP ingest: exit %d %s", code, errs)
	}
}
