// Command schedule runs N scheduled runs of `devpulse schedule`'s machinery
// (scheduler loop, job runner, DuckDB opened per run, collection against the
// sandbox with a few changed merge requests each time, metrics and the live
// report every run) back to back on a manual clock, and prints the process's
// Go heap (after GC) and resident memory as it goes: the service must not
// grow. Prints numbers; asserts nothing.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/devpulse/devpulse/collectors"
	"github.com/devpulse/devpulse/collectors/gitlab"
	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/sandbox"
	"github.com/devpulse/devpulse/schedule"
)

func main() {
	runs := flag.Int("runs", 1000, "scheduled runs")
	touch := flag.Int("touch", 5, "merge requests changed upstream before each run")
	flag.Parse()
	now := time.Now().UTC().Truncate(time.Minute)
	srv := sandbox.Start(sandbox.Generate(3, sandbox.Size{Projects: 3, MRsPerProject: 200, PipelinesPerProject: 200, DeploymentsPerProject: 20, IssuesPerProject: 30}, now.Add(-time.Hour)),
		sandbox.Options{Token: "bench"})
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "bench-schedule")
	defer os.RemoveAll(dir)
	cfg := config.Defaults()
	cfg.Kinds = collectors.Kinds()
	d := func(s string) config.Duration { v, _ := config.ParseDuration(s); return v }
	cfg.Sources["gl"] = &config.Source{Name: "gl", Type: "gitlab", URL: srv.URL, Token: "bench", Projects: srv.Org.ProjectPaths(),
		Streams: gitlab.Streams, Concurrency: 4, RateLimit: 100000, MaxRetries: 3, Timeout: d("10s"), Overlap: d("10m"), Lookback: d("365d")}
	cfg.Warehouse.Path = filepath.Join(dir, "w.duckdb")
	cfg.Privacy.Secret = "c867412e5afdbb1f82c65a37ea87d9c1deb0a369b049382062458966fd1f2ef0"
	cfg.Schedule.Jobs = []config.Job{{Name: "all", Cron: "*/15 * * * *", Metrics: true}}
	if err := cfg.Validate(); err != nil {
		log.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := schedule.NewMetrics(time.Now)
	jr := &schedule.JobRunner{Log: logger, Metrics: m, Now: time.Now}
	clock := schedule.NewManualClock(now)
	s, err := schedule.New(cfg, clock, logger, jr.Run)
	if err != nil {
		log.Fatal(err)
	}
	failed := 0
	s.OnRun = func(job string, started time.Time, took time.Duration, o schedule.Outcome) {
		if o.Err != nil {
			failed++
			fmt.Println("run failed:", o.Err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	go s.Loop(ctx)
	u, _ := url.Parse(srv.URL)
	start := time.Now()
	fmt.Printf("%6s %12s %12s %10s\n", "runs", "heap MB", "RSS MB", "elapsed")
	for i := 1; i <= *runs; i++ {
		srv.Touch(*touch, u.Host)
		if _, err := clock.Next(time.Minute); err != nil {
			log.Fatal(err)
		}
		if err := clock.Sleeping(time.Minute); err != nil {
			log.Fatal(err)
		}
		s.Wait()
		if i == 1 || i == 10 || i%100 == 0 {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Printf("%6d %12.1f %12.1f %10s\n", i, float64(ms.HeapAlloc)/1e6, rssMB(), time.Since(start).Round(time.Second))
		}
	}
	cancel()
	s.Wait()
	if os.Getenv("BENCH_GOROUTINES") != "" {
		pprof.Lookup("goroutine").WriteTo(os.Stdout, 1)
	}
	fmt.Printf("%d scheduled runs (%d failed), %d sandbox requests, %s; goroutines at the end: %d\n",
		*runs, failed, srv.Total(), time.Since(start).Round(time.Second), runtime.NumGoroutine())
}

func rssMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "VmRSS:") {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(sc.Text(), "VmRSS:")), "%f", &kb)
			return kb / 1024
		}
	}
	return 0
}
