// Command jira measures a JIRA collection against the sandbox (Cloud or
// Server style): issues with changelogs, requests, wall time for a first run,
// an unchanged re-run and a run after 1% of issues changed.
//
//	go run ./bench/jira -projects 10 -issues 2000 [-server]
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
	"github.com/devpulse/devpulse/collectors/jira"
	"github.com/devpulse/devpulse/config"
	"github.com/devpulse/devpulse/internal/sandbox"
	"github.com/devpulse/devpulse/pipeline"
	"github.com/devpulse/devpulse/policy"
	"github.com/devpulse/devpulse/warehouse/duckdb"
)

func main() {
	projects := flag.Int("projects", 10, "projects (one board each)")
	issues := flag.Int("issues", 2000, "issues per project")
	server := flag.Bool("server", false, "serve Jira Server/DC (startAt search) instead of Cloud (nextPageToken)")
	conc := flag.Int("concurrency", 8, "source concurrency")
	flag.Parse()

	t0 := time.Now()
	org := sandbox.GenerateJira(1, *projects, *issues, time.Now().Add(-time.Hour))
	srv := sandbox.StartJira(org, !*server)
	defer srv.Close()
	fmt.Printf("sandbox Jira %s: %d projects x %d issues (each project's first issue has %d changelog entries); generated in %v\n",
		map[bool]string{true: "Server", false: "Cloud"}[*server], *projects, *issues, sandbox.JiraLongChangelog, time.Since(t0).Round(time.Millisecond))
	dir, err := os.MkdirTemp("", "devpulse-bench-jira")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	d := func(s string) config.Duration { v, _ := config.ParseDuration(s); return v }
	cfg := config.Defaults()
	cfg.Kinds = collectors.Kinds()
	set := &jira.Settings{Boards: org.Boards()}
	src := &config.Source{Name: "jr", Type: "jira", URL: srv.URL, Token: "tok", Projects: org.ProjectKeys(),
		Streams: jira.Streams, Concurrency: *conc, RateLimit: 1e9, MaxRetries: 8, Timeout: d("60s"), Overlap: d("10m"), Lookback: d("365d"), Settings: set}
	if !*server {
		set.Email = "reader@acme.example"
	}
	cfg.Sources["jr"] = src
	cfg.Warehouse.Path = filepath.Join(dir, "w.duckdb")
	cfg.Privacy.Secret = "c867412e5afdbb1f82c65a37ea87d9c1deb0a369b049382062458966fd1f2ef0"
	wh, err := duckdb.Open(context.Background(), cfg.Warehouse.Path)
	if err != nil {
		log.Fatal(err)
	}
	defer wh.Close()
	pol, _ := policy.New(cfg.Privacy, nil)
	r := &pipeline.Runner{Cfg: cfg, WH: wh, Policy: pol}
	fmt.Printf("%-20s %8s %9s %9s %10s %9s %8s\n", "run", "records", "requests", "searches", "changelog", "wall", "req/s")
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
		total, searches, extra, _ := srv.Counts()
		fmt.Printf("%-20s %8d %9d %9d %10d %9s %8.0f\n", name, recs, total, searches, extra, el.Round(time.Millisecond), float64(total)/el.Seconds())
	}
	run("first run")
	run("unchanged re-run")
	srv.Touch(*projects * *issues / 100)
	run("after 1% changed")
}
