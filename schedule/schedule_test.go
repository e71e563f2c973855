package schedule

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devpulse/devpulse/collectors/gitlab"
	"github.com/devpulse/devpulse/collectors/jira"
	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/httpx"
)

// fakeClock adapts ManualClock to the tests' t.Fatal style.
type fakeClock struct{ ManualClock }

func newFake(now time.Time) *fakeClock { return &fakeClock{ManualClock{now: now}} }

func (c *fakeClock) next(t *testing.T) time.Time {
	t.Helper()
	now, err := c.Next(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return now
}

func (c *fakeClock) sleeping(t *testing.T) {
	t.Helper()
	if err := c.Sleeping(5 * time.Second); err != nil {
		t.Fatal(err)
	}
}

func testConfig(t *testing.T, tz string, jobs ...config.Job) *config.Config {
	t.Helper()
	cfg := config.Defaults()
	cfg.Sources = map[string]*config.Source{
		"gl":   {Name: "gl", Type: "gitlab", URL: "https://gitlab.example.com", TokenEnv: "GL_TOKEN", Streams: gitlab.Streams},
		"jira": {Name: "jira", Type: "jira", URL: "https://jira.example.com", Streams: jira.Streams},
	}
	cfg.Schedule.Timezone = tz
	cfg.Schedule.Jobs = jobs
	return cfg
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type recorder struct {
	mu    sync.Mutex
	fired []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fired = append(r.fired, s)
}

func (r *recorder) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.fired...)
}

// Jobs fire at exactly their cron times, in the schedule's time zone, with
// seconds and @every descriptors, and a config reload takes effect at once.
func TestScheduler_FiresJobsAtTheirTimes(t *testing.T) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	start := time.Date(2026, 3, 2, 8, 50, 0, 0, tokyo)
	clock := newFake(start)
	rec := &recorder{} // jira has no deployments: it is not part of this job
	cfg := testConfig(t, "Asia/Tokyo",
		config.Job{Name: "quarter", Cron: "*/15 * * * *", Streams: []string{"deployments"}},
		config.Job{Name: "hourly", Cron: "0 * * * *"},
		config.Job{Name: "morning", Cron: "30 0 9 * * *", Sources: []string{"jira"}}, // 09:00:30, with seconds
		config.Job{Name: "every40", Cron: "@every 40m"},
	)
	s, err := New(cfg, clock, quiet, func(ctx context.Context, cfg *config.Config, j config.Job, sources []string) Outcome {
		return Outcome{}
	})
	if err != nil {
		t.Fatal(err)
	}
	s.OnRun = func(job string, started time.Time, _ time.Duration, o Outcome) {
		rec.add(fmt.Sprintf("%s %s %s", started.In(tokyo).Format("15:04:05"), job, strings.Join(o.Sources, "+")))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Loop(ctx); close(done) }()
	for clock.Now().Before(start.Add(100 * time.Minute)) {
		clock.next(t)
		clock.sleeping(t)
		s.Wait()
	}
	cancel()
	<-done
	got := rec.get()
	sort.Strings(got)
	want := []string{
		"09:00:00 hourly gl+jira", "09:00:00 quarter gl", "09:00:30 morning jira", "09:15:00 quarter gl",
		"09:30:00 every40 gl+jira", "09:30:00 quarter gl", "09:45:00 quarter gl", "10:00:00 hourly gl+jira",
		"10:00:00 quarter gl", "10:10:00 every40 gl+jira", "10:15:00 quarter gl", "10:30:00 quarter gl",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("fired:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Reload: a new job list applies from now.
	cfg2 := testConfig(t, "UTC", config.Job{Name: "nightly", Cron: "0 2 * * *"})
	if err := s.SetConfig(cfg2); err != nil {
		t.Fatal(err)
	}
	next := s.Next()
	if len(next) != 1 || !next["nightly"].Equal(time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)) {
		t.Errorf("after reload: %v", next)
	}
}

// A job still running at its next slot is not started twice.
func TestScheduler_NeverOverlapsAJob(t *testing.T) {
	clock := newFake(time.Date(2026, 3, 2, 0, 0, 30, 0, time.UTC))
	release := make(chan struct{})
	var mu sync.Mutex
	runs := 0
	s, err := New(testConfig(t, "UTC", config.Job{Name: "slow", Cron: "* * * * *"}), clock, quiet,
		func(ctx context.Context, _ *config.Config, _ config.Job, _ []string) Outcome {
			mu.Lock()
			runs++
			mu.Unlock()
			<-release
			return Outcome{}
		})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go s.Loop(ctx)
	for i := 0; i < 3; i++ {
		clock.next(t)
	}
	time.Sleep(20 * time.Millisecond)
	mu.Lock()
	n := runs
	mu.Unlock()
	if n != 1 {
		t.Errorf("%d runs of a job that never finished, want 1", n)
	}
	if r := s.Running(); len(r) != 1 || r[0] != "slow" {
		t.Errorf("running = %v", r)
	}
	close(release)
	cancel()
	s.Wait()
}

// A failing source is left out of the next slots with growing back-off, the
// other source keeps running, and after failure_alert failures the log says
// which credential to fix; a success resets the streak.
func TestScheduler_FailingSourceBacksOffAndNamesTheFix(t *testing.T) {
	clock := newFake(time.Date(2026, 3, 2, 0, 0, 30, 0, time.UTC))
	var logs strings.Builder
	var lmu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		lmu.Lock()
		defer lmu.Unlock()
		return logs.Write(p)
	}), nil))
	var mu sync.Mutex
	var calls []string
	healthy := false
	cfg := testConfig(t, "UTC", config.Job{Name: "j", Cron: "* * * * *"})
	cfg.Schedule.FailureAlert = 2
	s, _ := New(cfg, clock, log, func(ctx context.Context, _ *config.Config, _ config.Job, sources []string) Outcome {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, fmt.Sprintf("%s:%s", clock.Now().Format("15:04"), strings.Join(sources, "+")))
		o := Outcome{SourceErrors: map[string]error{}}
		if !healthy {
			o.SourceErrors["gl"] = fmt.Errorf("gitlab: list merge requests: %w", httpx.ErrAuth)
			o.Err = o.SourceErrors["gl"]
		}
		return o
	})
	ctx, cancel := context.WithCancel(context.Background())
	go s.Loop(ctx)
	for i := 0; i < 8; i++ {
		clock.next(t)
		clock.sleeping(t)
		s.Wait()
		if i == 5 {
			mu.Lock()
			healthy = true
			mu.Unlock()
		}
	}
	cancel()
	s.Wait()
	mu.Lock()
	got := strings.Join(calls, " ")
	mu.Unlock()
	// Fails at 00:01 (retry after 1 min: 00:02), again at 00:02 (the alert; 2 min: 00:04), again at
	// 00:04 (4 min: 00:08); healthy from 00:07, so 00:08 succeeds and resets the streak.
	want := "00:01:gl+jira 00:02:gl+jira 00:03:jira 00:04:gl+jira 00:05:jira 00:06:jira 00:07:jira 00:08:gl+jira"
	if got != want {
		t.Errorf("calls:\n%s\nwant:\n%s", got, want)
	}
	lmu.Lock()
	out := logs.String()
	lmu.Unlock()
	if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "renew sources.gl.token (environment variable GL_TOKEN)") {
		t.Errorf("no actionable error after 2 failures:\n%s", out)
	}
	if !strings.Contains(out, "source recovered") {
		t.Errorf("recovery not logged:\n%s", out)
	}
	if f := s.Failures(); len(f) != 0 {
		t.Errorf("failures after recovery: %v", f)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// The weekly digest runs on a cron of its own, collects nothing (no
// sources) and exists only when a webhook is configured to take it.
func TestScheduler_DigestOnItsOwnCron(t *testing.T) {
	start := time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC) // a Sunday
	clock := newFake(start)
	cfg := testConfig(t, "UTC", config.Job{Name: "hourly", Cron: "0 * * * *"})
	cfg.Notify.Digest = "0 9 * * 1"
	if s, err := New(cfg, clock, quiet, nil); err != nil || len(s.Next()) != 1 {
		t.Fatalf("a digest without a webhook is scheduled: %v %v", s.Next(), err)
	}
	cfg.Notify.Webhooks = []config.Webhook{{Name: "chat", Format: "slack", URL: "https://hooks.example.com/x"}}
	rec := &recorder{}
	s, err := New(cfg, clock, quiet, func(ctx context.Context, cfg *config.Config, j config.Job, sources []string) Outcome {
		rec.add(fmt.Sprintf("%s %s [%s]", clock.Now().Format("Mon 15:04"), j.Name, strings.Join(sources, "+")))
		return Outcome{}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Next()[DigestJob].Equal(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)) {
		t.Fatalf("next digest: %v", s.Next())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Loop(ctx); close(done) }()
	for clock.Now().Before(start.Add(11 * time.Hour)) {
		clock.next(t)
		clock.sleeping(t)
		s.Wait()
	}
	cancel()
	<-done
	var digests []string
	for _, f := range rec.get() {
		if strings.Contains(f, DigestJob) {
			digests = append(digests, f)
		}
	}
	if len(digests) != 1 || digests[0] != "Mon 09:00 notify.digest []" {
		t.Errorf("digest runs: %v", digests)
	}
}
