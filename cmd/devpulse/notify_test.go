package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devpulse/devpulse/collectors"
	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/sandbox"
	"github.com/devpulse/devpulse/notify"
	"github.com/devpulse/devpulse/schedule"
)

// capture is a local webhook receiver: it keeps every body posted to it.
type capture struct {
	mu     sync.Mutex
	bodies []string
	fail   bool
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	c.bodies = append(c.bodies, string(b))
}

func (c *capture) got() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.bodies...)
}

// A scheduled run finds the CI slowdown planted nine weeks ago, posts it
// once to each webhook (Slack's shape to one, the generic JSON to the
// other), never again on the next run, keeps collecting when a webhook
// fails and delivers to it at the run after it recovers; /metrics counts
// the open regression. No message names a person or holds a token.
func TestSchedule_NotifiesARegressionOnce(t *testing.T) {
	org := sandbox.Generate(21, sandbox.Size{Projects: 1, MRsPerProject: 40, PipelinesPerProject: 900, DeploymentsPerProject: 4, IssuesPerProject: 2}, orgNow)
	org.SlowPipelines(org.ProjectPaths()[0], orgNow.AddDate(0, 0, -demoSlowdownDays), 2) // as the demo: enough whole weeks after it on any day
	srv := sandbox.Start(org, sandbox.Options{Token: sandboxToken})
	defer srv.Close()
	slackHook, genericHook := &capture{}, &capture{fail: true}
	slackSrv, genericSrv := httptest.NewServer(slackHook), httptest.NewServer(genericHook)
	defer slackSrv.Close()
	defer genericSrv.Close()
	t.Setenv("TEST_SLACK_WEBHOOK", slackSrv.URL+"/services/T0/B0/s3cr3t")
	t.Setenv("TEST_GENERIC_WEBHOOK", genericSrv.URL+"/hook/0ther-s3cr3t")
	t.Setenv("SANDBOX_TOKEN", sandboxToken)
	path := writeConfig(t, srv, filepath.Join(t.TempDir(), "w.duckdb"))
	withSchedule(t, path, `teams:
  payments: [gl:`+org.ProjectPaths()[0]+`]
goals:
  - team: payments
    goal: "pipeline_duration p50 < 20m"
notify:
  report_url: https://devpulse.example.com/
  webhooks:
    - name: chat
      format: slack
      url_env: TEST_SLACK_WEBHOOK
    - name: pager
      format: generic
      url_env: TEST_GENERIC_WEBHOOK
`)
	cfg, err := config.Load(config.Options{Path: path, Kinds: collectors.Kinds()})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	jr := &schedule.JobRunner{Log: slog.New(slog.NewTextHandler(&logs, nil)), Metrics: schedule.NewMetrics(time.Now), Now: time.Now,
		Sender: &notify.Sender{Retries: 1, Sleep: func(context.Context, time.Duration) error { return nil }}}
	job := config.Job{Name: "all", Metrics: true, Full: true}
	// A year of weekly history first, as `devpulse metrics --since` backfills it.
	if code, o, e := runCLI(t, "collect", "--config", path, "--no-metrics"); code != 0 {
		t.Fatalf("collect: %d %s %s", code, o, e)
	}
	if code, o, e := runCLI(t, "metrics", "--config", path, "--since", orgNow.Add(-sandbox.Span).Format("2006-01-02")); code != 0 {
		t.Fatalf("backfill: %d %s %s", code, o, e)
	}
	first := 0
	for run := 1; run <= 3; run++ {
		if run == 3 {
			genericHook.mu.Lock()
			genericHook.fail = false
			genericHook.mu.Unlock()
		}
		if out := jr.Run(context.Background(), cfg, job, []string{"gl"}); out.Err != nil {
			t.Fatalf("run %d: a notification problem must not fail the run: %v", run, out.Err)
		}
		got := slackHook.got()
		if run == 1 {
			first = len(got) // the p50 and the p85 series both shifted
		}
		if first == 0 || len(got) != first {
			t.Fatalf("after run %d the Slack webhook got %d messages, want %d (each regression once):\n%s", run, len(got), first, strings.Join(got, "\n"))
		}
		if n := len(genericHook.got()); (run < 3 && n != 0) || (run == 3 && n != first) {
			t.Errorf("after run %d the generic webhook got %d messages", run, n)
		}
	}
	msg := slackHook.got()[0]
	var slack struct {
		Text   string
		Blocks []map[string]any
	}
	if err := json.Unmarshal([]byte(msg), &slack); err != nil || !strings.Contains(slack.Text, "Regression in team payments: Pipeline duration") ||
		!strings.Contains(msg, "Pipeline duration") || !strings.Contains(msg, "https://devpulse.example.com/") {
		t.Errorf("the Slack message does not say what regressed where, with the report's link: %v\n%s", err, msg)
	}
	t.Logf("captured Slack message:\n%s", msg)
	generic := genericHook.got()[0]
	if !strings.Contains(generic, `"median_before"`) || !strings.Contains(generic, `"kind":"regression"`) {
		t.Errorf("generic message lacks the figures: %s", generic)
	}
	for _, body := range append(slackHook.got(), generic, logs.String()) {
		for _, leak := range append(srv.Org.PersonalStrings(), sandboxToken, "s3cr3t", "0ther-s3cr3t") {
			if strings.Contains(body, leak) {
				t.Errorf("%q appears in a message or log line", leak)
			}
		}
	}
	if !strings.Contains(strings.Join(slackHook.got(), "\n"), "Goal missed in team payments: pipeline_duration p50 \\u003c 20m") {
		t.Errorf("the missed goal was not posted:\n%s", strings.Join(slackHook.got(), "\n"))
	}
	// The weekly digest, a job of its own: one message per team, once a week.
	for i := 0; i < 2; i++ {
		if out := jr.Run(context.Background(), cfg, config.Job{Name: schedule.DigestJob}, nil); out.Err != nil {
			t.Fatal(out.Err)
		}
	}
	if got := slackHook.got(); len(got) != first+1 || !strings.Contains(got[first], "weekly digest: team payments") ||
		!strings.Contains(got[first], "Open regression in project "+org.ProjectPaths()[0]) || !strings.Contains(got[first], "Deployment frequency") {
		t.Errorf("digest: %d messages after %d, last:\n%s", len(got), first, got[len(got)-1])
	} else {
		t.Logf("captured digest:\n%s", got[first])
	}
	if !strings.Contains(logs.String(), `msg="notification not delivered; it is tried again at the next run" webhook=pager`) {
		t.Errorf("the failing webhook is not logged by name:\n%s", logs.String())
	}
	var prom bytes.Buffer
	h := jr.Handler(nil, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	prom.Write(rec.Body.Bytes())
	want := fmt.Sprintf(`devpulse_regressions_open{metric="pipeline_duration",scope="%s",scope_kind="project",stat=`, org.ProjectPaths()[0])
	if !strings.Contains(prom.String(), want) || !strings.Contains(prom.String(), fmt.Sprintf(`devpulse_notifications_total{outcome="failed",webhook="pager"} %d`, 2*first)) {
		t.Errorf("/metrics lacks the open regression or the notification counts:\n%s", devpulseLines(prom.String()))
	}
}
