// Package schedule runs collection jobs on cron schedules in a long-running
// process (`devpulse schedule`): jobs fire at their times (an injected clock
// makes that testable), a job never overlaps itself, a failing source backs
// off and says what to fix, and the process serves health, Prometheus
// metrics and the live report. Each run opens the warehouse only while it
// writes, so other commands can read a DuckDB file between runs.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/httpx"
)

// Clock is time as the scheduler sees it.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// RealClock is the wall clock.
type RealClock struct{}

// Now implements Clock.
func (RealClock) Now() time.Time { return time.Now() }

// After implements Clock.
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Outcome is what one job run did.
type Outcome struct {
	Err          error            // the run as a whole
	SourceErrors map[string]error // per failed source
	Sources      []string         // sources the run covered
	Records      int              // records landed
	Requests     int64            // API requests sent
}

// RunFunc runs one job for these sources (never empty).
type RunFunc func(ctx context.Context, cfg *config.Config, job config.Job, sources []string) Outcome

// Scheduler fires jobs.
type Scheduler struct {
	Clock Clock
	Log   *slog.Logger
	Run   RunFunc
	// OnRun, when set, is told when a run ends (metrics).
	OnRun func(job string, started time.Time, took time.Duration, o Outcome)
	// RunCtx, when set, is the context runs get instead of Loop's: a
	// shutdown stops the loop at once but lets runs finish (see Service).
	RunCtx context.Context

	mu       sync.Mutex
	cfg      *config.Config
	entries  []entry
	reload   chan struct{}
	running  map[string]bool
	failures map[string]*backoff // per source
	wg       sync.WaitGroup
}

type entry struct {
	job  config.Job
	when cron.Schedule
	next time.Time
}

type backoff struct {
	count   int
	until   time.Time
	lastErr error
}

// New makes a scheduler for cfg's jobs.
func New(cfg *config.Config, clock Clock, log *slog.Logger, run RunFunc) (*Scheduler, error) {
	s := &Scheduler{Clock: clock, Log: log, Run: run, reload: make(chan struct{}, 1), running: map[string]bool{}, failures: map[string]*backoff{}}
	if err := s.SetConfig(cfg); err != nil {
		return nil, err
	}
	<-s.reload // nothing to reload before Loop starts
	return s, nil
}

// SetConfig swaps in a (validated) configuration: jobs are re-read, their
// next times recomputed from now. Runs in flight finish with the old one.
func (s *Scheduler) SetConfig(cfg *config.Config) error {
	loc, err := time.LoadLocation(cfg.Schedule.Timezone)
	if err != nil {
		return err
	}
	now := s.Clock.Now().In(loc)
	var es []entry
	for _, j := range cfg.Schedule.Jobs {
		sch, err := config.CronParser.Parse(j.Cron)
		if err != nil {
			return fmt.Errorf("schedule job %s: %w", j.Name, err)
		}
		es = append(es, entry{job: j, when: sch, next: sch.Next(now)})
	}
	if cfg.Notify.Digest != "" && len(cfg.Notify.Webhooks) > 0 {
		sch, err := config.CronParser.Parse(cfg.Notify.Digest)
		if err != nil {
			return fmt.Errorf("notify.digest: %w", err)
		}
		// The digest reads the warehouse and posts; it collects nothing.
		es = append(es, entry{job: config.Job{Name: DigestJob, Cron: cfg.Notify.Digest}, when: sch, next: sch.Next(now)})
	}
	s.mu.Lock()
	s.cfg, s.entries = cfg, es
	s.mu.Unlock()
	select {
	case s.reload <- struct{}{}:
	default:
	}
	return nil
}

// Config is the configuration in effect.
func (s *Scheduler) Config() *config.Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

// Next lists each job's next time, for logs and tests.
func (s *Scheduler) Next() map[string]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]time.Time{}
	for _, e := range s.entries {
		out[e.job.Name] = e.next
	}
	return out
}

// Loop fires jobs until ctx ends, then returns without waiting for runs in
// flight (Wait does).
func (s *Scheduler) Loop(ctx context.Context) {
	for {
		s.mu.Lock()
		var earliest time.Time
		for _, e := range s.entries {
			if earliest.IsZero() || e.next.Before(earliest) {
				earliest = e.next
			}
		}
		s.mu.Unlock()
		var tick <-chan time.Time
		if !earliest.IsZero() {
			tick = s.Clock.After(max(0, earliest.Sub(s.Clock.Now())))
		}
		select {
		case <-ctx.Done():
			return
		case <-s.reload:
			continue
		case <-tick:
		}
		s.fireDue(ctx)
	}
}

// fireDue starts every job whose time has come and moves it to its next time.
func (s *Scheduler) fireDue(ctx context.Context) {
	now := s.Clock.Now()
	s.mu.Lock()
	cfg := s.cfg
	var due []config.Job
	for i := range s.entries {
		e := &s.entries[i]
		if e.next.After(now) {
			continue
		}
		due = append(due, e.job)
		e.next = e.when.Next(now)
	}
	s.mu.Unlock()
	if s.RunCtx != nil {
		ctx = s.RunCtx
	}
	for _, j := range due {
		s.start(ctx, cfg, j, now)
	}
}

// start runs a job unless it is still running from its previous slot, with
// the sources that are not backing off.
func (s *Scheduler) start(ctx context.Context, cfg *config.Config, j config.Job, now time.Time) {
	s.mu.Lock()
	if s.running[j.Name] {
		s.mu.Unlock()
		s.Log.Warn("job still running from its previous slot; this slot is skipped", "job", j.Name)
		return
	}
	sources := j.Sources
	if len(sources) == 0 && j.Name != DigestJob {
		for n, src := range cfg.Sources {
			// Only the sources that have one of the job's streams run in it.
			if len(j.Streams) == 0 || len(selectStreams(src.Streams, j.Streams)) > 0 {
				sources = append(sources, n)
			}
		}
		sort.Strings(sources)
	}
	var run []string
	for _, src := range sources {
		if b := s.failures[src]; b != nil && now.Before(b.until) {
			s.Log.Info("source backing off after failures; skipped in this slot", "job", j.Name, "source", src,
				"failures", b.count, "retry_after", b.until.Format(time.RFC3339))
			continue
		}
		run = append(run, src)
	}
	if len(run) == 0 && j.Name != DigestJob {
		s.mu.Unlock()
		return
	}
	s.running[j.Name] = true
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		start := now // the slot's time
		s.Log.Info("job started", "job", j.Name, "sources", strings.Join(run, ","))
		o := s.Run(ctx, cfg, j, run)
		o.Sources = run
		took := s.Clock.Now().Sub(start)
		s.account(cfg, j, o)
		if o.Err != nil {
			s.Log.Warn("job ended with errors", "job", j.Name, "seconds", took.Round(time.Millisecond).Seconds(), "records", o.Records, "requests", o.Requests, "err", o.Err)
		} else {
			s.Log.Info("job done", "job", j.Name, "seconds", took.Round(time.Millisecond).Seconds(), "records", o.Records, "requests", o.Requests)
		}
		if s.OnRun != nil {
			s.OnRun(j.Name, start, took, o)
		}
		s.mu.Lock()
		s.running[j.Name] = false
		s.mu.Unlock()
	}()
}

// account updates each source's failure streak: a failing source is tried
// again at its first slot after 1, 2, 4 ... minutes (at most an hour), and
// after schedule.failure_alert failures in a row an error says what to fix.
func (s *Scheduler) account(cfg *config.Config, j config.Job, o Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Clock.Now()
	for _, src := range o.Sources {
		err := o.SourceErrors[src]
		if err == nil {
			if b := s.failures[src]; b != nil && b.count > 0 {
				s.Log.Info("source recovered", "source", src, "after_failures", b.count)
			}
			delete(s.failures, src)
			continue
		}
		if errors.Is(err, context.Canceled) {
			continue // shutting down: not the source's fault
		}
		b := s.failures[src]
		if b == nil {
			b = &backoff{}
			s.failures[src] = b
		}
		b.count++
		b.lastErr = err
		b.until = now.Add(min(time.Minute<<min(b.count-1, 6), time.Hour))
		if b.count >= cfg.Schedule.FailureAlert {
			s.Log.Error("source keeps failing: "+fixHint(cfg, src, err), "source", src, "failures", b.count, "err", err)
		}
	}
}

// Failures is each failing source's streak length.
func (s *Scheduler) Failures() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, b := range s.failures {
		out[k] = b.count
	}
	return out
}

// fixHint names the credential or URL to fix.
func fixHint(cfg *config.Config, src string, err error) string {
	sc := cfg.Sources[src]
	if sc == nil {
		return "check the source's configuration"
	}
	if errors.Is(err, httpx.ErrAuth) {
		where := fmt.Sprintf("sources.%s.token", src)
		if sc.TokenEnv != "" {
			where += " (environment variable " + sc.TokenEnv + ")"
		}
		return fmt.Sprintf("the server at %s rejects the credential: renew %s", sc.URL, where)
	}
	return fmt.Sprintf("check that sources.%s.url %s is reachable from here and the server is up", src, sc.URL)
}

// Wait waits for runs in flight.
func (s *Scheduler) Wait() { s.wg.Wait() }

// Running lists the jobs running now.
func (s *Scheduler) Running() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for j, r := range s.running {
		if r {
			out = append(out, j)
		}
	}
	sort.Strings(out)
	return out
}
