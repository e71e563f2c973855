// Command redmine measures a Redmine collection against the sandbox: issues,
// requests (list pages, per-issue journal requests), wall time for a first
// run, an unchanged re-run and a run after 1% of issues changed, then the
// flow metrics over what landed.
//
//	go run ./bench/redmine -projects 10 -issues 2000
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/devpulse/devpulse/collectors"
	"github.com/devpulse/devpulse/collectors/redmine"
	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/sandbox"
	"github.com/devpulse/devpulse/metrics"
	"github.com/devpulse/devpulse/pipeline"
	"github.com/devpulse/devpulse/policy"
	"github.com/devpulse/devpulse/report"
	"github.com/devpulse/devpulse/warehouse"
	"github.com/devpulse/devpulse/warehouse/duckdb"
)

func main() {
	projects := flag.Int("projects", 10, "projects")
	issues := flag.Int("issues", 2000, "issues per project")
	latency := flag.Duration("latency", 0, "latency per request")
	conc := flag.Int("concurrency", 8, "source concurrency")
	flag.Parse()

	t0 := time.Now()
	org := sandbox.GenerateRedmine(1, *projects, *issues, time.Now().Add(-time.Hour))
	srv := sandbox.StartRedmine(org, "bench-key", *latency)
	defer srv.Close()
	fmt.Printf("sandbox Redmine: %d projects x %d issues; latency %v; concurrency %d; generated in %v\n",
		*projects, *issues, *latency, *conc, time.Since(t0).Round(time.Millisecond))

	dir, err := os.MkdirTemp("", "devpulse-bench-redmine")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	d := func(s string) config.Duration { v, _ := config.ParseDuration(s); return v }
	cfg := config.Defaults()
	cfg.Kinds = collectors.Kinds()
	cfg.Sources["rm"] = &config.Source{Name: "rm", Type: "redmine", URL: srv.URL, Token: "bench-key", Projects: org.Identifiers(),
		Streams: redmine.Streams, Concurrency: *conc, RateLimit: 1e9, MaxRetries: 8, Timeout: d("60s"), Overlap: d("10m"),
		Lookback: d("365d"), Settings: &redmine.Settings{InProgressStatuses: []string{"In Progress"}, StoryPointsField: "Story Points", SprintStartField: "Sprint Start"}}
	cfg.Warehouse.Path = filepath.Join(dir, "w.duckdb")
	cfg.Privacy.Secret = "c867412e5afdbb1f82c65a37ea87d9c1deb0a369b049382062458966fd1f2ef0"
	if err := cfg.Validate(); err != nil {
		log.Fatal(err)
	}
	wh, err := duckdb.Open(context.Background(), cfg.Warehouse.Path)
	if err != nil {
		log.Fatal(err)
	}
	defer wh.Close()
	pol, err := policy.New(cfg.Privacy, cfg.Metrics.BotAuthors)
	if err != nil {
		log.Fatal(err)
	}
	r := &pipeline.Runner{Cfg: cfg, WH: wh, Policy: pol}
	fmt.Printf("%-22s %8s %9s %10s %11s %9s %8s\n", "run", "records", "requests", "list pages", "issue GETs", "wall", "req/s")
	run := func(name string) {
		srv.ResetCounts()
		start := time.Now()
		res, err := r.Collect(context.Background(), pipeline.Options{})
		if err != nil {
			log.Fatalf("%s: %v", name, err)
		}
		el := time.Since(start)
		recs := 0
		for _, v := range res.Run.Records {
			recs += v
		}
		total, lists, gets := srv.Counts()
		fmt.Printf("%-22s %8d %9d %10d %11d %9s %8.0f\n", name, recs, total, lists, gets, el.Round(time.Millisecond), float64(total)/el.Seconds())
	}
	run("first run")
	run("unchanged re-run")
	srv.Touch(*projects * *issues / 100)
	run("after 1% changed")

	t1 := time.Now()
	b, err := warehouse.Load(context.Background(), wh)
	if err != nil {
		log.Fatal(err)
	}
	o := metrics.DefaultOptions(time.Now().AddDate(0, 0, -90), time.Now())
	rs := report.Compute(b, report.Scopes(report.TeamMembers(cfg), b), o)
	fmt.Printf("flow metrics for %d scopes (load + compute): %v; first scope: cycle time p50 %s, say/do %s over %d sprints\n",
		len(rs), time.Since(t1).Round(time.Millisecond), report.Human("seconds", rs[0].Set["cycle_time"].P50),
		report.Human("ratio", rs[0].Set["say_do_ratio"].Value), len(rs[0].Set["say_do_ratio"].Sprints))
}
